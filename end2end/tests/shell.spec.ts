// The app shell as every visitor sees it, with JavaScript off (server-rendered only) and on (hydrated).
import { expect, test, waitForHydration } from "./fixtures";

const NAVIGATION = ["New request", "My requests", "Approvals", "Admin"];

test("home page shows the product, navigation, sign-in area and server status", async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  if (javaScriptEnabled) await waitForHydration(page);

  await expect(page).toHaveTitle("Berth");
  await expect(page.getByRole("link", { name: "Berth" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of NAVIGATION) {
    await expect(nav.getByRole("link", { name })).toBeVisible();
  }
  await expect(page.getByText("Not signed in")).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign in" })).toBeDisabled();

  const status = page.getByTestId("server-status");
  await expect(status.getByTestId("version")).toHaveText(/^\d+\.\d+\.\d+/);
  await expect(status.getByTestId("started-at")).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  await expect(status.getByText(/^[0-9a-f-]{36}$/)).toBeVisible();

  // The screenshot is the visual record of the home page; kept with the run's artifacts.
  const shot = await page.screenshot({ path: `artifacts/home-${testInfo.project.name}.png`, fullPage: true });
  await testInfo.attach("home page", { body: shot, contentType: "image/png" });
});

test("navigation reaches every page and marks the current one", async ({ page, javaScriptEnabled }) => {
  await page.goto("/");
  if (javaScriptEnabled) await waitForHydration(page);
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of NAVIGATION) {
    await nav.getByRole("link", { name }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
    await expect(page).toHaveTitle(`${name} · Berth`);
    await expect(nav.getByRole("link", { name })).toHaveAttribute("aria-current", "page");
  }
  await page.getByRole("link", { name: "Berth" }).click();
  await expect(page).toHaveTitle("Berth");
});

test.describe("an unknown address", () => {
  // Chromium reports the 404 of the document itself on the console; that one is expected here.
  test.use({ expectedConsoleErrors: [/status of 404/] });

  test("gets the not-found page with status 404 and a way home", async ({ page, javaScriptEnabled }) => {
    const response = await page.goto("/no/such/page");
    expect(response?.status()).toBe(404);
    if (javaScriptEnabled) await waitForHydration(page);
    await expect(page).toHaveTitle("Page not found · Berth");
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
    await page.getByRole("link", { name: "Go to the home page" }).click();
    await expect(page).toHaveURL("/");
    await expect(page.getByTestId("version")).toBeVisible();
  });
});
