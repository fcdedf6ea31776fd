// The app shell as a visitor who has not signed in sees it, with JavaScript off (server-rendered only) and on
// (hydrated).
import { expect, test, waitForHydration } from "../fixtures";

test("home page shows the product, a sign-in button, no navigation yet, and nothing about the server", async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  if (javaScriptEnabled) await waitForHydration(page);

  await expect(page).toHaveTitle("Berth");
  await expect(page.getByRole("link", { name: "Berth" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link")).toHaveCount(0);
  await expect(page.getByRole("banner").getByRole("link", { name: "Sign in" })).toHaveAttribute(
    "href",
    "/auth/login?return_to=/",
  );
  await expect(page.getByRole("heading", { name: "Sign in to start" })).toBeVisible();

  // The server's version and uptime are for admins (/admin/server), not for every visitor.
  await expect(page.getByTestId("server-status")).toHaveCount(0);

  // The screenshot is the visual record of the home page; kept with the run's artifacts.
  const shot = await page.screenshot({ path: `artifacts/home-${testInfo.project.name}.png`, fullPage: true });
  await testInfo.attach("home page", { body: shot, contentType: "image/png" });
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
    await expect(page.getByRole("heading", { name: "Sign in to start" })).toBeVisible();
  });
});
