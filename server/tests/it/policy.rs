//! Decisions by policy, through the server functions the pages call, with people signed in at the development
//! identity provider (their groups come from there) and the worker provisioning in the real API server: two
//! approvers of two groups for production, racing approvers, auto-approval, per-stage limits and lapsing.

use std::time::{Duration, Instant};

use app::error::ApiError;
use app::policy::approvals::ApproveOffer;
use app::requests::{Action, Approvals, RequestState};
use berth_server::config::{ApprovalSlotConfig, AutoApproveConfig, Config, StageConfig};
use tempfile::TempDir;

use crate::cluster::unique;
use crate::grants::{can_i, clean_up, store_of, wait_for};
use crate::requests::{detail, form, post, refusal, submit_ok, with};
use crate::support::{Browser, TestServer};

/// The production stage of the README's example: one of berth-approvers (bob, frank) and one of
/// platform-approvers (erin); Helm 3, small or medium, 180 days at most, lapsing after 7 days. The test stage
/// approves small Helm 3 namespaces at once.
fn with_policy(config: &mut Config) {
    let auth = config.auth.as_mut().expect("single sign-on is configured");
    auth.roles.approver.push("platform-approvers".to_string());
    let production = StageConfig {
        profiles: vec!["small".into(), "medium".into()],
        helm_modes: vec!["none".into()],
        max_lifetime_days: Some(180),
        max_pending_days: Some(7),
        approvals: ["berth-approvers", "platform-approvers"]
            .map(|group| ApprovalSlotConfig { group: group.to_string(), count: 1 })
            .to_vec(),
        ..StageConfig::default()
    };
    let test = StageConfig {
        auto_approve: vec![AutoApproveConfig {
            name: "small test namespaces".into(),
            profiles: vec!["small".into()],
            helm_modes: vec!["none".into()],
            max_active_grants: Some(20),
        }],
        ..StageConfig::default()
    };
    config.policy.stages.insert("production".into(), production);
    config.policy.stages.insert("test".into(), test);
    config.provisioning.enabled = true;
    config.provisioning.poll_seconds = 1;
}

async fn server(dir: &TempDir) -> TestServer {
    TestServer::start_with(dir, with_policy).await
}

/// A production request for `namespace` that passes the stage's limits.
fn production(namespace: &str) -> Vec<(&'static str, String)> {
    with(with(form(namespace), "stage", "production"), "helm_mode", "none")
}

async fn approvals(browser: &Browser, server: &TestServer) -> Approvals {
    let response = post(browser, server, "requests/approvals", &[]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn listed(approvals: &Approvals) -> Vec<String> {
    approvals.requests.items.iter().map(|item| item.request.namespace.clone()).collect()
}

#[tokio::test]
async fn production_needs_one_approver_of_each_group_and_every_page_shows_how_far_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let (alice, bob, frank, erin) = tokio::join!(
        Browser::signed_in(&server, "alice"),
        Browser::signed_in(&server, "bob"),
        Browser::signed_in(&server, "frank"),
        Browser::signed_in(&server, "erin"),
    );
    let namespace = unique("shop-prod");
    let id = submit_ok(&alice, &server, &production(&namespace)).await;

    let queue = approvals(&bob, &server).await;
    assert_eq!(listed(&queue), std::slice::from_ref(&namespace));
    let standing = queue.requests.items[0].approval.clone().expect("pending, bob may decide");
    assert_eq!(standing.approve, ApproveOffer::Counts, "bob's approval counts, but is not enough");
    assert_eq!(standing.progress.line(), "0 of 2: berth-approvers waiting; platform-approvers waiting");

    assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
    let halfway = detail(&alice, &server, &id).await;
    assert_eq!(halfway.request.state, RequestState::Pending, "one of two");
    let line = halfway.approval.expect("progress for the requester").progress.line();
    assert_eq!(line, "1 of 2: berth-approvers approved by Bob Berg; platform-approvers waiting");
    assert!(listed(&approvals(&bob, &server).await).is_empty(), "nothing left for bob to decide");
    let carol = Browser::signed_in(&server, "carol").await;
    assert!(listed(&approvals(&carol, &server).await).is_empty(), "carol (admin) is in neither production group");

    // frank is of bob's group: his approval would fill no seat, but he may still deny.
    let for_frank = approvals(&frank, &server).await;
    let standing = for_frank.requests.items[0].approval.clone().unwrap();
    assert!(matches!(&standing.approve, ApproveOffer::Refused(why) if why.contains("would fill no open seat")));
    assert!(standing.may_deny);
    let refused = refusal(post(&frank, &server, "requests/approve", &[("id", id.clone())]).await, 403).await;
    assert!(matches!(&refused, ApiError::NotAllowed(why) if why.contains("would fill no open seat")), "{refused:?}");
    let again = refusal(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await, 403).await;
    assert_eq!(again, ApiError::NotAllowed(app::policy::ALREADY_APPROVED.to_string()));

    let for_erin = approvals(&erin, &server).await;
    assert_eq!(for_erin.requests.items[0].approval.clone().unwrap().approve, ApproveOffer::Completes);
    assert_eq!(post(&erin, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
    let ready = wait_for(&alice, &server, &id, RequestState::Ready).await;
    let decision = ready.request.decision.expect("decided");
    assert_eq!(decision.by.display_name, "Erin Engel", "the approval that completed it");
    let approvals_recorded: Vec<(Option<&str>, RequestState)> = ready
        .events
        .iter()
        .filter(|event| event.action == Action::Approve)
        .map(|event| (event.actor.as_deref(), event.to))
        .collect();
    assert_eq!(
        approvals_recorded,
        [(Some("Bob Berg"), RequestState::Pending), (Some("Erin Engel"), RequestState::Approved)]
    );
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn one_denial_by_someone_who_could_approve_ends_the_request_and_others_may_not_deny() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let carol = Browser::signed_in(&server, "carol").await;
    let erin = Browser::signed_in(&server, "erin").await;
    let id = submit_ok(&alice, &server, &production(&unique("shop-prod"))).await;
    let deny = [("id", id.clone()), ("reason", "Use staging first".to_string())];
    let refused = refusal(post(&carol, &server, "requests/deny", &deny).await, 403).await;
    assert!(matches!(&refused, ApiError::NotAllowed(why) if why.contains("berth-approvers and platform-approvers")));
    assert_eq!(detail(&alice, &server, &id).await.request.state, RequestState::Pending, "nothing changed");
    assert_eq!(post(&erin, &server, "requests/deny", &deny).await.status(), 200);
    assert_eq!(detail(&alice, &server, &id).await.request.state, RequestState::Denied);
    server.stop().await;
}

#[tokio::test]
async fn two_approvers_racing_for_the_last_seat_produce_exactly_one_transition() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let (alice, bob, frank, erin) = tokio::join!(
        Browser::signed_in(&server, "alice"),
        Browser::signed_in(&server, "bob"),
        Browser::signed_in(&server, "frank"),
        Browser::signed_in(&server, "erin"),
    );
    let mut namespaces = Vec::new();
    for round in 0..4 {
        let namespace = unique(&format!("race-{round}"));
        let id = submit_ok(&alice, &server, &production(&namespace)).await;
        namespaces.push(namespace);
        assert_eq!(post(&erin, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
        let args = [("id", id.clone())];
        let (by_bob, by_frank) = tokio::join!(
            post(&bob, &server, "requests/approve", &args),
            post(&frank, &server, "requests/approve", &args)
        );
        let mut statuses = [by_bob.status().as_u16(), by_frank.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses[0], 200, "round {round}: one wins");
        assert!([403, 409].contains(&statuses[1]), "round {round}: the other is refused, {statuses:?}");
        let events = detail(&alice, &server, &id).await.events;
        let transitions = events.iter().filter(|event| event.to == RequestState::Approved).count();
        let approvals = events.iter().filter(|event| event.action == Action::Approve).count();
        assert_eq!((transitions, approvals), (1, 2), "round {round}: erin's and one of the two");
    }
    server.stop().await;
    for namespace in namespaces {
        clean_up(&namespace).await;
    }
}

#[tokio::test]
async fn what_a_stage_does_not_allow_is_refused_next_to_each_field_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let asked = with(
        with(with(form(&unique("too-big")), "stage", "production"), "quota_profile", "large"),
        "lifetime_days",
        "200",
    );
    let ApiError::Invalid(problems) = refusal(post(&alice, &server, "requests/submit", &asked).await, 422).await else {
        panic!("not a field refusal")
    };
    let by_field: Vec<(&str, &str)> = problems.iter().map(|p| (p.field.as_str(), p.message.as_str())).collect();
    assert_eq!(
        by_field,
        [
            ("helm_mode", "The production stage allows Helm 3 or later (no Tiller)."),
            ("quota_profile", "The production stage allows small or medium."),
            ("lifetime_days", "At most 180 days in the production stage."),
        ]
    );
    assert!(crate::requests::mine(&alice, &server).await.items.is_empty(), "nothing stored");
    server.stop().await;
}

/// Approval to ready for auto-approved requests: submitted, approved by the rule in the same transaction,
/// provisioned by the worker at once. Prints the median and p90.
#[tokio::test]
async fn a_small_test_namespace_is_approved_by_the_rule_and_provisioned_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let mut times = Vec::new();
    let mut namespaces = Vec::new();
    for _ in 0..10 {
        let namespace = unique("auto");
        let asked = with(form(&namespace), "helm_mode", "none");
        let submitted = Instant::now();
        let id = submit_ok(&alice, &server, &asked).await;
        namespaces.push(namespace);
        let ready =
            crate::grants::wait_for_within(&alice, &server, &id, RequestState::Ready, Duration::from_secs(10)).await;
        times.push(submitted.elapsed());
        let decision = ready.request.decision.clone().expect("decided");
        assert_eq!(decision.by.display_name, "Rule \"small test namespaces\"");
        let approval = ready.events.iter().find(|event| event.action == Action::Approve).expect("approved");
        assert_eq!(approval.actor.as_deref(), Some("Rule \"small test namespaces\""), "the rule is the actor");
        assert_eq!(approval.from, Some(RequestState::Pending));
    }
    times.sort();
    let millis = |at: usize| times[at].as_secs_f64() * 1000.0;
    println!(
        "FIGURE auto-approved request, submit to ready (includes the approval): median {:.0} ms, p90 {:.0} ms over {}",
        millis(times.len() / 2),
        millis(times.len() * 9 / 10),
        times.len()
    );

    // Not small, or with Tiller: no rule matches, and it waits for people.
    let waits = submit_ok(&alice, &server, &with(form(&unique("auto-no")), "quota_profile", "medium")).await;
    assert_eq!(detail(&alice, &server, &waits).await.request.state, RequestState::Pending);
    server.stop().await;
    for namespace in namespaces {
        clean_up(&namespace).await;
    }
}

#[tokio::test]
async fn a_production_request_lapses_after_its_stage_s_days_and_others_after_the_installation_s() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let in_production = submit_ok(&alice, &server, &production(&unique("lapse-prod"))).await;
    let in_staging = submit_ok(&alice, &server, &with(form(&unique("lapse-stg")), "stage", "staging")).await;
    let submitted = detail(&alice, &server, &in_production).await.request.created_at;
    let mut config =
        Config { auth: Some(crate::support::auth_config(&crate::support::dev_idp_url())), ..Config::default() };
    with_policy(&mut config);
    let cluster = crate::provisioning::berth_cluster().await;
    let worker =
        berth_server::workflow::worker::Worker::standalone(store_of(&dir).await, cluster, &config, Default::default())
            .unwrap();
    let days = chrono::TimeDelta::days;
    let second = chrono::TimeDelta::seconds(1);
    assert!(worker.lapse_due(submitted + days(7) - second).await.unwrap().is_empty(), "within 7 days");
    assert_eq!(worker.lapse_due(submitted + days(7) + second).await.unwrap(), std::slice::from_ref(&in_production));
    assert_eq!(worker.lapse_due(submitted + days(14) + second).await.unwrap(), std::slice::from_ref(&in_staging));
    let lapsed = detail(&alice, &server, &in_production).await;
    assert_eq!(lapsed.request.state, RequestState::Lapsed);
    let reason = lapsed.events.last().unwrap().reason.clone().unwrap_or_default();
    assert!(reason.contains("within 7 days"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn groups_of_the_last_sign_in_are_kept_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let erin = Browser::signed_in(&server, "erin").await;
    let carol = Browser::signed_in(&server, "carol").await;
    let users: Vec<app::admin::UserSummary> = post(&carol, &server, "users", &[]).await.json().await.unwrap();
    let erin_row = users.iter().find(|user| user.display_name == "Erin Engel").expect("erin signed in");
    assert_eq!(erin_row.groups, ["platform-approvers", "everyone"]);
    let home = erin.get(&server.url("/")).await.text().await.unwrap();
    assert!(home.contains("groups at sign-in: platform-approvers, everyone"), "{home}");
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------------------
// Changes of a live grant.

/// alice's production grant of `profile`, approved by bob and erin and provisioned; (id, namespace).
async fn production_grant(server: &TestServer, alice: &Browser, profile: &str) -> (String, String) {
    let namespace = unique("shop-prod");
    let id = submit_ok(alice, server, &with(production(&namespace), "quota_profile", profile)).await;
    for approver in ["bob", "erin"] {
        let approver = Browser::signed_in(server, approver).await;
        assert_eq!(post(&approver, server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
    }
    wait_for(alice, server, &id, RequestState::Ready).await;
    (id, namespace)
}

/// The change form asking for `value` in `field`, with a reason.
fn change(id: &str, field: &'static str, value: &str) -> Vec<(&'static str, String)> {
    vec![("id", id.to_string()), (field, value.to_string()), ("reason", "The shop grows".to_string())]
}

/// The namespace's ResourceQuota `hard[resource]`, as the API server has it.
fn quota_hard(namespace: &str, resource: &str) -> String {
    let path = format!("jsonpath={{.spec.hard.{}}}", resource.replace('.', "\\."));
    crate::grants::kubectl_admin(&["get", "resourcequota", "berth-quota", "-n", namespace, "-o", &path])
}

/// Waits until the worker recorded that it applied the grant's change; the record's note.
async fn applied(browser: &Browser, server: &TestServer, id: &str) -> String {
    crate::support::eventually(Duration::from_secs(20), "the change applied", || async {
        let events = detail(browser, server, id).await.events;
        match events.iter().rev().find(|event| event.action == Action::ApplyChange) {
            Some(event) => Ok(event.reason.clone().unwrap_or_default()),
            None => Err("not yet".to_string()),
        }
    })
    .await
}

#[tokio::test]
async fn a_larger_profile_in_production_takes_both_groups_and_the_worker_applies_only_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let (alice, bob, erin) = tokio::join!(
        Browser::signed_in(&server, "alice"),
        Browser::signed_in(&server, "bob"),
        Browser::signed_in(&server, "erin"),
    );
    let (id, namespace) = production_grant(&server, &alice, "small").await;
    let grant = detail(&alice, &server, &id).await;
    let usage = grant.quota_use.expect("the quota use of a ready grant");
    assert!(usage.iter().any(|usage| usage.resource == "requests.cpu" && usage.hard == "2"), "{usage:?}");
    assert_eq!(quota_hard(&namespace, "requests.cpu"), "2");

    let asked = post(&alice, &server, "requests/change", &change(&id, "quota_profile", "medium")).await;
    assert_eq!(asked.status(), 200, "{}", asked.text().await.unwrap());
    let waiting = detail(&bob, &server, &id).await;
    assert_eq!(waiting.request.change.as_ref().and_then(|ask| ask.quota_profile.as_deref()), Some("medium"));
    assert_eq!(waiting.approval.expect("progress").approve, ApproveOffer::Counts);
    let queue = approvals(&bob, &server).await;
    assert_eq!(queue.changes.items.len(), 1, "the change waits on bob's Approvals page");

    assert_eq!(post(&bob, &server, "requests/approve_change", &[("id", id.clone())]).await.status(), 200);
    let halfway = detail(&alice, &server, &id).await;
    assert_eq!(halfway.request.quota_profile, "small", "one of two approvals changes nothing");
    assert_eq!(
        halfway.approval.expect("progress").progress.line(),
        "1 of 2: berth-approvers approved by Bob Berg; platform-approvers waiting"
    );
    assert!(approvals(&bob, &server).await.changes.items.is_empty(), "nothing left for bob");
    assert_eq!(post(&erin, &server, "requests/approve_change", &[("id", id.clone())]).await.status(), 200);

    let note = applied(&alice, &server, &id).await;
    let calls = note.matches(", ").count() + 1;
    println!("FIGURE API calls of a quota change (small to medium, applied by the worker): {calls} ({note})");
    assert_eq!(note, format!("applied ResourceQuota {namespace}/berth-quota"), "exactly the difference");
    assert_eq!(quota_hard(&namespace, "requests.cpu"), "8", "medium's quota in the cluster");
    let now = detail(&alice, &server, &id).await.request;
    assert_eq!((now.quota_profile.as_str(), now.change), ("medium", None));
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn a_smaller_profile_is_refused_below_what_the_namespace_uses_and_approved_at_once_above_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let (id, namespace) = production_grant(&server, &alice, "medium").await;
    // 21 Services: one more than small allows.
    let services: Vec<serde_json::Value> = (0..21)
        .map(|n| {
            serde_json::json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": { "name": format!("svc-{n}"), "namespace": namespace },
                "spec": { "ports": [{ "port": 80 }] },
            })
        })
        .collect();
    let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": services });
    let file = dir.path().join("services.json");
    std::fs::write(&file, list.to_string()).unwrap();
    crate::grants::kubectl_admin(&["apply", "-f", file.to_str().unwrap()]);

    let refused = refusal(post(&alice, &server, "requests/change", &change(&id, "quota_profile", "small")).await, 422);
    let refused = refused.await;
    let message = refused.problem_with("quota_profile").expect("next to the profile").to_string();
    assert!(message.contains("services 21 (at most 20)"), "{message}");
    assert!(detail(&alice, &server, &id).await.request.change.is_none(), "nothing stored");

    crate::grants::kubectl_admin(&["delete", "services", "--all", "-n", &namespace]);
    let asked = crate::support::eventually(Duration::from_secs(30), "the quota sees the services gone", || async {
        let response = post(&alice, &server, "requests/change", &change(&id, "quota_profile", "small")).await;
        match response.status().as_u16() {
            200 => Ok(()),
            status => Err(format!("{status}: {}", response.text().await.unwrap_or_default())),
        }
    });
    asked.await;
    let note = applied(&alice, &server, &id).await;
    assert_eq!(note, format!("applied ResourceQuota {namespace}/berth-quota"));
    let changed = detail(&alice, &server, &id).await;
    let approval = changed.events.iter().rev().find(|event| event.action == Action::ApproveChange).unwrap();
    assert_eq!(approval.actor.as_deref(), Some("Rule \"a change that only takes away\""), "approved at once");
    assert_eq!(quota_hard(&namespace, "requests.cpu"), "2");
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn tiller_to_helm_3_removes_tiller_and_binds_every_identity_to_edit() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let namespace = unique("tiller-to-3");
    let id = submit_ok(&alice, &server, &form(&namespace)).await;
    assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
    wait_for(&alice, &server, &id, RequestState::Ready).await;
    let identity_name = crate::grants::identity_of(&namespace, "alice");
    let identity = format!("system:serviceaccount:berth-identities:{identity_name}");
    let binding = berth_server::cluster::manifests::binding_name_of(&namespace, &identity_name);
    let tiller = format!("system:serviceaccount:{namespace}:tiller");
    // A robot of the grant is bound like the owner: through Tiller only, until the change.
    let robot = [("id", id.clone()), ("name", "jenkins".to_string())];
    assert_eq!(post(&alice, &server, "robots/add", &robot).await.status(), 200);
    let jenkins = format!("system:serviceaccount:berth-identities:{namespace}.robot.jenkins");
    for who in [&identity, &jenkins] {
        assert!(!can_i(who, "create", "deployments", &namespace), "with Tiller, only Tiller deploys: {who}");
        assert!(can_i(who, "list", "pods", &namespace), "{who} finds Tiller");
    }
    assert!(can_i(&tiller, "create", "deployments", &namespace));

    let asked = post(&alice, &server, "requests/change", &change(&id, "helm_mode", "none")).await;
    assert_eq!(asked.status(), 200, "{}", asked.text().await.unwrap());
    let note = applied(&alice, &server, &id).await;
    assert!(
        note.contains(&format!("deleted RoleBinding {namespace}/{binding}, Deployment {namespace}/tiller-deploy")),
        "{note}"
    );
    assert!(note.contains(&format!("RoleBinding {namespace}/berth.robot.jenkins")), "the robot bound anew: {note}");
    for who in [&identity, &jenkins] {
        assert!(can_i(who, "create", "deployments", &namespace), "{who} has edit now");
    }
    assert!(!can_i(&tiller, "create", "deployments", &namespace), "Tiller's account is bound to nothing");
    let left = crate::grants::kubectl_admin(&["get", "deployments,serviceaccounts", "-n", &namespace, "-o", "name"]);
    assert!(!left.contains("tiller"), "Tiller is gone: {left}");
    let now = detail(&alice, &server, &id).await.request;
    assert_eq!(now.helm_mode, app::requests::HelmMode::NoTiller);
    server.stop().await;
    clean_up(&namespace).await;
}
