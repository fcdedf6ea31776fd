// A server function round trip from the admins' server page: "Check again" asks the server anew, as a plain
// form post without JavaScript and through the form island with it.
import { expect, signIn, test, waitForHydration } from "../fixtures";

test("check again asks the server anew", async ({ page, javaScriptEnabled }) => {
  await signIn(page, "carol", javaScriptEnabled);
  await page.goto("/admin/server");
  if (javaScriptEnabled) await waitForHydration(page);
  const status = page.getByTestId("server-status");
  await expect(status.getByTestId("started-at")).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  await expect(status.getByText(/^[0-9a-f-]{36}$/)).toBeVisible();
  const answeredAt = page.getByTestId("answered-at");
  const before = await answeredAt.getAttribute("datetime");
  expect(before).not.toBeNull();

  if (javaScriptEnabled) {
    // The island posts to the server function itself (asking for JSON), then shows the page anew.
    const call = page.waitForResponse(
      (r) => r.url().endsWith("/api/server_info") && r.request().headers()["accept"] === "application/json",
    );
    await page.getByRole("button", { name: "Check again" }).click();
    expect((await call).status()).toBe(200);
  } else {
    // Without JavaScript the form posts to the server function, which sends the browser back to the page.
    await expect(page.locator(".shell")).not.toHaveAttribute("data-hydrated", "true");
    await Promise.all([
      page.waitForURL((url) => url.pathname === "/admin/server"),
      page.getByRole("button", { name: "Check again" }).click(),
    ]);
  }
  await expect(answeredAt).not.toHaveAttribute("datetime", before!);
  const after = await answeredAt.getAttribute("datetime");
  expect(Date.parse(after!)).toBeGreaterThan(Date.parse(before!));
  await expect(page.getByTestId("version")).toHaveText(/^\d+\.\d+\.\d+/);
});
