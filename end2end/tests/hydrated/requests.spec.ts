// The request workflow through the browser: alice asks for namespaces, bob decides, alice sees the outcome.
// Two people at once: each has a browser context (cookie jar) of their own.
import type { Page } from "@playwright/test";
import { expect, personPage, submitRequest, test, waitForHydration } from "../fixtures";

// The request pages are interactive forms (Leptos ActionForms): this suite runs with JavaScript only
// (see playwright.config.ts).

/** Fills in and submits the New request form; returns the new request's detail URL. */
async function request(page: Page, namespace: string, options: { tiller?: boolean; purpose?: string } = {}) {
  await submitRequest(page, namespace, options);
  await expect(page.getByTestId("namespace")).toHaveText(namespace);
  await expect(page.getByTestId("state")).toHaveText("Pending");
  return page.url();
}

function card(page: Page, namespace: string) {
  return page.locator(`[data-testid="request"][data-namespace="${namespace}"]`);
}

test("alice requests team-a-ci with Tiller, bob approves it, alice sees it approved", async ({ browser }, testInfo) => {
  const alice = await personPage(browser, "alice");
  const bob = await personPage(browser, "bob");

  await request(alice, "team-a-ci", { tiller: true });
  await expect(alice.getByTestId("helm-mode")).toHaveText("Helm 2 with a Tiller in the namespace");

  await bob.goto("/approvals");
  await waitForHydration(bob);
  const pending = card(bob, "team-a-ci");
  await expect(pending.getByTestId("requester")).toContainText("Alice Anders");
  await expect(pending.getByTestId("purpose")).toHaveText("Jenkins deploys team-a-ci");
  const shot = await bob.screenshot({ path: "artifacts/approvals.png", fullPage: true });
  await testInfo.attach("approvals page", { body: shot, contentType: "image/png" });
  await pending.getByRole("button", { name: "Approve team-a-ci" }).click();
  await expect(bob.getByTestId("flash")).toHaveText("team-a-ci: Approved.");
  await expect(card(bob, "team-a-ci")).toHaveCount(0);

  await alice.goto("/requests");
  await waitForHydration(alice);
  const mine = card(alice, "team-a-ci");
  await expect(mine.getByTestId("timeline")).toContainText("Bob Berg approved (Pending → Approved)");
  // Berth's worker provisions it right after the approval (grants.spec.ts follows that part closely).
  await expect(async () => {
    await alice.reload();
    await expect(mine.getByTestId("state")).toHaveText("Ready", { timeout: 500 });
  }).toPass({ timeout: 20_000 });
  const mineShot = await alice.screenshot({ path: "artifacts/my-requests.png", fullPage: true });
  await testInfo.attach("my requests", { body: mineShot, contentType: "image/png" });

  // The name is now held: a second request for it is refused next to the field, by the server.
  await alice.goto("/requests/new");
  await waitForHydration(alice);
  await alice.getByLabel("Namespace name").fill("team-a-ci");
  await alice.getByLabel("Purpose").fill("again");
  await alice.getByRole("button", { name: "Submit request" }).click();
  await expect(alice.getByTestId("namespace-problem")).toHaveText("'team-a-ci' is already requested or granted.");
  await expect(alice).toHaveURL(/\/requests\/new$/);
});

test("bob denies a request with a reason, and alice reads it", async ({ browser }) => {
  const alice = await personPage(browser, "alice");
  const bob = await personPage(browser, "bob");
  const detail = await request(alice, "team-a-scratch");

  await bob.goto("/approvals");
  await waitForHydration(bob);
  const pending = card(bob, "team-a-scratch");
  // A denial without a reason is refused next to the reason field.
  await pending.getByRole("button", { name: "Deny team-a-scratch" }).click();
  await expect(pending.getByRole("alert").first()).toHaveText("Say why, so the requester knows what to change.");
  await pending.getByLabel("Reason for denying").fill("Use the shared CI namespace <ci-shared> instead");
  await pending.getByRole("button", { name: "Deny team-a-scratch" }).click();
  await expect(bob.getByTestId("flash")).toHaveText("team-a-scratch: Denied.");

  await alice.goto(detail);
  await waitForHydration(alice);
  await expect(alice.getByTestId("state")).toHaveText("Denied");
  await expect(alice.getByTestId("decision")).toContainText("by Bob Berg");
  await expect(alice.getByTestId("decision")).toContainText("Use the shared CI namespace <ci-shared> instead");
  await alice.goto("/requests");
  await expect(card(alice, "team-a-scratch").getByTestId("decision-reason")).toHaveText(
    "Reason: Use the shared CI namespace <ci-shared> instead",
  );
});

test("alice cancels a pending request", async ({ browser }) => {
  const alice = await personPage(browser, "alice");
  await request(alice, "team-a-third");
  await alice.goto("/requests");
  await waitForHydration(alice);
  const third = card(alice, "team-a-third");
  await third.getByRole("button", { name: "Cancel request" }).click();
  await expect(third.getByTestId("state")).toHaveText("Cancelled");
  await expect(third.getByRole("button", { name: "Cancel request" })).toHaveCount(0);
  await expect(third.getByTestId("timeline")).toContainText("Alice Anders cancelled (Pending → Cancelled)");
});

test("the form checks a name while it is typed, and explains each rule", async ({ browser }, testInfo) => {
  const alice = await personPage(browser, "alice");
  await alice.goto("/requests/new");
  await waitForHydration(alice);
  const name = alice.getByLabel("Namespace name");
  const problem = alice.getByTestId("namespace-problem");
  for (const [typed, says] of [
    ["Team-A", "Only lower-case letters are allowed: try 'team-a'."],
    ["team_a", "Only the letters a-z, digits and '-' are allowed; '_' is not."],
    ["team-", "The name must start and end with a letter or a digit, not '-'."],
    ["kube-system", "Names starting with 'kube-' are reserved for the platform."],
    ["default", "'default' is reserved by Kubernetes."],
    ["a".repeat(64), "At most 63 characters; this name has 64."],
  ]) {
    await name.fill(typed);
    await expect(problem).toHaveText(says);
    await expect(name).toHaveAttribute("aria-invalid", "true");
  }
  await name.fill("team-a-ok");
  await expect(problem).toBeEmpty();
  // Server-side rules show next to their fields too: an empty purpose.
  await alice.getByRole("button", { name: "Submit request" }).click();
  await expect(alice.getByTestId("purpose-problem")).toHaveText(
    "Say what the namespace is for, so an approver can decide.",
  );
  const shot = await alice.screenshot({ path: "artifacts/new-request.png", fullPage: true });
  await testInfo.attach("new request form", { body: shot, contentType: "image/png" });
});
