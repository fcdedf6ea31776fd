// A grant's owner shares it: alice adds grace as a member and a robot for Jenkins through her grant's page;
// grace downloads a kubeconfig of her own, which acts as grace, and loses it alone when alice removes her.
import { spawnSync } from "node:child_process";
import { expect, personPage, requestApproved, test, waitForHydration } from "../fixtures";

function kubectl(kubeconfig: string, ...args: string[]): { ok: boolean; output: string } {
  const run = spawnSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

test("the owner adds a member and a robot; the member's kubeconfig is hers and goes when she is removed", async ({ browser }, testInfo) => {
  test.slow();
  const namespace = `team-${Date.now().toString(36)}`;
  const alice = await personPage(browser, "alice");
  const bob = await personPage(browser, "bob");
  // grace has signed in before (Berth knows people by their sign-in).
  const grace = await personPage(browser, "grace");

  const url = await requestApproved(alice, bob, namespace);
  await alice.goto(url);
  await waitForHydration(alice);
  await expect(alice.getByTestId("state")).toHaveText("Ready", { timeout: 20_000 });
  await expect(alice.getByTestId("member")).toHaveCount(1);
  await expect(alice.getByTestId("member")).toContainText("Owner (requested it)");

  // Before she is a member, the grant does not exist for grace.
  await grace.goto(url);
  await expect(grace.getByText("Not found. It may never have existed")).toBeVisible();

  // alice adds grace by keyboard: the email, then Enter.
  const addMember = alice.getByTestId("add-member");
  await addMember.getByLabel("Add a member by email").fill("nobody@example.test");
  await addMember.getByLabel("Add a member by email").press("Enter");
  await expect(addMember.getByText("Nobody has signed in to Berth as nobody@example.test")).toBeVisible();
  await addMember.getByLabel("Add a member by email").fill("grace@example.test");
  await addMember.getByLabel("Add a member by email").press("Enter");
  await expect(alice.getByTestId("member")).toHaveCount(2);
  await expect(alice.getByTestId("member").nth(1)).toContainText("Grace Gupta");
  await expect(alice.getByTestId("member").nth(1)).toContainText("Added by Alice Anders");

  // And a robot for Jenkins: a name it cannot have is refused next to the field.
  const addRobot = alice.getByTestId("add-robot");
  await addRobot.getByLabel("Add a robot").fill("Jenkins");
  await addRobot.getByRole("button", { name: "Add robot" }).click();
  await expect(addRobot.getByText("'J' is not allowed")).toBeVisible();
  await addRobot.getByLabel("Add a robot").fill("jenkins-prod");
  await addRobot.getByRole("button", { name: "Add robot" }).click();
  const robot = alice.getByTestId("robot");
  await expect(robot).toHaveCount(1);
  await expect(robot).toContainText(`system:serviceaccount:berth-identities:${namespace}.robot.jenkins-prod`);
  await alice.getByRole("heading", { name: "Members and robots" }).scrollIntoViewIfNeeded();
  const shot = await alice.screenshot({ path: "artifacts/members-and-robots.png", fullPage: true });
  await testInfo.attach("the owner's grant with a member and a robot", { body: shot, contentType: "image/png" });

  // grace sees the grant now, may download, and may not manage its members.
  await grace.goto(url);
  await waitForHydration(grace);
  await expect(grace.getByTestId("namespace")).toHaveText(namespace);
  await expect(grace.getByTestId("add-member")).toHaveCount(0);
  await expect(grace.getByTestId("member")).toHaveCount(2);
  const form = grace.getByTestId("download-form");
  const [download] = await Promise.all([grace.waitForEvent("download"), form.getByTestId("download").click()]);
  const file = testInfo.outputPath("grace.kubeconfig");
  await download.saveAs(file);
  await grace.goto("/access");
  await waitForHydration(grace);
  await expect(grace.getByRole("main")).toContainText(namespace);
  const whoami = kubectl(file, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}");
  expect(whoami.output).toContain(`system:serviceaccount:berth-identities:${namespace}.person.grace.`);
  expect(kubectl(file, "get", "pods").ok).toBe(true);

  // alice removes her: grace's kubeconfig is refused within seconds; the grant is gone from her view.
  await alice.reload();
  await waitForHydration(alice);
  await alice.getByRole("button", { name: "Remove Grace Gupta" }).click();
  await expect(alice.getByTestId("member")).toHaveCount(1);
  await expect
    .poll(() => kubectl(file, "get", "pods").output, { timeout: 30_000, message: "grace's kubeconfig refused" })
    .toMatch(/Unauthorized|must be logged in/);
  // (By way of My access: after the download's form post, Chromium did not load the same address again on a
  // navigation to it.)
  await grace.goto("/access");
  await waitForHydration(grace);
  await expect(grace.getByText(namespace)).toHaveCount(0);
  await grace.goto(url);
  await expect(grace.getByText("Not found. It may never have existed")).toBeVisible();
});
