// The request workflow without JavaScript: every form is a plain HTML form post, and the server answers with a
// redirect to the page that shows the outcome (or back to the form, with each problem next to its field).
import type { Browser, Page } from "@playwright/test";
import { expect, signIn, test } from "../fixtures";

async function personPage(browser: Browser, user: string): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, user, false);
  return page;
}

function card(page: Page, namespace: string) {
  return page.locator(`[data-testid="request"][data-namespace="${namespace}"]`);
}

async function fillRequest(page: Page, namespace: string) {
  await page.goto("/requests/new");
  await page.getByLabel("Namespace name").fill(namespace);
  await page.getByLabel("Purpose").fill(`Nightly builds of ${namespace}`);
  await page.getByRole("button", { name: "Submit request" }).click();
}

test("without JavaScript: a refusal shows next to its field, a request is submitted, approved and seen", async ({
  browser,
}) => {
  const alice = await personPage(browser, "alice");
  const bob = await personPage(browser, "bob");

  await fillRequest(alice, "Plain_Form");
  await expect(alice).toHaveURL(/\/requests\/new\?/);
  await expect(alice.getByTestId("namespace-problem")).toHaveText(
    "Only the letters a-z, digits and '-' are allowed; '_' is not.",
  );

  await fillRequest(alice, "plain-form");
  await expect(alice).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
  await expect(alice.getByTestId("namespace")).toHaveText("plain-form");
  await expect(alice.getByTestId("state")).toHaveText("Pending");

  await bob.goto("/approvals");
  await card(bob, "plain-form").getByRole("button", { name: "Approve plain-form" }).click();
  await expect(bob).toHaveURL(/\/approvals/);
  await expect(card(bob, "plain-form")).toHaveCount(0);

  // Approved, then provisioned by Berth's worker: without JavaScript, a reload shows where it stands.
  await expect(async () => {
    await alice.goto("/requests");
    await expect(card(alice, "plain-form").getByTestId("state")).toHaveText("Ready", { timeout: 500 });
  }).toPass({ timeout: 20_000 });
});

test("without JavaScript: the requester cancels a pending request", async ({ browser }) => {
  const alice = await personPage(browser, "alice");
  await fillRequest(alice, "plain-form-cancel");
  await expect(alice.getByTestId("state")).toHaveText("Pending");
  await alice.goto("/requests");
  await card(alice, "plain-form-cancel").getByRole("button", { name: "Cancel request" }).click();
  await expect(card(alice, "plain-form-cancel").getByTestId("state")).toHaveText("Cancelled");
});
