// Signing in through the development identity provider (a real OpenID provider) as each seeded person, what
// each role sees, sign-out, and a deep link surviving the round trip. JavaScript off and on.
import { BERTH_ORIGIN, expect, signIn, signInAtProvider, test, waitForHydration } from "../fixtures";

const PEOPLE = [
  { user: "alice", name: "Alice Anders", role: "Developer", sections: ["New request", "My requests", "My access"] },
  { user: "bob", name: "Bob Berg", role: "Approver", sections: ["New request", "My requests", "My access", "Approvals"] },
  {
    user: "carol",
    name: "Carol Castro",
    role: "Admin",
    sections: ["New request", "My requests", "My access", "Approvals", "Admin", "Audit log", "Server"],
  },
];

for (const person of PEOPLE) {
  test(`${person.user} signs in and sees what the ${person.role.toLowerCase()} role may use`, async ({
    page,
    javaScriptEnabled,
  }, testInfo) => {
    const took = await signIn(page, person.user, javaScriptEnabled);
    console.log(`FIGURE sign-in round trip in Chromium (${testInfo.project.name}, ${person.user}): ${took} ms`);

    const header = page.getByRole("banner");
    await expect(header.getByTestId("signed-in-as")).toHaveText(person.name);
    await expect(header.getByTestId("role")).toHaveText(person.role);
    await expect(page.getByRole("heading", { name: `Welcome, ${person.name}` })).toBeVisible();
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link")).toHaveText(person.sections);
  });
}

test("an admin reaches every section from the navigation, the current one marked", async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  await signIn(page, "carol", javaScriptEnabled);
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of PEOPLE[2].sections) {
    await nav.getByRole("link", { name }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
    await expect(page).toHaveTitle(`${name} · Berth`);
    await expect(nav.getByRole("link", { name })).toHaveAttribute("aria-current", "page");
  }
  // The admin page lists everyone who has signed in, with their role.
  await nav.getByRole("link", { name: "Admin" }).click();
  const users = page.getByTestId("users");
  await expect(users.getByRole("row", { name: /Carol Castro/ })).toContainText("Admin");
  const shot = await page.screenshot({ path: `artifacts/admin-${testInfo.project.name}.png`, fullPage: true });
  await testInfo.attach("admin page", { body: shot, contentType: "image/png" });
});

test.describe("a page for another role", () => {
  test.use({ expectedConsoleErrors: [/status of 403/] });

  test("tells a developer it is not for their role, with status 403", async ({ page, javaScriptEnabled }) => {
    await signIn(page, "alice", javaScriptEnabled);
    const response = await page.goto("/admin");
    expect(response?.status()).toBe(403);
    if (javaScriptEnabled) await waitForHydration(page);
    await expect(page.getByRole("heading", { name: "Not for your role" })).toBeVisible();
    await expect(page.getByTestId("users")).toHaveCount(0);
  });
});

test("dave, in no Berth group, signs in and sees no access", async ({ page, javaScriptEnabled }) => {
  await page.goto("/");
  if (javaScriptEnabled) await waitForHydration(page);
  await page.getByRole("banner").getByRole("link", { name: "Sign in" }).click();
  await signInAtProvider(page, "dave", "/no-access");
  if (javaScriptEnabled) await waitForHydration(page);
  await expect(page.getByRole("heading", { name: "No access to Berth" })).toBeVisible();
  await expect(page.getByText("none of your groups gives access to Berth")).toBeVisible();
  await expect(page.getByRole("banner").getByTestId("role")).toHaveText("No access");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link")).toHaveCount(0);
});

test("a deep link survives the sign-in round trip", async ({ page, javaScriptEnabled }) => {
  // Not signed in: the server sends the browser to sign in, remembering the page and its query.
  await page.goto("/approvals?filter=mine");
  await signInAtProvider(page, "bob", "/approvals?filter=mine");
  if (javaScriptEnabled) await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Approvals");
  await expect(page.getByRole("banner").getByTestId("signed-in-as")).toHaveText("Bob Berg");
});

test("sign-out ends the session at Berth and at the identity provider", async ({ page, javaScriptEnabled }) => {
  await signIn(page, "carol", javaScriptEnabled);
  await page.getByRole("button", { name: "Sign out" }).click();
  // The provider asks to confirm its own sign-out, then sends the browser back to Berth's start page.
  await page.getByRole("button", { name: "Yes, sign me out" }).click();
  await page.waitForURL(`${BERTH_ORIGIN}/`);
  if (javaScriptEnabled) await waitForHydration(page);
  await expect(page.getByRole("banner").getByRole("link", { name: "Sign in" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link")).toHaveCount(0);

  // Signed out at the provider too: signing in again asks for the password rather than passing straight through.
  await page.getByRole("banner").getByRole("link", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Development identity provider" })).toBeVisible();

  // And a page behind sign-in now sends the browser to sign in.
  await page.goto("/admin");
  await expect(page.getByLabel("Username")).toBeVisible();
});
