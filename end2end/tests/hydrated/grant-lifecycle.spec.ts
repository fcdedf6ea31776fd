// What happens to a ready grant after its kubeconfigs, through the hydrated pages: alice asks for more time,
// bob approves the change from Approvals, and carol deletes the namespace, typing its name to confirm. The Rust tests
// check the same rules over HTTP; this checks that the forms people use reach them.
import { expect, personPage, requestApproved, test, waitForHydration } from "../fixtures";

test("alice's grant is extended by bob, then carol deletes its namespace after typing its name", async ({ browser }) => {
  test.slow();
  const namespace = `life-${Date.now().toString(36)}`;
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((user) => personPage(browser, user)));

  const grantUrl = await requestApproved(alice, bob, namespace, { purpose: "A short-lived test environment" });
  await expect(alice.getByTestId("state")).toHaveText("Ready", { timeout: 20_000 });
  const ends = await alice.getByTestId("expires-at").textContent();

  // alice asks for more time (a change of one kind): the form refuses an empty reason next to its field, then
  // sends the ask.
  const change = alice.getByTestId("change-form");
  await change.getByLabel("More days").fill("30");
  await change.getByRole("button", { name: "Ask for the change" }).click();
  await expect(change).toContainText("Say why, for the approvers.");
  await change.getByLabel("Why?").fill("The migration slipped a month");
  await change.getByRole("button", { name: "Ask for the change" }).click();
  await expect(alice.getByTestId("change-pending")).toContainText("30 more days");

  // bob finds it on Approvals and approves it; alice's page shows the later end.
  await bob.goto("/approvals");
  await waitForHydration(bob);
  const ask = bob.getByTestId("change").filter({ hasText: namespace });
  await expect(ask).toContainText("The migration slipped a month");
  await ask.getByRole("button", { name: `Approve the change of ${namespace}`, exact: true }).click();
  await expect(bob.getByTestId("change").filter({ hasText: namespace })).toHaveCount(0);
  await alice.reload();
  await waitForHydration(alice);
  await expect(alice.getByTestId("expires-at")).not.toHaveText(ends ?? "");
  await expect(alice.getByTestId("timeline")).toContainText("Bob Berg approved the change");

  // carol deletes the namespace: the button waits for its name, typed exactly.
  await carol.goto(grantUrl);
  await waitForHydration(carol);
  const danger = carol.getByTestId("delete-namespace");
  await danger.getByText("Delete the namespace").click();
  const button = danger.getByRole("button", { name: "Delete namespace" });
  await expect(button).toBeDisabled();
  await danger.getByLabel(`Type ${namespace} to confirm`).fill(`${namespace}-x`);
  await expect(button).toBeDisabled();
  await danger.getByLabel(`Type ${namespace} to confirm`).fill(namespace);
  await danger.getByLabel("Reason for deleting").fill("The environment is no longer needed");
  await button.click();
  await expect(carol.getByTestId("namespace-deletion")).toContainText("The namespace was deleted", { timeout: 20_000 });
  await expect(carol.getByTestId("state")).toHaveText("Revoked");
  await alice.reload();
  await expect(alice.getByTestId("timeline")).toContainText("The environment is no longer needed");
  await expect(alice.getByTestId("timeline")).toContainText("Berth deleted the namespace");
});
