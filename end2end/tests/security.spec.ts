// The browser enforces Berth's security headers while the app still works: the WASM runs under the
// Content-Security-Policy (every test also fails on any console error, a CSP violation included), JavaScript's
// eval stays forbidden, and no other site can frame Berth. JavaScript on only: it is about what scripts may do.
import { BERTH_ORIGIN, expect, test, waitForHydration } from "./fixtures";

test("the page hydrates under a Content-Security-Policy that forbids eval and foreign scripts", async ({ page }) => {
  const response = await page.goto("/");
  const policy = response?.headers()["content-security-policy"] ?? "";
  expect(policy).toContain("'wasm-unsafe-eval'");
  expect(policy).not.toContain("'unsafe-inline'");
  await waitForHydration(page);

  // Code run by the page itself (not the test's privileged channel) is held to the policy.
  const outcome = await page.evaluate(() => {
    try {
      return String(eval("'eval ran'"));
    } catch (error) {
      return error instanceof EvalError ? "eval refused" : `other error: ${error}`;
    }
  });
  expect(outcome).toBe("eval refused");
});

test.describe("a page of another site", () => {
  // Chromium reports the refused frame on the console.
  test.use({ expectedConsoleErrors: [/frame-ancestors|Refused to (display|frame)/] });

  test("cannot show Berth in a frame", async ({ page }) => {
    const framed = page.waitForEvent("console", (message) => /frame-ancestors/.test(message.text()));
    await page.setContent(`<iframe id="berth" src="${BERTH_ORIGIN}/"></iframe>`);
    await framed;
    const frame = page.frames().find((f) => f !== page.mainFrame());
    // The frame stays without Berth's document: nothing of the page rendered inside it.
    const heading = (await frame?.$("h1, h2")) ?? null;
    expect(heading).toBeNull();
  });
});
