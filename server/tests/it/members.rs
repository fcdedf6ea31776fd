//! Members and robots of a grant, against the real local control plane: each has an identity of its own
//! (`kubectl auth whoami` names it), and removing one takes away exactly its access within seconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::requests::members::GrantMembers;
use app::requests::{Action, RequestState};

use crate::grants::{IDENTITIES, clean_up, download, kubectl_as, ready_grant, wait_for};
use crate::requests::{detail, post, refusal};
use crate::support::{Browser, TestServer, eventually};

/// Downloads a kubeconfig (`fields`) as `browser` and writes it to `dir/file`; the download must succeed.
async fn kubeconfig(
    server: &TestServer,
    browser: &Browser,
    id: &str,
    fields: &[(&str, &str)],
    dir: &Path,
    file: &str,
) -> PathBuf {
    let response = download(browser, server, id, fields).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

const PERSONAL: [(&str, &str); 2] = [("purpose", "personal"), ("lifetime_hours", "8")];

/// Who the API server says the kubeconfig is (`kubectl auth whoami`).
fn whoami(file: &Path) -> String {
    let (ok, out) = kubectl_as(file, &["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert!(ok, "{out}");
    out
}

/// Waits until the kubeconfig is refused outright (its identity or anchor is gone): at most 30 s.
async fn refused_soon(file: &Path) {
    eventually(Duration::from_secs(30), &format!("{} refused", file.display()), || async {
        match kubectl_as(file, &["get", "pods"]) {
            (false, out) if out.contains("Unauthorized") || out.contains("must be logged in") => Ok(()),
            (ok, out) => Err(format!("ok: {ok}: {out}")),
        }
    })
    .await;
}

async fn members_of(browser: &Browser, server: &TestServer, id: &str) -> GrantMembers {
    detail(browser, server, id).await.members.expect("a ready grant shows its members")
}

#[tokio::test]
async fn a_member_gets_a_kubeconfig_of_their_own_and_loses_only_theirs_when_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let grace = Browser::signed_in(&server, "grace").await;
    let henry = Browser::signed_in(&server, "henry").await;

    // Not a member yet: the grant does not exist for her.
    refusal(post(&grace, &server, "requests/detail", &[("id", id.clone())]).await, 404).await;
    refusal(download(&grace, &server, &id, &PERSONAL).await, 404).await;

    // The owner adds her by the email she signs in with; what cannot be added is said next to the field.
    let add = |email: &str| [("id", id.clone()), ("email", email.to_string())];
    assert_eq!(post(&alice, &server, "members/add", &add("Grace@Example.test")).await.status(), 200);
    for (email, says) in [
        ("grace@example.test", "is a member already"),
        ("alice@example.test", "owns this grant already"),
        ("nobody@example.test", "Nobody has signed in to Berth as nobody@example.test"),
        ("not-an-email", "is not an email address"),
    ] {
        let problem = refusal(post(&alice, &server, "members/add", &add(email)).await, 422).await;
        assert!(format!("{problem:?}").contains(says), "{email}: {problem:?}");
    }
    // Only the owner (or an admin) adds members; someone who cannot see the grant finds nothing.
    refusal(post(&grace, &server, "members/add", &add("henry@example.test")).await, 403).await;
    refusal(post(&henry, &server, "members/add", &add("henry@example.test")).await, 404).await;

    let members = members_of(&alice, &server, &id).await;
    let names: Vec<(&str, Option<&str>)> =
        members.members.iter().map(|m| (m.display_name.as_str(), m.added_by.as_deref())).collect();
    assert_eq!(names, [("Alice Anders", None), ("Grace Gupta", Some("Alice Anders"))]);
    let grace_id = members.members[1].person_id.clone();

    // A member sees the grant, downloads a kubeconfig that acts as herself, and may not manage its access.
    let seen = detail(&grace, &server, &id).await;
    assert!(seen.may.download && seen.may.ask_change && !seen.may.manage_access && !seen.may.cancel);
    let hers = kubeconfig(&server, &grace, &id, &PERSONAL, dir.path(), "grace.kubeconfig").await;
    let owners = kubeconfig(&server, &alice, &id, &PERSONAL, dir.path(), "alice.kubeconfig").await;
    let (ok, out) = kubectl_as(&hers, &["create", "configmap", "from-grace"]);
    assert!(ok, "{out}");
    let grace_user = whoami(&hers);
    assert!(
        grace_user.starts_with(&format!("system:serviceaccount:{IDENTITIES}:{namespace}.person.grace.")),
        "{grace_user}"
    );
    assert!(whoami(&owners).contains(&format!("{namespace}.person.alice.")));
    let access = post(&grace, &server, "access", &[]).await.json::<app::requests::MyAccess>().await.unwrap();
    assert!(access.grants.iter().any(|g| g.request.id == id), "on her My access");

    // Removed: her kubeconfig is refused within seconds, the owner's keeps working, the grant is gone for her.
    let remove = [("id", id.clone()), ("person", grace_id.clone())];
    assert_eq!(post(&alice, &server, "members/remove", &remove).await.status(), 200);
    refused_soon(&hers).await;
    let (ok, out) = kubectl_as(&owners, &["get", "configmaps", "from-grace"]);
    assert!(ok, "the owner's kubeconfig works on: {out}");
    refusal(post(&grace, &server, "requests/detail", &[("id", id.clone())]).await, 404).await;
    refusal(post(&alice, &server, "members/remove", &remove).await, 409).await;
    let left = crate::grants::kubectl_admin(&["get", "serviceaccounts", "-n", IDENTITIES, "-o", "name"]);
    assert!(!left.contains(&format!("{namespace}.person.grace.")), "her identity is gone: {left}");

    let after = detail(&alice, &server, &id).await;
    let revoked: Vec<(&str, bool)> =
        after.credentials.iter().map(|c| (c.owner.as_str(), c.revoked_at.is_some())).collect();
    assert_eq!(revoked, [("Alice Anders", false), ("Grace Gupta", true)], "newest first");
    let actions: Vec<(Action, Option<&str>)> = after
        .events
        .iter()
        .map(|e| (e.action, e.reason.as_deref()))
        .filter(|(a, _)| a.as_str().contains("member"))
        .collect();
    assert_eq!(
        actions,
        [
            (Action::AddMember, Some("Grace Gupta (grace@example.test)")),
            (Action::RemoveMember, Some("Grace Gupta (grace@example.test)")),
        ]
    );
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn robots_act_as_themselves_and_are_removed_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let robot = |name: &str| [("id", id.clone()), ("name", name.to_string())];
    assert_eq!(post(&alice, &server, "robots/add", &robot("jenkins-prod")).await.status(), 200);
    for (name, says) in [("jenkins-prod", "has a robot named jenkins-prod already"), ("Jenkins", "'J' is not allowed")]
    {
        let problem = refusal(post(&alice, &server, "robots/add", &robot(name)).await, 422).await;
        assert!(format!("{problem:?}").contains(says), "{name}: {problem:?}");
    }

    let ci = |name: &'static str| [("purpose", "ci"), ("name", name), ("lifetime_hours", "24")];
    let jenkins = kubeconfig(&server, &alice, &id, &ci("jenkins-prod"), dir.path(), "jenkins.kubeconfig").await;
    // A CI kubeconfig naming a robot the grant does not have yet creates it (the owner may).
    let gitlab = kubeconfig(&server, &alice, &id, &ci("gitlab"), dir.path(), "gitlab.kubeconfig").await;
    let own = kubeconfig(&server, &alice, &id, &PERSONAL, dir.path(), "alice.kubeconfig").await;
    let prefix = format!("system:serviceaccount:{IDENTITIES}:{namespace}.robot.");
    assert_eq!(whoami(&jenkins), format!("{prefix}jenkins-prod"));
    assert_eq!(whoami(&gitlab), format!("{prefix}gitlab"));
    let (ok, out) = kubectl_as(&jenkins, &["create", "deployment", "web", "--image=registry.example/web:1"]);
    assert!(ok, "{out}");

    let robots = members_of(&alice, &server, &id).await.robots;
    let listed: Vec<(&str, &str)> = robots.iter().map(|r| (r.name.as_str(), r.username.as_str())).collect();
    assert_eq!(
        listed,
        [("gitlab", format!("{prefix}gitlab").as_str()), ("jenkins-prod", format!("{prefix}jenkins-prod").as_str())]
    );

    // Removing jenkins-prod takes its kubeconfig away, and nobody else's.
    let jenkins_id = robots.iter().find(|r| r.name == "jenkins-prod").unwrap().id.clone();
    let remove = [("id", id.clone()), ("robot", jenkins_id)];
    assert_eq!(post(&alice, &server, "robots/remove", &remove).await.status(), 200);
    refused_soon(&jenkins).await;
    for file in [&gitlab, &own] {
        let (ok, out) = kubectl_as(file, &["get", "deployments"]);
        assert!(ok, "{}: {out}", file.display());
    }
    refusal(post(&alice, &server, "robots/remove", &remove).await, 404).await;
    let names: Vec<String> = members_of(&alice, &server, &id).await.robots.into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["gitlab"]);

    // A revoked grant takes every identity with it: the owner's and the robots'.
    let carol = Browser::signed_in(&server, "carol").await;
    let revoke = [("id", id.clone()), ("reason", "project over".to_string())];
    assert_eq!(post(&carol, &server, "requests/revoke", &revoke).await.status(), 200);
    wait_for(&alice, &server, &id, RequestState::Revoked).await;
    refused_soon(&gitlab).await;
    refused_soon(&own).await;
    let selector = format!("berth.dev/namespace={namespace}");
    let left =
        crate::grants::kubectl_admin(&["get", "serviceaccounts", "-n", IDENTITIES, "-l", &selector, "-o", "name"]);
    assert_eq!(left, "", "no identity of the grant is left");
    server.stop().await;
    clean_up(&namespace).await;
}

/// Sets `person`'s groups at the development provider, for their next sign-in.
async fn groups_at_provider(person: &str, groups: &[&str]) {
    let url = format!("{}/dev/people/{person}/groups", crate::support::dev_idp_url());
    let answer = reqwest::Client::new().post(url).json(&groups).send().await.unwrap();
    assert_eq!(answer.status(), 204);
}

const HENRY: [&str; 3] = ["berth-developers", "team-payments", "everyone"];

#[tokio::test]
async fn a_team_member_gets_a_kubeconfig_of_their_own_and_loses_it_at_the_sign_in_after_leaving_the_team() {
    groups_at_provider("henry", &HENRY).await;
    let dir = tempfile::tempdir().unwrap();
    let server = crate::support::TestServer::start_with(&dir, |config| {
        config.provisioning.enabled = true;
        config.provisioning.lease_seconds = 1;
        config.provisioning.poll_seconds = 1;
        config.requests.team_groups = vec!["team-*".to_string()];
    })
    .await;
    let grace = Browser::signed_in(&server, "grace").await;
    let namespace = crate::cluster::unique("pay");
    let form = crate::requests::with(crate::requests::form(&namespace), "helm_mode", "none");
    // A team the requester is not in is refused next to the field; hers is taken.
    let mut theirs = form.clone();
    theirs.push(("team", "team-marketing".to_string()));
    let problem = refusal(post(&grace, &server, "requests/submit", &theirs).await, 422).await;
    assert!(format!("{problem:?}").contains("is not one of your teams"), "{problem:?}");
    let mut ours = form.clone();
    ours.push(("team", "team-payments".to_string()));
    let id = crate::requests::submit_ok(&grace, &server, &ours).await;
    let bob = Browser::signed_in(&server, "bob").await;
    assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
    let ready = wait_for(&grace, &server, &id, RequestState::Ready).await;
    assert_eq!(ready.members.and_then(|m| m.team).as_deref(), Some("team-payments"));

    // henry, in the team, did not request it: he sees it and gets a kubeconfig that acts as himself.
    let henry = Browser::signed_in(&server, "henry").await;
    let seen = detail(&henry, &server, &id).await;
    assert!(seen.may.download && !seen.may.manage_access, "{:?}", seen.may);
    let his = kubeconfig(&server, &henry, &id, &PERSONAL, dir.path(), "henry.kubeconfig").await;
    let hers = kubeconfig(&server, &grace, &id, &PERSONAL, dir.path(), "grace.kubeconfig").await;
    assert!(whoami(&his).contains(&format!("{namespace}.person.henry.")));
    assert!(kubectl_as(&his, &["get", "pods"]).0);
    // Someone outside the team finds nothing.
    let alice = Browser::signed_in(&server, "alice").await;
    refusal(post(&alice, &server, "requests/detail", &[("id", id.clone())]).await, 404).await;

    // He leaves the team at the provider: at his next sign-in his kubeconfig stops working; grace's does not.
    groups_at_provider("henry", &["berth-developers", "everyone"]).await;
    let henry = Browser::signed_in(&server, "henry").await;
    refused_soon(&his).await;
    assert!(kubectl_as(&hers, &["get", "pods"]).0, "the requester's kubeconfig keeps working");
    refusal(post(&henry, &server, "requests/detail", &[("id", id.clone())]).await, 404).await;
    let events = detail(&grace, &server, &id).await.events;
    let left = events.iter().find(|e| e.action == Action::RemoveMember).expect("recorded");
    assert!(left.reason.as_deref().unwrap_or_default().contains("no longer in the team team-payments"), "{left:?}");
    groups_at_provider("henry", &HENRY).await;
    server.stop().await;
    clean_up(&namespace).await;
}
