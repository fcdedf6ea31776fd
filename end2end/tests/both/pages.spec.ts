// Every page as its users see it, with JavaScript off and on: at a 1280-pixel window and a 390-pixel phone,
// nothing scrolls sideways, an accessibility scan (axe-core, WCAG 2.1 A and AA rules) finds no serious or
// critical violation, and a screenshot of each goes to the report.
import AxeBuilder from "@axe-core/playwright";
import type { Browser, Page, TestInfo } from "@playwright/test";
import { expect, signInAtProvider, submitRequest, test, waitForHydration } from "../fixtures";

const WIDTHS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

async function signedIn(browser: Browser, user: string, javaScriptEnabled: boolean): Promise<Page> {
  const page = await (await browser.newContext({ javaScriptEnabled })).newPage();
  await page.goto("/auth/login?return_to=/");
  await signInAtProvider(page, user, "/");
  return page;
}

/**
 * axe-core's scan of `page`. axe runs as a script in the page, which a page without JavaScript cannot run: for
 * that project the same address is scanned in a second browser (same cookies, same window) with JavaScript on
 * but Berth's bundle refused, which leaves exactly the HTML the server sent, as the first one shows it.
 */
async function accessibilityScan(page: Page, path: string, javaScriptEnabled: boolean) {
  const rules = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
  if (javaScriptEnabled) return new AxeBuilder({ page }).withTags(rules).analyze();
  const context = await page.context().browser()!.newContext({
    // Playwright applies the project's options to new contexts too: JavaScript back on, explicitly.
    javaScriptEnabled: true,
    baseURL: new URL(page.url()).origin,
    storageState: await page.context().storageState(),
    viewport: page.viewportSize(),
  });
  await context.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
  const plain = await context.newPage();
  await plain.goto(path);
  await expect(plain.locator(".shell")).not.toHaveAttribute("data-hydrated", "true");
  const scan = await new AxeBuilder({ page: plain }).withTags(rules).analyze();
  await context.close();
  return scan;
}

/** Loads `path` at each width and checks what every page owes its users. */
async function check(page: Page, path: string, label: string, javaScriptEnabled: boolean, testInfo: TestInfo) {
  for (const size of WIDTHS) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.goto(path);
    if (javaScriptEnabled) await waitForHydration(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${label} at ${size.width} px scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(0);
    const scan = await accessibilityScan(page, path, javaScriptEnabled);
    const serious = scan.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    expect(serious, `${label} at ${size.width} px`).toEqual([]);
    const shot = await page.screenshot({ fullPage: true });
    await testInfo.attach(`${label} (${size.name}, ${testInfo.project.name})`, { body: shot, contentType: "image/png" });
  }
}

// Something on every list and a request to open: one of alice's, waiting for a decision (through the form,
// so with JavaScript), made once per project.
let requestPath = "";
test.beforeAll(async ({ browser }) => {
  const alice = await signedIn(browser, "alice", true);
  requestPath = new URL(await submitRequest(alice, `pages-${Date.now().toString(36)}`)).pathname;
  await alice.context().close();
});

// Each page a test of its own (a name to fail with, and a time budget of its own): who looks, and where.
const PAGES: { who?: string; path: () => string; label: string }[] = [
  { path: () => "/", label: "home (visitor)" },
  { path: () => "/sign-in/failed?reason=expired", label: "sign-in failed" },
  { who: "alice", path: () => "/", label: "home (developer)" },
  { who: "alice", path: () => "/requests/new", label: "new request" },
  { who: "alice", path: () => "/requests", label: "my requests" },
  { who: "alice", path: () => "/access", label: "my access" },
  { who: "alice", path: () => requestPath, label: "request (requester)" },
  { who: "carol", path: () => "/", label: "home (admin)" },
  { who: "carol", path: () => "/approvals", label: "approvals" },
  { who: "carol", path: () => requestPath, label: "request (approver)" },
  { who: "carol", path: () => "/admin", label: "admin" },
  { who: "carol", path: () => "/admin/audit", label: "audit log" },
  { who: "carol", path: () => "/admin/server", label: "server" },
];

for (const target of PAGES) {
  test(`${target.label}: fits a desktop window and a phone, and passes the accessibility scan`, async ({
    browser,
    page,
    javaScriptEnabled,
  }, testInfo) => {
    const viewer = target.who ? await signedIn(browser, target.who, javaScriptEnabled) : page;
    await check(viewer, target.path(), target.label, javaScriptEnabled, testInfo);
    // Closed, so that a page watching a pending request stops asking (every 5 s).
    if (target.who) await viewer.context().close();
  });
}

test("the main flow works with the keyboard alone", async ({ browser, javaScriptEnabled }) => {
  const alice = await signedIn(browser, "alice", javaScriptEnabled);
  await alice.goto("/");
  if (javaScriptEnabled) await waitForHydration(alice);
  const namespace = `keys-${Date.now().toString(36)}`;
  // The skip link is the first stop, then the navigation: "New request" is reached by tabbing.
  await alice.keyboard.press("Tab");
  await expect(alice.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await tabUntilFocused(alice, alice.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New request" }));
  await alice.keyboard.press("Enter");
  await expect(alice).toHaveURL(/\/requests\/new$/);
  if (javaScriptEnabled) await waitForHydration(alice);
  await tabUntilFocused(alice, alice.getByLabel("Namespace name"));
  await alice.keyboard.type(namespace);
  await alice.keyboard.press("Tab");
  await expect(alice.getByLabel("Purpose")).toBeFocused();
  await alice.keyboard.type("Typed without a mouse");
  await tabUntilFocused(alice, alice.getByRole("button", { name: "Submit request" }));
  await alice.keyboard.press("Enter");
  await alice.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
  await expect(alice.getByTestId("namespace")).toHaveText(namespace);

  // bob decides it from the approval queue, by keyboard too.
  const bob = await signedIn(browser, "bob", javaScriptEnabled);
  await bob.goto("/approvals");
  if (javaScriptEnabled) await waitForHydration(bob);
  await tabUntilFocused(bob, bob.getByRole("button", { name: `Approve ${namespace}` }));
  await bob.keyboard.press("Enter");
  await expect(bob.locator(`[data-testid="request"][data-namespace="${namespace}"]`)).toHaveCount(0);
  for (const person of [alice, bob]) await person.context().close();
});

/** Presses Tab until `target` has the focus (at most 60 times), as a keyboard user would. */
async function tabUntilFocused(page: Page, target: ReturnType<Page["locator"]>) {
  for (let presses = 0; presses < 60; presses += 1) {
    if (await target.evaluate((element) => element === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}
