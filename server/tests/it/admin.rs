//! Admins' and owners' tools over HTTP, as the pages call them: who may use the dashboard, the audit log and
//! its exports, and delete a namespace; the dashboard's filters end to end; changes (asked by the owner,
//! decided once by an approver, bad input refused with nothing stored); and My access. The grants here are
//! walked to ready in the database (no cluster objects needed); `grants.rs` covers the cluster side.

use app::admin::AuditEntry;
use app::error::ApiError;
use app::requests::credentials::CredentialPurpose;
use app::requests::{Action, ApprovalItem, GrantWithCredentials, MyAccess, Page, RequestState};
use berth_server::store::credentials::NewCredential;
use berth_server::store::requests::Transition;
use chrono::{TimeDelta, Utc};
use tempfile::TempDir;

use crate::cluster::unique;
use crate::grants::store_of;
use crate::requests::{detail, form, post, refusal, submit_ok};
use crate::support::{Browser, TestServer};

/// alice's request for a fresh name, walked to ready in the database, ending in two days. Returns its id.
async fn ready_request(dir: &TempDir, server: &TestServer, alice: &Browser) -> String {
    let id = submit_ok(alice, server, &form(&unique("adm"))).await;
    let store = store_of(dir).await;
    for (action, to) in [
        (Action::Approve, RequestState::Approved),
        (Action::StartProvisioning, RequestState::Provisioning),
        (Action::MarkReady, RequestState::Ready),
    ] {
        let record = store.request(&id).await.unwrap().unwrap();
        let transition = Transition {
            request_id: &id,
            version: record.version,
            from: record.summary.state,
            to,
            action,
            actor_id: None,
            reason: None,
            at: Utc::now(),
            expires_at: Some(Utc::now() + TimeDelta::days(2)),
        };
        assert!(store.apply(&transition).await.unwrap());
    }
    id
}

async fn events_of(carol: &Browser, server: &TestServer, namespace: &str) -> Vec<AuditEntry> {
    let response = post(carol, server, "admin/audit", &[("namespace", namespace.to_string())]).await;
    assert_eq!(response.status(), 200);
    response.json::<Page<AuditEntry>>().await.unwrap().items
}

#[tokio::test]
async fn only_admins_reach_the_dashboard_the_audit_log_its_exports_and_namespace_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("authz");
    let pending = submit_ok(&alice, &server, &form(&namespace)).await;
    for (caller, expected) in
        [(None, 401), (Some("dave"), 403), (Some("alice"), 403), (Some("bob"), 403), (Some("carol"), 200)]
    {
        let browser = match caller {
            None => Browser::new(),
            Some(user) => Browser::signed_in(&server, user).await,
        };
        for endpoint in ["admin/grants", "admin/audit"] {
            let status = post(&browser, &server, endpoint, &[]).await.status();
            assert_eq!(status, expected, "{endpoint} by {caller:?}");
        }
        for file in ["export.csv", "export.json"] {
            let response = browser.http.get(server.url(&format!("/admin/audit/{file}"))).send().await.unwrap();
            assert_eq!(response.status(), expected, "{file} by {caller:?}");
        }
        let args = [("id", pending.clone()), ("confirm", namespace.clone()), ("reason", "tidy up".to_string())];
        let response = post(&browser, &server, "admin/delete_namespace", &args).await;
        // An admin passes the role check and meets the rule: Berth never created a pending request's namespace.
        let (status, body) = (response.status(), response.text().await.unwrap());
        assert_eq!(status, if expected == 200 { 409 } else { expected }, "delete by {caller:?}: {body}");
    }
    // Nothing anyone did changed the request, and an anonymous page view is sent to sign in.
    assert_eq!(detail(&alice, &server, &pending).await.request.state, RequestState::Pending);
    assert!(detail(&alice, &server, &pending).await.request.namespace_deletion.is_none());
    let page = Browser::new().get(&server.url("/admin/audit")).await;
    assert_eq!(page.status(), 303);
    server.stop().await;
}

#[tokio::test]
async fn the_dashboard_finds_grants_with_their_kubeconfigs_and_shrugs_off_hostile_filters() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let carol = Browser::signed_in(&server, "carol").await;
    let ready = ready_request(&dir, &server, &alice).await;
    let other = submit_ok(&carol, &server, &form(&unique("other"))).await;
    let store = store_of(&dir).await;
    let alice_id = store.request(&ready).await.unwrap().unwrap().requester_id;
    let credential = NewCredential {
        id: "00000000-0000-4000-8000-000000000001",
        request_id: &ready,
        owner_id: &alice_id,
        purpose: CredentialPurpose::Ci,
        name: "jenkins-prod",
        robot_id: None,
        issued_at: Utc::now(),
        expires_at: Utc::now() + TimeDelta::hours(8),
    };
    store.record_credential(&credential).await.unwrap();

    let grants = |args: Vec<(&'static str, String)>| {
        let (carol, server) = (&carol, &server);
        async move {
            let response = post(carol, server, "admin/grants", &args).await;
            assert_eq!(response.status(), 200);
            response.json::<Page<GrantWithCredentials>>().await.unwrap()
        }
    };
    let all = grants(vec![]).await;
    assert_eq!(all.total, 2);
    assert_eq!(all.items[0].request.id, other, "newest first");
    let found = grants(vec![("state", "ready".into()), ("owner", "alice".into())]).await;
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].request.id, ready);
    assert_eq!(found.items[0].credentials.len(), 1, "with its kubeconfigs");
    assert_eq!(found.items[0].credentials[0].name, "jenkins-prod");
    // Nonsense in a filter is no filter (the page still shows); text is only ever a search term.
    let hostile = grants(vec![
        ("state", "'; DROP TABLE requests; --".into()),
        ("sort", "id; DELETE FROM requests".into()),
        ("page", "-3".into()),
    ])
    .await;
    assert_eq!((hostile.total, hostile.number), (2, 1));
    let injected = grants(vec![("q", "' OR '1'='1".into())]).await;
    assert_eq!(injected.total, 0);
    assert_eq!(grants(vec![]).await.total, 2, "and nothing was dropped");

    // The page itself, server-rendered: the filters stay filled in and the pager keeps them.
    let html = carol.get(&server.url("/admin?state=ready&q=adm")).await.text().await.unwrap();
    assert_eq!(html.matches("data-testid=\"grant\"").count(), 1, "{html}");
    assert!(html.contains("CI: jenkins-prod"), "kubeconfigs listed");
    assert!(html.contains(r#"<option value="ready" selected"#), "state kept in the form");
    server.stop().await;
}

#[tokio::test]
async fn the_audit_log_exports_csv_and_json_with_the_page_s_filters() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let carol = Browser::signed_in(&server, "carol").await;
    let namespace = unique("audit");
    let id = submit_ok(&alice, &server, &form(&namespace)).await;
    let reason = "=cmd|' /C calc'!A0, \"quoted\"";
    let denied = post(&carol, &server, "requests/deny", &[("id", id.clone()), ("reason", reason.into())]).await;
    assert_eq!(denied.status(), 200);

    let query = format!("?namespace={namespace}&kind=deny");
    let csv = carol.http.get(server.url(&format!("/admin/audit/export.csv{query}"))).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["x-total-count"], "1");
    assert_eq!(csv.headers()["cache-control"], "no-store");
    assert!(csv.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"berth-audit-"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,at,actor,actor_email,action,namespace,request_id"));
    assert!(
        lines[1].contains(&format!(",Carol Castro,carol@example.test,deny,{namespace},{id},pending,denied,,")),
        "{text}"
    );
    assert!(lines[1].ends_with("\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\""), "formula defused, quotes doubled: {text}");

    let json = carol.http.get(server.url(&format!("/admin/audit/export.json{query}"))).send().await.unwrap();
    let entries: Vec<AuditEntry> = json.json().await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].action, entries[0].reason.as_deref()), (Action::Deny, Some(reason)));
    let all: Vec<AuditEntry> = carol
        .http
        .get(server.url(&format!("/admin/audit/export.json?namespace={namespace}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.iter().map(|e| e.action).collect::<Vec<_>>(), [Action::Deny, Action::Submit], "newest first");
    let unknown = carol.http.get(server.url("/admin/audit/export.xml")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn an_owner_asks_for_more_days_and_one_approver_grants_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let carol = Browser::signed_in(&server, "carol").await;
    let id = ready_request(&dir, &server, &alice).await;
    let before = detail(&alice, &server, &id).await;
    assert!(before.may.ask_change);
    let ends = before.request.expires_at.unwrap();
    let ask = |days: &str, reason: &str| vec![("id", id.clone()), ("days", days.into()), ("reason", reason.into())];

    // Bad input: a clear message per field, nothing stored.
    for (days, reason, field) in
        [("0", "release", "days"), ("abc", "release", "days"), ("100000", "release", "days"), ("30", "  ", "reason")]
    {
        let error = refusal(post(&alice, &server, "requests/change", &ask(days, reason)).await, 422).await;
        assert!(error.problem_with(field).is_some(), "{days:?}/{reason:?}: {error:?}");
    }
    let oversized = "x".repeat(1_001);
    let error = refusal(post(&alice, &server, "requests/change", &ask("30", &oversized)).await, 422).await;
    assert!(error.problem_with("reason").is_some());
    assert!(detail(&alice, &server, &id).await.request.change.is_none(), "nothing stored");
    // Only the owner asks; nobody decides an ask that does not exist.
    assert_eq!(post(&bob, &server, "requests/change", &ask("30", "mine now")).await.status(), 403);
    assert_eq!(post(&bob, &server, "requests/approve_change", &[("id", id.clone())]).await.status(), 409);

    let asked = post(&alice, &server, "requests/change", &ask("30", "The release slipped a month")).await;
    assert_eq!(asked.status(), 200, "{}", asked.text().await.unwrap());
    assert_eq!(post(&alice, &server, "requests/change", &ask("5", "more")).await.status(), 409, "one at a time");
    let shown = detail(&alice, &server, &id).await;
    assert_eq!(shown.request.change.as_ref().map(|e| e.days), Some(Some(30)));
    assert!(!shown.may.ask_change);
    // It waits for the approvers like a request; the owner cannot decide it (a developer), nor could an
    // approver decide their own.
    let waiting: Page<ApprovalItem> = post(&bob, &server, "requests/pending_changes", &[]).await.json().await.unwrap();
    assert_eq!(waiting.items.iter().map(|i| i.request.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    assert!(detail(&bob, &server, &id).await.may.decide_change);
    assert_eq!(post(&alice, &server, "requests/approve_change", &[("id", id.clone())]).await.status(), 403);
    assert_eq!(post(&alice, &server, "requests/pending_changes", &[]).await.status(), 403);

    // Two approvers at once: exactly one decision.
    let args = [("id", id.clone())];
    let (first, second) = tokio::join!(
        post(&bob, &server, "requests/approve_change", &args),
        post(&carol, &server, "requests/approve_change", &args),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let after = detail(&alice, &server, &id).await.request;
    assert_eq!(after.expires_at, Some(ends + TimeDelta::days(30)), "extended once, by 30 days");
    assert!(after.change.is_none() && !after.expiry_warned, "warned again before the new end");

    // A refusal needs a reason and leaves the end as it was.
    assert_eq!(post(&alice, &server, "requests/change", &ask("10", "and a bit")).await.status(), 200);
    let error =
        refusal(post(&bob, &server, "requests/deny_change", &[("id", id.clone()), ("reason", "".into())]).await, 422)
            .await;
    assert!(error.problem_with("reason").is_some());
    let denied =
        post(&bob, &server, "requests/deny_change", &[("id", id.clone()), ("reason", "Plan the move".into())]).await;
    assert_eq!(denied.status(), 200);
    assert_eq!(detail(&alice, &server, &id).await.request.expires_at, Some(ends + TimeDelta::days(30)));

    let actions: Vec<Action> = detail(&alice, &server, &id).await.events.iter().map(|e| e.action).collect();
    assert_eq!(
        actions[actions.len() - 4..],
        [Action::AskChange, Action::ApproveChange, Action::AskChange, Action::DenyChange]
    );
    let log = events_of(&carol, &server, &detail(&alice, &server, &id).await.request.namespace).await;
    assert_eq!(log[0].reason.as_deref(), Some("Plan the move"));
    assert_eq!(log[0].actor.as_deref(), Some("Bob Berg"));
    server.stop().await;
}

#[tokio::test]
async fn my_access_lists_the_caller_s_own_grants_with_their_kubeconfigs_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let ready = ready_request(&dir, &server, &alice).await;
    let _pending = submit_ok(&alice, &server, &form(&unique("later"))).await;
    let store = store_of(&dir).await;
    let alice_id = store.request(&ready).await.unwrap().unwrap().requester_id;
    let credential = NewCredential {
        id: "00000000-0000-4000-8000-000000000002",
        request_id: &ready,
        owner_id: &alice_id,
        purpose: CredentialPurpose::Personal,
        name: "personal",
        robot_id: None,
        issued_at: Utc::now(),
        expires_at: Utc::now() + TimeDelta::hours(8),
    };
    store.record_credential(&credential).await.unwrap();

    let mine: MyAccess = post(&alice, &server, "access", &[]).await.json().await.unwrap();
    assert_eq!(
        mine.grants.iter().map(|g| g.request.id.as_str()).collect::<Vec<_>>(),
        [ready.as_str()],
        "not the pending one"
    );
    assert_eq!(mine.grants[0].credentials.len(), 1);
    let theirs: MyAccess = post(&bob, &server, "access", &[]).await.json().await.unwrap();
    assert!(theirs.grants.is_empty(), "nobody sees another's access here");
    assert_eq!(post(&Browser::new(), &server, "access", &[]).await.status(), 401);

    // A developer revokes only their own kubeconfigs: another's does not exist for them.
    let carol = Browser::signed_in(&server, "carol").await;
    let carols = ready_request(&dir, &server, &carol).await;
    let carol_id = store.request(&carols).await.unwrap().unwrap().requester_id;
    let foreign = NewCredential {
        id: "00000000-0000-4000-8000-000000000003",
        request_id: &carols,
        owner_id: &carol_id,
        name: "personal",
        robot_id: None,
        ..credential.clone()
    };
    store.record_credential(&foreign).await.unwrap();
    let theirs = [("id", foreign.id.to_string()), ("reason", "not mine".to_string())];
    assert_eq!(refusal(post(&alice, &server, "credentials/revoke", &theirs).await, 404).await, ApiError::NotFound);
    let untouched: MyAccess = post(&carol, &server, "access", &[]).await.json().await.unwrap();
    assert!(untouched.grants[0].credentials[0].revoked_at.is_none());

    // The page, server-rendered, with the time left; the owner revokes the kubeconfig from it.
    let html = alice.get(&server.url("/access")).await.text().await.unwrap();
    assert!(html.contains("1 day 23 hours left") || html.contains("2 days 0 hours left"), "{html}");
    let revoke = [("id", credential.id.to_string()), ("reason", "laptop stolen".to_string())];
    let response = post(&alice, &server, "credentials/revoke", &revoke).await;
    // (Its anchor never existed in the cluster: the revocation is recorded, and the worker is told to finish.)
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let after: MyAccess = post(&alice, &server, "access", &[]).await.json().await.unwrap();
    assert_eq!(after.grants[0].credentials[0].revoke_reason.as_deref(), Some("laptop stolen"));
    server.stop().await;
}
