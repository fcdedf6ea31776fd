import { test as base, expect, type Page } from "@playwright/test";

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
