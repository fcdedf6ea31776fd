// From approval to a working kubeconfig through the browser: alice requests, bob approves, alice watches the
// status become ready without reloading, downloads a kubeconfig for Jenkins, and the test uses it with
// kubectl as Jenkins would (the local control plane's kubectl is on PATH; scripts/test.sh puts it there).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, personPage, requestApproved, test, waitForHydration } from "../fixtures";

function kubectl(kubeconfig: string, ...args: string[]): { ok: boolean; output: string } {
  const run = spawnSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

test("alice's approved namespace becomes ready while she watches, and her kubeconfig works there only", async ({ browser }, testInfo) => {
  // The whole life of a grant across three people: more than the default budget of one test.
  test.slow();
  const namespace = `jenkins-${Date.now().toString(36)}`;
  const alice = await personPage(browser, "alice");
  const bob = await personPage(browser, "bob");

  await alice.goto("/requests/new");
  await waitForHydration(alice);
  await alice.getByLabel("Namespace name").fill(namespace);
  await alice.getByLabel("Purpose").fill("Jenkins deploys the shop here");
  await alice.getByLabel("Stage").selectOption("test");
  await alice.getByLabel("Helm 3 or later (no Tiller)").check();
  await alice.getByRole("button", { name: "Submit request" }).click();
  await alice.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
  await waitForHydration(alice);
  await expect(alice.getByTestId("state")).toHaveText("Pending");

  await bob.goto(alice.url());
  await waitForHydration(bob);
  await bob.getByRole("button", { name: `Approve ${namespace}` }).click();

  // alice's page was open all along: it shows the approval, the provisioning and the result by itself
  // (it looks again every second while Berth works).
  await expect(alice.getByTestId("state")).toHaveText("Ready", { timeout: 20_000 });
  await expect(alice.getByTestId("timeline")).toContainText("Bob Berg approved");
  await expect(alice.getByTestId("expires-at")).toBeVisible();
  await expect(alice.getByTestId("no-credentials")).toBeVisible();

  // A kubeconfig for Jenkins: the form checks the name while typing.
  const form = alice.getByTestId("download-form");
  await form.getByTestId("purpose-ci").check();
  await form.getByLabel("Robot's name").fill("Jenkins");
  await expect(form.getByText("'J' is not allowed")).toBeVisible();
  await expect(form.getByTestId("download")).toBeDisabled();
  await form.getByLabel("Robot's name").fill("jenkins-prod");
  await form.getByLabel("Lifetime in hours").fill("48");
  const shot = await alice.screenshot({ path: "artifacts/kubeconfig.png", fullPage: true });
  await testInfo.attach("ready grant with the download form", { body: shot, contentType: "image/png" });
  const [download] = await Promise.all([alice.waitForEvent("download"), form.getByTestId("download").click()]);
  expect(download.suggestedFilename()).toBe(`${namespace}-jenkins-prod.kubeconfig`);
  const file = testInfo.outputPath("jenkins.kubeconfig");
  await download.saveAs(file);

  // What Jenkins does with it: works in the namespace...
  const created = kubectl(file, "create", "deployment", "shop", "--image=registry.example/shop:1");
  expect(created.output).toContain("deployment.apps/shop created");
  expect(kubectl(file, "get", "deployments", "-o", "name").output.trim()).toBe("deployment.apps/shop");
  expect(execFileSync("kubectl", ["--kubeconfig", file, "config", "view", "--minify", "-o", "jsonpath={..namespace}"], { encoding: "utf8" })).toBe(namespace);
  // ...and nowhere else.
  for (const args of [["get", "namespaces"], ["get", "secrets", "-n", "kube-system"], ["get", "pods", "-n", "default"]]) {
    const refused = kubectl(file, ...args);
    expect(refused.ok, `kubectl ${args.join(" ")}`).toBe(false);
    expect(refused.output.toLowerCase()).toContain("forbidden");
  }

  // The page lists the credential (never the token) after a reload.
  await alice.reload();
  await waitForHydration(alice);
  const credential = alice.getByTestId("credential");
  await expect(credential).toHaveCount(1);
  await expect(credential).toContainText("Robot: jenkins-prod");
  await expect(alice.getByTestId("usage-jenkins")).toContainText(`berth-${namespace}`);

  // carol, an admin, revokes it with a reason; alice sees who and why, and the file stops working.
  const carol = await personPage(browser, "carol");
  await carol.goto(alice.url());
  await waitForHydration(carol);
  await carol.getByLabel("Reason for revoking", { exact: true }).fill("Jenkins prod is being decommissioned");
  await carol.getByRole("button", { name: "Revoke", exact: true }).click();
  await expect(carol.getByTestId("revoked")).toContainText("by Carol Castro");
  await alice.reload();
  await expect(alice.getByTestId("revoked")).toContainText("by Carol Castro");
  await expect(alice.getByTestId("revoked")).toContainText("Jenkins prod is being decommissioned");
  await expect
    .poll(() => kubectl(file, "get", "pods", "--request-timeout=5s").output, { timeout: 15_000 })
    .toMatch(/Unauthorized|must be logged in/);

  // alice's My access page shows the grant, its time left, and the revoked kubeconfig with the reason.
  await alice.goto("/access");
  const grant = alice.getByTestId("grant").filter({ hasText: namespace });
  await expect(grant.getByTestId("time-left")).toContainText("left · ends");
  await expect(grant.getByTestId("revoked")).toContainText("Jenkins prod is being decommissioned");

  // carol finds the grant on the dashboard by searching, and the revocation in the audit log, from the
  // filter forms (plain GET forms: a filtered view is a link).
  await carol.goto("/admin");
  await waitForHydration(carol);
  await carol.getByLabel("Search").fill(namespace);
  await carol.getByLabel("State").selectOption("ready");
  await carol.getByRole("button", { name: "Apply" }).click();
  await carol.waitForURL(/\/admin\?q=/);
  const row = carol.getByTestId("grant");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Alice Anders");
  await expect(row.getByTestId("grant-credentials")).toContainText("1 (0 not revoked)");
  await carol.goto(`/admin/audit?namespace=${namespace}&kind=revoke_credential`);
  const event = carol.getByTestId("audit-event");
  await expect(event).toHaveCount(1);
  await expect(event).toContainText("Carol Castro");
  await expect(event).toContainText("Jenkins prod is being decommissioned");
  const [csv] = await Promise.all([carol.waitForEvent("download"), carol.getByTestId("export-csv").click()]);
  const csvFile = testInfo.outputPath("audit.csv");
  await csv.saveAs(csvFile);
  const lines = readFileSync(csvFile, "utf8").trim().split("\r\n");
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(`revoke_credential,${namespace}`);
});

test("a Tiller-mode grant says how Tiller is doing and shows Helm 2 usage that goes through Tiller only", async ({ browser }, testInfo) => {
  const namespace = `tiller-${Date.now().toString(36)}`;
  const [alice, bob] = await Promise.all(["alice", "bob"].map((user) => personPage(browser, user)));
  await requestApproved(alice, bob, namespace, { tiller: true, purpose: "Helm 2 releases of the old shop" });
  await expect(alice.getByTestId("state")).toHaveText("Ready", { timeout: 20_000 });
  // Ready means the grant's objects exist; Tiller itself is still starting (here, for good: no kubelet runs
  // its pod), and the page says so with what the Deployment reports.
  await alice.reload();
  const tiller = alice.getByTestId("tiller-status");
  await expect(tiller).toHaveAttribute("data-state", "starting");
  await expect(tiller).toContainText("Tiller is starting. 0 of 1 replicas available");
  await expect(alice.getByTestId("usage-shell")).toContainText(`helm --tiller-namespace ${namespace} upgrade --install my-app ./chart`);
  const jenkins = alice.getByTestId("usage-jenkins");
  await expect(jenkins).toContainText(`sh 'helm --tiller-namespace ${namespace} upgrade --install my-app ./chart'`);
  await expect(jenkins).not.toContainText("kubectl apply");
  await expect(alice.getByText(`${namespace}-<name>.kubeconfig`)).toBeVisible();
  const shot = await alice.screenshot({ path: "artifacts/tiller-grant.png", fullPage: true });
  await testInfo.attach("Tiller-mode grant: Tiller's rollout and the Helm 2 usage", { body: shot, contentType: "image/png" });
});
