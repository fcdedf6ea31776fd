// The browser enforces Berth's security headers while the app still works: the WASM runs under the
// Content-Security-Policy (every test also fails on any console error, a CSP violation included), a script
// injected into the page does not run, and no other site can frame Berth. JavaScript on only: it is about what scripts may do.
import { BERTH_ORIGIN, expect, test, waitForHydration } from "../fixtures";

test.describe("the page under its Content-Security-Policy", () => {
  // Chromium reports the refused script on the console: expected here, and only here.
  test.use({ expectedConsoleErrors: [/Content Security Policy/] });

  test("hydrates, but a script injected into it does not run", async ({ page }) => {
    const response = await page.goto("/");
    const policy = response?.headers()["content-security-policy"] ?? "";
    expect(policy).toContain("'wasm-unsafe-eval'");
    expect(policy).not.toContain("'unsafe-inline'");
    await waitForHydration(page);

    // What a cross-site scripting hole would do: put an inline script (without the nonce) into the page.
    const outcome = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          document.addEventListener("securitypolicyviolation", (event) => resolve(`refused by ${event.effectiveDirective}`));
          const script = document.createElement("script");
          script.textContent = "document.title = 'injected'";
          document.head.appendChild(script);
          setTimeout(() => resolve(document.title === "injected" ? "ran" : "no verdict"), 2000);
        }),
    );
    expect(outcome).toBe("refused by script-src-elem");
    await expect(page).toHaveTitle("Berth");
  });
});

test.describe("a page of another site", () => {
  // Chromium reports the refused frame on the console.
  test.use({ expectedConsoleErrors: [/frame-ancestors|Refused to (display|frame)/] });

  test("cannot show Berth in a frame", async ({ page }) => {
    const framed = page.waitForEvent("console", (message) => /frame-ancestors/.test(message.text()));
    await page.setContent(`<iframe id="berth" src="${BERTH_ORIGIN}/"></iframe>`);
    await framed;
    const frame = page.frames().find((f) => f !== page.mainFrame());
    // The frame holds the browser's refusal, not Berth's page.
    expect(frame).toBeDefined();
    expect(await frame?.$(".shell")).toBeNull();
  });
});
