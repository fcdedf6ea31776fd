//! Namespace requests over HTTP, as the pages call them: who may call what (the authorization matrix, one
//! test per cell), bad input (a clear message per field and nothing stored), racing decisions, an
//! unreachable cluster, and the notification webhook.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::error::ApiError;
use app::requests::{ApprovalItem, Page, RequestDetail, RequestState, RequestWithTimeline};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};

use crate::support::{Browser, TestServer, berth_kubeconfig, local_cluster_kubeconfig};

/// A request that passes every check, for `namespace`.
pub(crate) fn form(namespace: &str) -> Vec<(&'static str, String)> {
    vec![
        ("namespace", namespace.to_string()),
        ("purpose", "Jenkins deploys the team's services here".to_string()),
        ("stage", "test".to_string()),
        ("helm_mode", "tiller".to_string()),
        ("quota_profile", "small".to_string()),
        ("lifetime_days", "30".to_string()),
    ]
}

pub(crate) fn with(mut form: Vec<(&'static str, String)>, key: &str, value: &str) -> Vec<(&'static str, String)> {
    form.iter_mut().filter(|(k, _)| *k == key).for_each(|(_, v)| *v = value.to_string());
    form
}

pub(crate) async fn post(
    browser: &Browser,
    server: &TestServer,
    endpoint: &str,
    args: &[(&str, String)],
) -> reqwest::Response {
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.call_with(server, endpoint, &args).await
}

/// Submits `form` and returns the new request's id; the submission must succeed.
pub(crate) async fn submit_ok(browser: &Browser, server: &TestServer, form: &[(&str, String)]) -> String {
    let response = post(browser, server, "requests/submit", form).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub(crate) async fn detail(browser: &Browser, server: &TestServer, id: &str) -> RequestDetail {
    let response = post(browser, server, "requests/detail", &[("id", id.to_string())]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub(crate) async fn mine(browser: &Browser, server: &TestServer) -> Page<RequestWithTimeline> {
    let response = post(browser, server, "requests/mine", &[("page", "1".to_string())]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The JSON error of a refused call, after checking its status.
pub(crate) async fn refusal(response: reqwest::Response, status: u16) -> ApiError {
    let actual = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(actual, status, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not an ApiError ({e}): {body}"))
}

/// The development identity provider's name of `user`.
fn display_name_of(user: &str) -> &'static str {
    match user {
        "alice" => "Alice Anders",
        "bob" => "Bob Berg",
        "carol" => "Carol Castro",
        _ => "Dave Dunn",
    }
}

// ---------------------------------------------------------------------------------------------------------
// The authorization matrix: every server function, called by nobody, by someone without a Berth role, by a
// developer, an approver and an admin. "Someone else's request" belongs to alice, or to carol when alice
// calls.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    Options,
    Submit,
    CancelOwn,
    CancelOthers,
    ListMine,
    ListPending,
    Approvals,
    Home,
    ApproveOthers,
    ApproveOwn,
    DenyOthers,
    DetailOthers,
}

async fn cell(call: Call, caller: Option<&str>, expected: u16) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let owner = if caller == Some("alice") { "carol" } else { "alice" };
    let owner_browser = Browser::signed_in(&server, owner).await;
    let others = submit_ok(&owner_browser, &server, &form("others-ns")).await;
    let browser = match caller {
        None => Browser::new(),
        Some(user) => Browser::signed_in(&server, user).await,
    };
    let may_submit = matches!(caller, Some("alice" | "bob" | "carol"));
    let own = if may_submit { Some(submit_ok(&browser, &server, &form("own-ns")).await) } else { None };
    let own_or_others = own.clone().unwrap_or_else(|| others.clone());

    let id = |id: &str| vec![("id", id.to_string())];
    let response = match call {
        Call::Options => post(&browser, &server, "requests/options", &[]).await,
        Call::Submit => post(&browser, &server, "requests/submit", &form("new-ns")).await,
        Call::CancelOwn => post(&browser, &server, "requests/cancel", &id(&own_or_others)).await,
        Call::CancelOthers => post(&browser, &server, "requests/cancel", &id(&others)).await,
        Call::ListMine => post(&browser, &server, "requests/mine", &[("page", "1".into())]).await,
        Call::ListPending => post(&browser, &server, "requests/pending", &[("page", "1".into())]).await,
        Call::Approvals => post(&browser, &server, "requests/approvals", &[]).await,
        Call::Home => post(&browser, &server, "home", &[]).await,
        Call::ApproveOthers => post(&browser, &server, "requests/approve", &id(&others)).await,
        Call::ApproveOwn => post(&browser, &server, "requests/approve", &id(&own_or_others)).await,
        Call::DenyOthers => {
            post(&browser, &server, "requests/deny", &[("id", others.clone()), ("reason", "no".into())]).await
        }
        Call::DetailOthers => post(&browser, &server, "requests/detail", &id(&others)).await,
    };
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, expected, "{call:?} by {caller:?}: {body}");

    // What the call did, or that it changed nothing.
    let others_now = detail(&owner_browser, &server, &others).await.request.state;
    let expected_others = match (call, expected) {
        (Call::ApproveOthers, 200) => RequestState::Approved,
        (Call::DenyOthers, 200) => RequestState::Denied,
        _ => RequestState::Pending,
    };
    assert_eq!(others_now, expected_others, "{call:?} by {caller:?}");
    if let (Call::CancelOwn, 200, Some(own)) = (call, expected, &own) {
        assert_eq!(detail(&browser, &server, own).await.request.state, RequestState::Cancelled);
    }
    if let (Call::Submit, 200) = (call, expected) {
        let id: String = serde_json::from_str(&body).unwrap();
        let stored = detail(&browser, &server, &id).await.request;
        assert_eq!((stored.namespace.as_str(), stored.state), ("new-ns", RequestState::Pending));
    }
    if let (Call::Home, 200) = (call, expected) {
        // Each role sees its own parts of the home page, and no more.
        let home: app::requests::Home = serde_json::from_str(&body).unwrap();
        let parts = (home.waiting.len(), home.queue.is_some(), home.overview.is_some());
        let expected_parts = match caller {
            Some("bob") => (1, true, false),
            Some("carol") => (1, true, true),
            _ => (1, false, false),
        };
        assert_eq!(parts, expected_parts, "{caller:?}: (own requests waiting, approvals waiting, overview)");
    }
    if let (Call::Approvals, 200) = (call, expected) {
        let approvals: app::requests::Approvals = serde_json::from_str(&body).unwrap();
        // Only what the caller may still decide: the other's request, not their own.
        assert_eq!(approvals.requests.total, 1, "the other's request only");
        let requester = &approvals.requests.items[0].request.requester.display_name;
        assert_ne!(Some(requester.as_str()), caller.map(display_name_of), "never the caller's own");
    }
    if expected == 401 {
        assert_eq!(serde_json::from_str::<ApiError>(&body).unwrap(), ApiError::SignInRequired);
    }
    server.stop().await;
}

macro_rules! matrix {
    ($($test:ident: $call:ident by $caller:expr => $status:expr;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                cell(Call::$call, $caller, $status).await;
            }
        )*
    };
}

const NOBODY: Option<&str> = None;
const NO_ROLE: Option<&str> = Some("dave");
const DEVELOPER: Option<&str> = Some("alice");
const APPROVER: Option<&str> = Some("bob");
const ADMIN: Option<&str> = Some("carol");

matrix! {
    options_nobody: Options by NOBODY => 401;
    options_no_role: Options by NO_ROLE => 403;
    options_developer: Options by DEVELOPER => 200;
    options_approver: Options by APPROVER => 200;
    options_admin: Options by ADMIN => 200;

    submit_nobody: Submit by NOBODY => 401;
    submit_no_role: Submit by NO_ROLE => 403;
    submit_developer: Submit by DEVELOPER => 200;
    submit_approver: Submit by APPROVER => 200;
    submit_admin: Submit by ADMIN => 200;

    cancel_own_nobody: CancelOwn by NOBODY => 401;
    cancel_own_no_role: CancelOwn by NO_ROLE => 403;
    cancel_own_developer: CancelOwn by DEVELOPER => 200;
    cancel_own_approver: CancelOwn by APPROVER => 200;
    cancel_own_admin: CancelOwn by ADMIN => 200;

    cancel_others_nobody: CancelOthers by NOBODY => 401;
    cancel_others_no_role: CancelOthers by NO_ROLE => 403;
    cancel_others_developer: CancelOthers by DEVELOPER => 404;
    cancel_others_approver: CancelOthers by APPROVER => 403;
    cancel_others_admin: CancelOthers by ADMIN => 403;

    list_mine_nobody: ListMine by NOBODY => 401;
    list_mine_no_role: ListMine by NO_ROLE => 403;
    list_mine_developer: ListMine by DEVELOPER => 200;
    list_mine_approver: ListMine by APPROVER => 200;
    list_mine_admin: ListMine by ADMIN => 200;

    list_pending_nobody: ListPending by NOBODY => 401;
    list_pending_no_role: ListPending by NO_ROLE => 403;
    list_pending_developer: ListPending by DEVELOPER => 403;
    list_pending_approver: ListPending by APPROVER => 200;
    list_pending_admin: ListPending by ADMIN => 200;

    approvals_nobody: Approvals by NOBODY => 401;
    approvals_no_role: Approvals by NO_ROLE => 403;
    approvals_developer: Approvals by DEVELOPER => 403;
    approvals_approver: Approvals by APPROVER => 200;
    approvals_admin: Approvals by ADMIN => 200;

    home_nobody: Home by NOBODY => 401;
    home_no_role: Home by NO_ROLE => 403;
    home_developer: Home by DEVELOPER => 200;
    home_approver: Home by APPROVER => 200;
    home_admin: Home by ADMIN => 200;

    approve_others_nobody: ApproveOthers by NOBODY => 401;
    approve_others_no_role: ApproveOthers by NO_ROLE => 403;
    approve_others_developer: ApproveOthers by DEVELOPER => 403;
    approve_others_approver: ApproveOthers by APPROVER => 200;
    approve_others_admin: ApproveOthers by ADMIN => 200;

    approve_own_developer: ApproveOwn by DEVELOPER => 403;
    approve_own_approver: ApproveOwn by APPROVER => 403;
    approve_own_admin: ApproveOwn by ADMIN => 403;

    deny_others_nobody: DenyOthers by NOBODY => 401;
    deny_others_no_role: DenyOthers by NO_ROLE => 403;
    deny_others_developer: DenyOthers by DEVELOPER => 403;
    deny_others_approver: DenyOthers by APPROVER => 200;
    deny_others_admin: DenyOthers by ADMIN => 200;

    detail_others_nobody: DetailOthers by NOBODY => 401;
    detail_others_no_role: DetailOthers by NO_ROLE => 403;
    detail_others_developer: DetailOthers by DEVELOPER => 404;
    detail_others_approver: DetailOthers by APPROVER => 200;
    detail_others_admin: DetailOthers by ADMIN => 200;
}

// ---------------------------------------------------------------------------------------------------------
// Bad input: each gets its message next to its field, and nothing is stored.

/// Submits `form` as alice, expects a 422 naming `field` with a message containing `says`, and checks that
/// nothing was stored.
async fn refused(server: &TestServer, alice: &Browser, form: &[(&str, String)], field: &str, says: &str) {
    let error = refusal(post(alice, server, "requests/submit", form).await, 422).await;
    let message = error.problem_with(field).unwrap_or_else(|| panic!("no problem with {field}: {error:?}"));
    assert!(message.contains(says), "{field}: {message:?} does not say {says:?}");
    assert_eq!(mine(alice, server).await.total, 0, "nothing stored after {form:?}");
}

async fn bad_input(form: Vec<(&'static str, String)>, field: &str, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    refused(&server, &alice, &form, field, says).await;
    server.stop().await;
}

#[tokio::test]
async fn upper_case_is_refused() {
    bad_input(form("Team-A-CI"), "namespace", "Only lower-case letters are allowed: try 'team-a-ci'").await;
}

#[tokio::test]
async fn sixty_four_characters_are_refused() {
    bad_input(form(&"a".repeat(64)), "namespace", "At most 63 characters; this name has 64.").await;
}

#[tokio::test]
async fn a_leading_dash_is_refused() {
    bad_input(form("-team"), "namespace", "start and end with a letter or a digit").await;
}

#[tokio::test]
async fn a_trailing_dash_is_refused() {
    bad_input(form("team-"), "namespace", "start and end with a letter or a digit").await;
}

#[tokio::test]
async fn non_ascii_is_refused() {
    bad_input(form("équipe"), "namespace", "'é' is not").await;
}

#[tokio::test]
async fn kube_system_is_refused() {
    bad_input(form("kube-system"), "namespace", "Names starting with 'kube-' are reserved").await;
}

#[tokio::test]
async fn default_is_refused() {
    bad_input(form("default"), "namespace", "'default' is reserved by Kubernetes.").await;
}

#[tokio::test]
async fn berth_s_own_namespace_is_refused() {
    bad_input(form("berth-identities"), "namespace", "Berth's own namespace").await;
}

#[tokio::test]
async fn an_empty_purpose_is_refused() {
    bad_input(with(form("team-a"), "purpose", "   "), "purpose", "Say what the namespace is for").await;
}

#[tokio::test]
async fn an_oversized_purpose_is_refused() {
    bad_input(with(form("team-a"), "purpose", &"x".repeat(501)), "purpose", "At most 500 characters; this has 501.")
        .await;
}

#[tokio::test]
async fn a_lifetime_out_of_bounds_is_refused() {
    bad_input(with(form("team-a"), "lifetime_days", "0"), "lifetime_days", "Between 1 and 365 days.").await;
    bad_input(with(form("team-a"), "lifetime_days", "366"), "lifetime_days", "Between 1 and 365 days.").await;
    bad_input(with(form("team-a"), "lifetime_days", "ten"), "lifetime_days", "Enter a whole number").await;
}

#[tokio::test]
async fn an_unknown_quota_profile_is_refused() {
    bad_input(with(form("team-a"), "quota_profile", "unlimited"), "quota_profile", "Choose one of the quota profiles")
        .await;
}

#[tokio::test]
async fn an_unknown_stage_is_refused() {
    bad_input(with(form("team-a"), "stage", "prod"), "stage", "Choose one of: test, staging").await;
}

#[tokio::test]
async fn tiller_is_refused_when_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| config.requests.tiller_enabled = false).await;
    let alice = Browser::signed_in(&server, "alice").await;
    refused(&server, &alice, &form("team-a"), "helm_mode", "switched off").await;
    let options: app::requests::RequestOptions =
        post(&alice, &server, "requests/options", &[]).await.json().await.unwrap();
    assert!(!options.tiller_enabled, "the form does not offer it either");
    submit_ok(&alice, &server, &with(form("team-a"), "helm_mode", "none")).await;
    server.stop().await;
}

#[tokio::test]
async fn an_existing_namespace_is_refused() {
    let kubeconfig = kube::config::Kubeconfig::read_from(local_cluster_kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(kube::Client::try_from(config).unwrap());
    let name = format!("existing-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let namespace: Namespace = serde_json::from_value(serde_json::json!({ "metadata": { "name": name } })).unwrap();
    namespaces.create(&PostParams::default(), &namespace).await.unwrap();

    bad_input(form(&name), "namespace", &format!("A namespace '{name}' already exists in the cluster.")).await;
    namespaces.delete(&name, &DeleteParams::default()).await.unwrap();
}

#[tokio::test]
async fn a_name_already_requested_is_refused_until_that_request_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let carol = Browser::signed_in(&server, "carol").await;
    let first = submit_ok(&carol, &server, &form("team-a")).await;
    refused(&server, &alice, &form("team-a"), "namespace", "'team-a' is already requested or granted.").await;
    post(&carol, &server, "requests/cancel", &[("id", first)]).await;
    submit_ok(&alice, &server, &form("team-a")).await;
    server.stop().await;
}

#[tokio::test]
async fn every_problem_of_a_form_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bad = [
        ("namespace", "Bad_Name".to_string()),
        ("purpose", String::new()),
        ("stage", "nope".to_string()),
        ("helm_mode", "helm2".to_string()),
        ("quota_profile", "x".to_string()),
        ("lifetime_days", "-1".to_string()),
    ];
    let ApiError::Invalid(problems) = refusal(post(&alice, &server, "requests/submit", &bad).await, 422).await else {
        panic!("not a field error");
    };
    let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["namespace", "purpose", "stage", "helm_mode", "quota_profile", "lifetime_days"]);
    server.stop().await;
}

#[tokio::test]
async fn markup_and_sql_are_stored_verbatim_and_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let hostile = r#"<img src=x onerror=alert(1)> '); DROP TABLE requests; -- & "quotes""#;

    // In the name: refused, and the refusal names the character rather than echoing markup.
    refused(&server, &alice, &form("<b>x</b>"), "namespace", "'<' is not").await;
    refused(&server, &alice, &form("x'; DROP TABLE requests; --"), "namespace", "is not").await;
    // In the choice fields: refused.
    refused(&server, &alice, &with(form("team-a"), "stage", hostile), "stage", "Choose one of").await;
    refused(&server, &alice, &with(form("team-a"), "quota_profile", hostile), "quota_profile", "Choose one of").await;
    refused(&server, &alice, &with(form("team-a"), "helm_mode", hostile), "helm_mode", "Choose").await;
    refused(&server, &alice, &with(form("team-a"), "lifetime_days", hostile), "lifetime_days", "whole number").await;

    // In the purpose and a denial's reason: stored verbatim...
    let id = submit_ok(&alice, &server, &with(form("team-a"), "purpose", hostile)).await;
    let denied = post(&bob, &server, "requests/deny", &[("id", id.clone()), ("reason", hostile.to_string())]).await;
    assert_eq!(denied.status(), 200);
    let stored = detail(&alice, &server, &id).await;
    assert_eq!(stored.request.purpose, hostile);
    assert_eq!(stored.request.decision.unwrap().reason.as_deref(), Some(hostile));
    assert_eq!(stored.events.last().unwrap().reason.as_deref(), Some(hostile));

    // ...and shown escaped on the server-rendered page.
    let html = alice.get(&server.url(&format!("/requests/{id}"))).await.text().await.unwrap();
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "escaped: {html}");
    assert!(!html.contains("<img src=x"), "raw markup in the page");
    server.stop().await;
}

#[tokio::test]
async fn a_denial_needs_a_reason_and_the_requester_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let id = submit_ok(&alice, &server, &form("team-a")).await;
    for reason in ["", "   ", &"x".repeat(1001)] {
        let response =
            post(&bob, &server, "requests/deny", &[("id", id.clone()), ("reason", reason.to_string())]).await;
        let error = refusal(response, 422).await;
        assert!(error.problem_with("reason").is_some(), "{error:?}");
    }
    assert_eq!(detail(&alice, &server, &id).await.request.state, RequestState::Pending, "still undecided");
    let response = post(&bob, &server, "requests/deny", &[("id", id.clone()), ("reason", "Use team-b".into())]).await;
    assert_eq!(response.status(), 200);
    let page = mine(&alice, &server).await;
    let decision = page.items[0].request.decision.clone().unwrap();
    assert_eq!((decision.by.display_name.as_str(), decision.reason.as_deref()), ("Bob Berg", Some("Use team-b")));
    server.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let carol = Browser::signed_in(&server, "carol").await;
    for id in ["", "nope", "00000000-0000-0000-0000-000000000000", "' OR 1=1 --", &"9".repeat(10_000)] {
        for endpoint in ["requests/detail", "requests/approve", "requests/cancel"] {
            let error = refusal(post(&carol, &server, endpoint, &[("id", id.to_string())]).await, 404).await;
            assert_eq!(error, ApiError::NotFound, "{endpoint} {id:.20}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn the_requester_is_the_signed_in_person_whatever_the_form_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let mut forged = form("team-a");
    forged.push(("requester_id", "someone-else".to_string()));
    forged.push(("requester", "Bob".to_string()));
    let response = post(&alice, &server, "requests/submit", &forged).await;
    // Extra fields are either refused or ignored; never believed.
    if response.status() == 200 {
        let id: String = response.json().await.unwrap();
        assert_eq!(detail(&alice, &server, &id).await.request.requester.display_name, "Alice Anders");
    } else {
        assert_eq!(mine(&alice, &server).await.total, 0);
    }
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------------------
// Decisions.

#[tokio::test]
async fn two_approvals_at_the_same_moment_record_one_decision() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let carol = Browser::signed_in(&server, "carol").await;
    for round in 0..5 {
        let id = submit_ok(&alice, &server, &form(&format!("race-{round}"))).await;
        let args = [("id", id.clone())];
        let (by_bob, by_carol) = tokio::join!(
            post(&bob, &server, "requests/approve", &args),
            post(&carol, &server, "requests/approve", &args)
        );
        let mut statuses = [by_bob.status().as_u16(), by_carol.status().as_u16()];
        let loser = if statuses[0] == 409 { by_bob } else { by_carol };
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: one wins, the other is told");
        let ApiError::Conflict(message) = loser.json::<ApiError>().await.unwrap() else { panic!("not a conflict") };
        assert!(message.starts_with("Already decided: this request was approved by "), "{message}");
        let events = detail(&alice, &server, &id).await.events;
        let approvals = events.iter().filter(|e| e.action == app::requests::Action::Approve).count();
        assert_eq!(approvals, 1, "round {round}: exactly one decision recorded");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_decided_or_cancelled_request_cannot_be_decided_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let id = submit_ok(&alice, &server, &form("team-a")).await;
    assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
    let again = refusal(post(&bob, &server, "requests/deny", &[("id", id.clone()), ("reason", "x".into())]).await, 409);
    assert_eq!(again.await, ApiError::Conflict("Already decided: this request was approved by Bob Berg.".into()));
    let cancel = refusal(post(&alice, &server, "requests/cancel", &[("id", id)]).await, 409).await;
    assert_eq!(cancel, ApiError::Conflict("This request is approved and can no longer be cancelled.".into()));

    let second = submit_ok(&alice, &server, &form("team-b")).await;
    assert_eq!(post(&alice, &server, "requests/cancel", &[("id", second.clone())]).await.status(), 200);
    let late = refusal(post(&bob, &server, "requests/approve", &[("id", second)]).await, 409).await;
    assert_eq!(late, ApiError::Conflict("This request is cancelled and can no longer be approved.".into()));
    server.stop().await;
}

#[tokio::test]
async fn an_approver_decides_their_own_request_only_when_the_config_allows() {
    for allowed in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start_with(&dir, |c| c.requests.approvers_may_decide_own = allowed).await;
        let bob = Browser::signed_in(&server, "bob").await;
        let id = submit_ok(&bob, &server, &form("bobs-ns")).await;
        let pending: Page<ApprovalItem> =
            post(&bob, &server, "requests/pending", &[("page", "1".into())]).await.json().await.unwrap();
        let response = post(&bob, &server, "requests/approve", &[("id", id)]).await;
        if allowed {
            assert_eq!(pending.items[0].decide_refusal, None);
            assert_eq!(response.status(), 200);
        } else {
            assert_eq!(
                pending.items[0].decide_refusal.as_deref(),
                Some("You cannot decide your own request; another approver must.")
            );
            let error = refusal(response, 403).await;
            assert_eq!(
                error,
                ApiError::NotAllowed("You cannot decide your own request; another approver must.".into())
            );
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn approvals_are_paged_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    // One person fills more than a page, beyond the default cap on pending requests.
    let server = TestServer::start_with(&dir, |config| config.requests.max_pending_per_person = 30).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    for n in 0..27 {
        submit_ok(&alice, &server, &form(&format!("ns-{n:02}"))).await;
    }
    let page = async |n: u32| -> Page<ApprovalItem> {
        post(&bob, &server, "requests/pending", &[("page", n.to_string())]).await.json().await.unwrap()
    };
    let (first, second) = (page(1).await, page(2).await);
    assert_eq!((first.items.len(), second.items.len(), first.total, first.count()), (25, 2, 27, 2));
    assert_eq!(first.items[0].request.namespace, "ns-00");
    assert_eq!(second.items[1].request.namespace, "ns-26");
    assert!(page(99).await.items.is_empty(), "beyond the last page: empty, not an error");
    let html = bob.get(&server.url("/approvals?page=2")).await.text().await.unwrap();
    assert!(html.contains("Page 2 of 2 · 27 pending"), "{html}");
    assert!(html.contains("ns-26") && !html.contains("ns-00"), "page 2 only");

    // The page's own links name the neighbouring request (keyset), and lead to the same pages.
    let link = |html: &str, rel: &str| -> String {
        let at = html.find(&format!("rel=\"{rel}\"")).unwrap_or_else(|| panic!("a {rel} link: {html}"));
        let tag = &html[html[..at].rfind("<a").unwrap()..at];
        let href = tag.split("href=\"").nth(1).unwrap().split('"').next().unwrap();
        href.replace("&amp;", "&")
    };
    let first_html = bob.get(&server.url("/approvals")).await.text().await.unwrap();
    let next = link(&first_html, "next");
    assert_eq!(next, format!("/approvals?after={}&page=2", first.items[24].request.id));
    let next_html = bob.get(&server.url(&next)).await.text().await.unwrap();
    assert!(next_html.contains("Page 2 of 2 · 27 pending"), "{next_html}");
    assert!(next_html.contains("ns-25") && next_html.contains("ns-26") && !next_html.contains("ns-24"), "page 2");
    let previous = link(&next_html, "prev");
    assert_eq!(previous, "/approvals?page=1", "the first page needs no neighbour");
    server.stop().await;
}

#[tokio::test]
async fn one_person_s_pending_requests_are_capped_and_a_decision_frees_a_place() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| config.requests.max_pending_per_person = 2).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let first = submit_ok(&alice, &server, &form("capped-1")).await;
    submit_ok(&alice, &server, &form("capped-2")).await;
    let response = post(&alice, &server, "requests/submit", &form("capped-3")).await;
    let error = refusal(response, 409).await;
    assert_eq!(
        error.to_string(),
        "You have 2 requests waiting for a decision, the most one person may have at once (2). Cancel one you no \
         longer need, or wait until an approver decides; nothing was stored."
    );
    let bob = Browser::signed_in(&server, "bob").await;
    assert_eq!(post(&bob, &server, "requests/submit", &form("capped-3")).await.status(), 200, "per person");
    let pending: Page<ApprovalItem> =
        post(&bob, &server, "requests/pending", &[("page", "1".to_string())]).await.json().await.unwrap();
    assert_eq!(pending.total, 3, "alice's third was not stored");
    let response = post(&alice, &server, "requests/cancel", &[("id", first)]).await;
    assert_eq!(response.status(), 200);
    submit_ok(&alice, &server, &form("capped-4")).await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------------------
// The cluster and the webhook.

#[tokio::test]
async fn an_unreachable_cluster_refuses_the_submission_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The real kubeconfig, pointed at a port where nothing listens.
    let text = std::fs::read_to_string(berth_kubeconfig()).unwrap();
    let mut kubeconfig: serde_json::Value = kubeconfig_as_json(&text);
    kubeconfig["clusters"][0]["cluster"]["server"] = serde_json::json!("https://127.0.0.1:9");
    let path = dir.path().join("unreachable.kubeconfig");
    std::fs::write(&path, serde_json::to_string(&kubeconfig).unwrap()).unwrap();

    let server = TestServer::start_with(&dir, |config| config.cluster.kubeconfig = Some(path)).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let error = refusal(post(&alice, &server, "requests/submit", &form("team-a")).await, 503).await;
    assert!(
        matches!(&error, ApiError::Unavailable(message) if message.contains("could not reach the cluster") && message.contains("nothing was stored")),
        "{error:?}"
    );
    assert_eq!(mine(&alice, &server).await.total, 0);
    server.stop().await;
}

/// A kubeconfig (YAML, read by kube's own parser) as JSON, to edit; JSON is YAML, so it is written back as is.
fn kubeconfig_as_json(text: &str) -> serde_json::Value {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(text).unwrap();
    serde_json::to_value(kubeconfig).unwrap()
}

/// A real HTTP server on loopback that plays the chat system's incoming webhook: it refuses the first
/// `failures` posts with 500, can hold answers until released, and records every body.
struct WebhookReceiver {
    url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    release: Arc<tokio::sync::Semaphore>,
}

impl WebhookReceiver {
    async fn start(failures: usize, held: bool) -> Self {
        use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(tokio::sync::Semaphore::new(if held { 0 } else { 1_000 }));
        let state = (bodies.clone(), release.clone(), Arc::new(std::sync::atomic::AtomicUsize::new(0)));
        type Shared =
            (Arc<Mutex<Vec<serde_json::Value>>>, Arc<tokio::sync::Semaphore>, Arc<std::sync::atomic::AtomicUsize>);
        let app = Router::new()
            .route(
                "/hook/secret-token",
                post(move |State((bodies, release, calls)): State<Shared>, Json(body): Json<serde_json::Value>| async move {
                    let _permit = release.acquire().await.unwrap();
                    let call = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if call < failures {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    bodies.lock().unwrap().push(body);
                    StatusCode::OK
                }),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook/secret-token", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, bodies, release }
    }

    /// Waits (bounded) until `count` bodies have arrived; returns their texts.
    async fn texts(&self, count: usize) -> Vec<String> {
        crate::support::eventually(Duration::from_secs(5), &format!("{count} notifications at the webhook"), || async {
            let texts: Vec<String> =
                self.bodies.lock().unwrap().iter().map(|b| b["text"].as_str().unwrap().to_string()).collect();
            if texts.len() >= count { Ok(texts) } else { Err(format!("{texts:?}")) }
        })
        .await
    }
}

#[tokio::test]
async fn submissions_and_decisions_are_announced_and_a_failing_webhook_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(2, false).await;
    let url = receiver.url.clone();
    let server = TestServer::start_with(&dir, move |config| {
        config.notifications.webhook_url = Some(url.into());
        config.notifications.initial_backoff_ms = 20;
    })
    .await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let id = submit_ok(&alice, &server, &form("team-a-ci")).await;
    let link = format!("<{}/requests/{id}|team-a-ci>", server.base);
    let texts = receiver.texts(1).await;
    assert!(texts[0].starts_with(&format!("Alice Anders requested namespace {link}")), "{}", texts[0]);

    let response = post(&bob, &server, "requests/deny", &[("id", id), ("reason", "Use <team-b> & co".into())]).await;
    assert_eq!(response.status(), 200);
    let texts = receiver.texts(2).await;
    assert_eq!(
        texts[1],
        format!("Bob Berg denied namespace {link}, requested by Alice Anders: Use &lt;team-b&gt; &amp; co")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_webhook_that_hangs_never_delays_the_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(0, true).await;
    let url = receiver.url.clone();
    let server = TestServer::start_with(&dir, move |config| config.notifications.webhook_url = Some(url.into())).await;
    let alice = Browser::signed_in(&server, "alice").await;
    // The receiver answers nothing until released, yet the submission completes.
    submit_ok(&alice, &server, &form("team-a")).await;
    assert!(receiver.bodies.lock().unwrap().is_empty(), "the webhook has not answered yet");
    receiver.release.add_permits(1_000);
    receiver.texts(1).await;
    server.stop().await;
}

#[tokio::test]
async fn a_name_reserved_after_the_submission_is_refused_at_approval_and_at_provisioning() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let pending = submit_ok(&alice, &server, &form("late-pending")).await;
    let approved = submit_ok(&alice, &server, &form("late-approved")).await;
    assert_eq!(post(&bob, &server, "requests/approve", &[("id", approved.clone())]).await.status(), 200);
    server.stop().await;

    // The operator reserves `late-*` and restarts Berth (with its worker) before anyone decides the other.
    let server = TestServer::start_with(&dir, |config| {
        config.requests.reserved_names.push("late-*".to_string());
        config.provisioning.enabled = true;
        config.provisioning.poll_seconds = 1;
    })
    .await;
    let bob = Browser::signed_in(&server, "bob").await;
    let error = refusal(post(&bob, &server, "requests/approve", &[("id", pending.clone())]).await, 403).await;
    assert_eq!(
        error.to_string(),
        "The name 'late-pending' is no longer allowed: Names like 'late-*' are reserved in this installation. It \
         cannot be approved; deny it with that reason."
    );
    let alice = Browser::signed_in(&server, "alice").await;
    assert_eq!(detail(&alice, &server, &pending).await.request.state, RequestState::Pending, "nothing changed");
    let failed = crate::grants::wait_for(&alice, &server, &approved, RequestState::Failed).await;
    assert_eq!(
        failed.request.last_error.as_deref(),
        Some("The name 'late-approved' is no longer allowed: Names like 'late-*' are reserved in this installation."),
        "the reason is on the request"
    );
    let namespaces = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(crate::cluster::admin().await);
    assert!(namespaces.get_opt("late-approved").await.unwrap().is_none(), "nothing was created in the cluster");
    server.stop().await;
}
