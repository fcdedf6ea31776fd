import { test as base, expect, type Browser, type Page } from "@playwright/test";

type Fixtures = {
  /** Console messages a test expects (for example the 404 of a not-found page); others fail the test. */
  expectedConsoleErrors: RegExp[];
  consoleErrors: string[];
};

/**
 * Every test fails on a browser console error or an uncaught page exception it did not announce: a broken
 * asset, a failed hydration or a panic in the WASM shows up there first.
 */
export const test = base.extend<Fixtures>({
  expectedConsoleErrors: [[], { option: true }],
  consoleErrors: [
    async ({ page, expectedConsoleErrors }, use) => {
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" && !expectedConsoleErrors.some((re) => re.test(message.text()))) {
          errors.push(`console: ${message.text()}`);
        }
      });
      page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
      await use(errors);
      expect(errors, "browser errors during the test").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the WASM has taken over the page (see `Layout` in app/src/components/layout.rs). */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator(".shell")).toHaveAttribute("data-hydrated", "true");
}

/** Berth's origin under test (the same variable playwright.config.ts reads). */
export const BERTH_ORIGIN = new URL(process.env.E2E_BASE_URL ?? "http://127.0.0.1:3000").origin;

/** The development identity provider's password for every seeded person (end2end/dev-idp/main.mjs). */
export const DEV_PASSWORD = "dev";

/**
 * Fills in the development identity provider's login form (the page must be showing it) and waits until the
 * browser is back on Berth at `landing` (a path). Returns how long the round trip took from the submit.
 */
export async function signInAtProvider(page: Page, user: string, landing: string | RegExp): Promise<number> {
  await expect(page.getByRole("heading", { name: "Development identity provider" })).toBeVisible();
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(DEV_PASSWORD);
  const started = Date.now();
  await Promise.all([
    page.waitForURL((url) => url.origin === BERTH_ORIGIN && matches(url, landing)),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  return Date.now() - started;
}

function matches(url: URL, landing: string | RegExp): boolean {
  const path = url.pathname + url.search;
  return typeof landing === "string" ? path === landing : landing.test(path);
}

/** Signs in as `user` from the start page's sign-in button; waits for the page to be usable again. */
export async function signIn(page: Page, user: string, javaScriptEnabled: boolean, landing = "/"): Promise<number> {
  await page.goto("/");
  if (javaScriptEnabled) await waitForHydration(page);
  await page.getByRole("banner").getByRole("link", { name: "Sign in" }).click();
  const took = await signInAtProvider(page, user, landing);
  if (javaScriptEnabled) await waitForHydration(page);
  return took;
}

/** A browser context of its own, signed in as `user` with JavaScript on. */
export async function personPage(browser: Browser, user: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, user, true);
  return page;
}

/** `requester` asks for `namespace` through the form (stage test) and lands on the request's page; its URL. */
export async function submitRequest(
  requester: Page,
  namespace: string,
  options: { tiller?: boolean; purpose?: string } = {},
): Promise<string> {
  await requester.goto("/requests/new");
  await waitForHydration(requester);
  await requester.getByLabel("Namespace name").fill(namespace);
  await requester.getByLabel("Purpose").fill(options.purpose ?? `Jenkins deploys ${namespace}`);
  await requester.getByLabel("Stage").selectOption("test");
  await requester.getByLabel(options.tiller ? "Helm 2 with a Tiller in the namespace" : "Helm 3 or later (no Tiller)").check();
  await requester.getByRole("button", { name: "Submit request" }).click();
  await requester.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
  return requester.url();
}

/** As `submitRequest`, then `approver` approves it from the request's page. Returns the page's URL. */
export async function requestApproved(
  requester: Page,
  approver: Page,
  namespace: string,
  options: { tiller?: boolean; purpose?: string } = {},
): Promise<string> {
  const url = await submitRequest(requester, namespace, options);
  await approver.goto(url);
  await waitForHydration(approver);
  await approver.getByRole("button", { name: `Approve ${namespace}` }).click();
  return url;
}
