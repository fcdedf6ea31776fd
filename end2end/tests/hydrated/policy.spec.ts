// Decisions by policy through the pages (end2end/berth.toml): a production namespace needs one of
// berth-approvers (bob) and one of platform-approvers (erin). Each person has a browser context of their own.
import type { Page } from "@playwright/test";
import { expect, personPage, test, waitForHydration } from "../fixtures";

function card(page: Page, namespace: string) {
  return page.locator(`[data-testid="request"][data-namespace="${namespace}"]`);
}

/** alice fills in the form for a production namespace; returns after pressing Submit. */
async function askForProduction(alice: Page, namespace: string, profile = "small") {
  await alice.goto("/requests/new");
  await waitForHydration(alice);
  await alice.getByLabel("Namespace name").fill(namespace);
  await alice.getByLabel("Purpose").fill(`The shop's production, deployed by Jenkins`);
  await alice.getByLabel("Stage").selectOption("production");
  await alice.getByLabel("Helm 3 or later (no Tiller)").check();
  await alice.locator(`input[name="quota_profile"][value="${profile}"]`).check();
  await alice.getByRole("button", { name: "Submit request" }).click();
}

test("a production namespace is approved by bob and erin, and every page says how far it is", async ({ browser }, testInfo) => {
  const alice = await personPage(browser, "alice");
  const bob = await personPage(browser, "bob");
  const erin = await personPage(browser, "erin");
  const namespace = `shop-${Date.now().toString(36)}`;

  await askForProduction(alice, namespace);
  await alice.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
  const requestUrl = alice.url();

  await bob.goto("/approvals");
  await waitForHydration(bob);
  const forBob = card(bob, namespace);
  await expect(forBob.getByTestId("approval-progress")).toHaveText(
    "0 of 2: berth-approvers waiting; platform-approvers waiting",
  );
  await forBob.getByRole("button", { name: `Approve ${namespace}` }).click();
  await expect(bob.getByTestId("flash")).toHaveText(
    `${namespace}: your approval is recorded; it still waits for the others needed.`,
  );
  await expect(card(bob, namespace)).toHaveCount(0);

  // The requester sees who approved and who is still needed.
  await alice.goto(requestUrl);
  await expect(alice.getByTestId("state")).toHaveText("Pending");
  await expect(alice.getByTestId("approval-progress")).toHaveText(
    "1 of 2: berth-approvers approved by Bob Berg; platform-approvers waiting",
  );
  const halfway = await alice.screenshot({ path: "artifacts/production-halfway.png", fullPage: true });
  await testInfo.attach("production request, one of two approvals", { body: halfway, contentType: "image/png" });

  await erin.goto("/approvals");
  await waitForHydration(erin);
  const forErin = card(erin, namespace);
  await expect(forErin.getByTestId("approval-progress")).toHaveText(
    "1 of 2: berth-approvers approved by Bob Berg; platform-approvers waiting",
  );
  const queue = await erin.screenshot({ path: "artifacts/approvals-two-groups.png", fullPage: true });
  await testInfo.attach("erin's approvals: the second of two groups", { body: queue, contentType: "image/png" });
  await forErin.getByRole("button", { name: `Approve ${namespace}` }).click();
  await expect(erin.getByTestId("flash")).toHaveText(`${namespace}: Approved.`);

  await alice.goto(requestUrl);
  await waitForHydration(alice);
  await expect(async () => {
    await alice.reload();
    await expect(alice.getByTestId("state")).toHaveText("Ready", { timeout: 500 });
  }).toPass({ timeout: 20_000 });
  const timeline = alice.getByTestId("timeline");
  await expect(timeline).toContainText("Bob Berg approved");
  await expect(timeline).toContainText("Erin Engel approved (Pending → Approved)");

  // The grant page shows the quota's use, and alice asks for a larger profile: in production that takes
  // both groups again.
  await expect(alice.getByTestId("quota-use").locator('[data-resource="requests.cpu"]')).toContainText("2");
  const change = alice.getByTestId("change-form");
  await change.getByLabel("Quota profile").selectOption("medium");
  await change.getByLabel("Why?").fill("Black Friday traffic");
  await change.getByRole("button", { name: "Ask for the change" }).click();
  await expect(alice.getByTestId("change-pending")).toContainText("quota profile medium");
  await expect(alice.getByTestId("approval-progress")).toHaveText(
    "0 of 2: berth-approvers waiting; platform-approvers waiting",
  );
  const grant = await alice.screenshot({ path: "artifacts/grant-quota-and-change.png", fullPage: true });
  await testInfo.attach("grant page: quota use and a change waiting", { body: grant, contentType: "image/png" });

  await erin.goto("/approvals");
  await waitForHydration(erin);
  const changeCard = erin.locator(`[data-testid="change"][data-namespace="${namespace}"]`);
  await expect(changeCard).toContainText("quota profile medium");
  await changeCard.getByRole("button", { name: `Approve the change of ${namespace}` }).click();
  await expect(erin.getByTestId("flash")).toHaveText(`${namespace}: your approval of the change is recorded.`);
});

test("a profile the production stage does not allow is refused next to the field", async ({ browser }) => {
  const alice = await personPage(browser, "alice");
  await askForProduction(alice, `shop-large-${Date.now().toString(36)}`, "large");
  await expect(alice.locator('[data-problem-for="quota_profile"]')).toHaveText(
    "The production stage allows small or medium.",
  );
  await expect(alice).toHaveURL(/\/requests\/new$/);
});
