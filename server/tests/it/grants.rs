//! From approval to a working kubeconfig, against the real local control plane with Berth's own
//! least-privilege credential: the provisioning worker (both Helm modes, crash and restart, a cluster that
//! refuses, an admin's retry) and the kubeconfig download (used with `kubectl` as a user would, and every
//! way of asking for one that must be refused).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use app::error::ApiError;
use app::requests::{Action, RequestDetail, RequestState};
use berth_server::config::{DatabaseConfig, QuotaProfile, RequestsConfig};
use berth_server::store::Store;
use berth_server::store::requests::Transition;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use tempfile::TempDir;

use crate::cluster::{admin, delete_namespace, unique};
use crate::requests::{detail, form, post, refusal, submit_ok, with};
use crate::support::{Browser, TestServer, eventually, run};

pub(crate) const IDENTITIES: &str = "berth-identities";

/// A server whose provisioning worker runs, with a short lease so a restart takes up a request quickly.
async fn server_with_worker(dir: &TempDir) -> TestServer {
    TestServer::start_with(dir, |config| {
        config.provisioning.enabled = true;
        config.provisioning.lease_seconds = 1;
        config.provisioning.poll_seconds = 1;
    })
    .await
}

/// The same database the server in `dir` uses, for what pages cannot show (and to break things).
pub(crate) async fn store_of(dir: &TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("db/berth.db").display());
    Store::open(&DatabaseConfig { url, max_connections: 2 }).await.unwrap()
}

/// alice requests `namespace` (Helm `helm_mode`) and bob approves; returns the request's id.
pub(crate) async fn approved(server: &TestServer, alice: &Browser, namespace: &str, helm_mode: &str) -> String {
    let id = submit_ok(alice, server, &with(form(namespace), "helm_mode", helm_mode)).await;
    let bob = Browser::signed_in(server, "bob").await;
    let response = post(&bob, server, "requests/approve", &[("id", id.clone())]).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    id
}

/// Polls the request's page data until it reaches `state` (at most 30 s).
pub(crate) async fn wait_for(browser: &Browser, server: &TestServer, id: &str, state: RequestState) -> RequestDetail {
    wait_for_within(browser, server, id, state, Duration::from_secs(30)).await
}

/// Polls the request's page data until it reaches `state`, for at most `within`.
pub(crate) async fn wait_for_within(
    browser: &Browser,
    server: &TestServer,
    id: &str,
    state: RequestState,
    within: Duration,
) -> RequestDetail {
    eventually(within, &format!("request {id} {state:?}"), || async {
        let now = detail(browser, server, id).await;
        if now.request.state == state {
            Ok(now)
        } else {
            Err(format!("{:?}, last error {:?}", now.request.state, now.request.last_error))
        }
    })
    .await
}

/// Every object labelled with the request, as `Kind name` (namespaced ones as `Kind ns/name`), sorted.
pub(crate) fn objects_of(request_id: &str) -> Vec<String> {
    let selector = format!("berth.dev/request={request_id}");
    let output = kubectl_admin(&[
        "get",
        "namespaces,resourcequotas,limitranges,networkpolicies,serviceaccounts,rolebindings,deployments",
        "--all-namespaces",
        "-l",
        &selector,
        "-o",
        "jsonpath={range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}",
    ]);
    let mut objects: Vec<String> =
        output.lines().filter(|l| !l.is_empty()).map(|l| without_person_id(&l.replace(" /", " "))).collect();
    objects.sort();
    objects
}

/// `…person.alice.<users.id>` as `…person.alice.*`: the tests know the person by name, not by Berth's id.
fn without_person_id(line: &str) -> String {
    match line.find(".person.") {
        Some(at) => {
            let slug_starts = at + ".person.".len();
            let slug_ends = line[slug_starts..].find('.').map_or(line.len(), |end| slug_starts + end);
            format!("{}.*", &line[..slug_ends])
        }
        None => line.to_string(),
    }
}

/// The name of `person`'s identity ServiceAccount for the grant of `namespace` (`team-a.person.alice.<id>`).
pub(crate) fn identity_of(namespace: &str, person: &str) -> String {
    let selector = format!("berth.dev/namespace={namespace},berth.dev/person");
    let names = kubectl_admin(&["get", "serviceaccounts", "-n", IDENTITIES, "-l", &selector, "-o", "name"]);
    let prefix = format!("serviceaccount/{namespace}.person.{person}.");
    let found: Vec<&str> = names.lines().filter(|name| name.starts_with(&prefix)).collect();
    assert_eq!(found.len(), 1, "{person}'s identity for {namespace} among {names:?}");
    found[0].trim_start_matches("serviceaccount/").to_string()
}

/// The one object Berth changes without owning it: the namespace's `default` ServiceAccount mounts no token.
fn assert_default_account_mounts_nothing(namespace: &str) {
    let jsonpath = "jsonpath={.automountServiceAccountToken}";
    let automount = kubectl_admin(&["get", "serviceaccount", "default", "-n", namespace, "-o", jsonpath]);
    assert_eq!(automount, "false", "{namespace}");
}

pub(crate) fn kubectl_admin(args: &[&str]) -> String {
    let output = crate::support::kubectl_admin_command().args(args).output().unwrap();
    assert!(output.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Runs kubectl with `kubeconfig`, as a user would; (succeeded, stdout + stderr).
pub(crate) fn kubectl_as(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    run(Command::new(crate::support::cluster_bin().join("kubectl")).arg("--kubeconfig").arg(kubeconfig).args(args))
}

pub(crate) fn expected_objects(namespace: &str, tiller: bool) -> Vec<String> {
    let mut objects = vec![
        format!("Namespace {namespace}"),
        format!("ResourceQuota {namespace}/berth-quota"),
        format!("LimitRange {namespace}/berth-limits"),
        format!("NetworkPolicy {namespace}/berth-default"),
        // (The `default` ServiceAccount is the namespace's: Berth sets only its automount, and labels it to
        // watch it.)
        format!("ServiceAccount {namespace}/default"),
        format!("ServiceAccount {IDENTITIES}/{namespace}.person.alice.*"),
    ];
    if tiller {
        objects.extend([
            format!("ServiceAccount {namespace}/tiller"),
            format!("RoleBinding {namespace}/tiller-edit"),
            format!("NetworkPolicy {namespace}/tiller-deny-ingress"),
            format!("Deployment {namespace}/tiller-deploy"),
        ]);
    }
    objects.push(format!("RoleBinding {namespace}/berth.person.alice.*"));
    objects.sort();
    objects
}

pub(crate) async fn clean_up(namespace: &str) {
    let admin = admin().await;
    delete_namespace(&admin, namespace).await;
    let identities = format!("berth.dev/namespace={namespace}");
    kubectl_admin(&["delete", "serviceaccounts", "-n", IDENTITIES, "-l", &identities, "--ignore-not-found"]);
}

// ---------------------------------------------------------------------------------------------------------
// Provisioning.

#[tokio::test]
async fn an_approved_request_becomes_ready_with_exactly_its_objects_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_worker(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    for (helm_mode, tiller, count) in [("none", false, 7), ("tiller", true, 11)] {
        let namespace = unique("grant");
        let id = approved(&server, &alice, &namespace, helm_mode).await;
        let ready = wait_for(&alice, &server, &id, RequestState::Ready).await;

        let progress = ready.request.progress.expect("progress recorded");
        assert_eq!((progress.applied, progress.total), (count, count), "{helm_mode}");
        assert_eq!(ready.request.last_error, None);
        let (ready_at, expires_at) = (ready.request.ready_at.unwrap(), ready.request.expires_at.unwrap());
        assert_eq!(expires_at - ready_at, chrono::TimeDelta::days(30), "the lifetime counts from ready");
        let actions: Vec<(Action, Option<&str>)> =
            ready.events.iter().map(|e| (e.action, e.actor.as_deref())).collect();
        assert_eq!(
            actions,
            [
                (Action::Submit, Some("Alice Anders")),
                (Action::Approve, Some("Bob Berg")),
                (Action::StartProvisioning, None),
                (Action::MarkReady, None),
            ],
            "{helm_mode}: each step once, Berth's own steps by Berth"
        );
        assert!(ready.may.download, "alice may download now");
        assert_eq!(objects_of(&id), expected_objects(&namespace, tiller), "{helm_mode}");
        assert_default_account_mounts_nothing(&namespace);
        clean_up(&namespace).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_crash_between_two_objects_converges_after_a_restart_and_is_marked_ready_once() {
    let dir = tempfile::tempdir().unwrap();
    // The worker's steps done by hand, up to a crash: provisioning started, three objects applied, the lease
    // held by a worker that is gone.
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("crash");
    let id = approved(&server, &alice, &namespace, "tiller").await;
    server.stop().await;

    let store = store_of(&dir).await;
    let record = store.request(&id).await.unwrap().unwrap();
    let started = Transition {
        request_id: &id,
        version: record.version,
        from: RequestState::Approved,
        to: RequestState::Provisioning,
        action: Action::StartProvisioning,
        actor_id: None,
        reason: None,
        at: chrono::Utc::now(),
        expires_at: None,
    };
    assert!(store.apply(&started).await.unwrap());
    let record = store.request(&id).await.unwrap().unwrap();
    let now = chrono::Utc::now();
    assert!(store.claim(&record, now, now + chrono::TimeDelta::milliseconds(500)).await.unwrap());
    let profile = RequestsConfig::default().quota_profiles.into_iter().find(|p| p.name == "small").unwrap();
    let grant = berth_server::cluster::manifests::Grant {
        of: berth_server::cluster::manifests::GrantRef {
            request_id: &id,
            namespace: &namespace,
            owner_id: &record.requester_id,
            owner_hint: record.summary.requester.email.as_deref().unwrap_or(&record.summary.requester.display_name),
            helm_mode: app::requests::HelmMode::Tiller,
        },
        profile: &profile,
    };
    let berth = crate::provisioning::berth_cluster().await;
    for object in berth_server::cluster::manifests::objects(&grant, &Default::default()).iter().take(3) {
        berth.apply(object).await.unwrap();
    }
    assert_eq!(objects_of(&id).len(), 3, "crashed after three objects");

    // Started again: it waits out the dead worker's lease, then converges.
    let server = server_with_worker(&dir).await;
    let ready = wait_for(&alice_again(&server).await, &server, &id, RequestState::Ready).await;
    assert_eq!(objects_of(&id), expected_objects(&namespace, true));
    assert_default_account_mounts_nothing(&namespace);
    let marked_ready = ready.events.iter().filter(|e| e.action == Action::MarkReady).count();
    let started = ready.events.iter().filter(|e| e.action == Action::StartProvisioning).count();
    assert_eq!((started, marked_ready), (1, 1), "no step done twice");

    // And a server killed at whatever point it had reached converges too.
    let namespace = unique("killed");
    let id = approved(&server, &alice_again(&server).await, &namespace, "none").await;
    server.stop().await;
    let server = server_with_worker(&dir).await;
    wait_for(&alice_again(&server).await, &server, &id, RequestState::Ready).await;
    assert_eq!(objects_of(&id), expected_objects(&namespace, false));
    server.stop().await;
    clean_up(&namespace).await;
    clean_up(grant.namespace).await;
}

async fn alice_again(server: &TestServer) -> Browser {
    Browser::signed_in(server, "alice").await
}

#[tokio::test]
async fn a_namespace_someone_else_created_meanwhile_fails_the_request_and_an_admin_retries_after_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_worker(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("taken");
    let id = submit_ok(&alice, &server, &form(&namespace)).await;
    // Between the request and its approval, someone creates the namespace by hand.
    let namespaces = Api::<Namespace>::all(admin().await);
    let theirs: Namespace = serde_json::from_value(json!({ "metadata": { "name": namespace } })).unwrap();
    namespaces.create(&PostParams::default(), &theirs).await.unwrap();
    let bob = Browser::signed_in(&server, "bob").await;
    assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);

    let failed = wait_for(&alice, &server, &id, RequestState::Failed).await;
    let error = failed.request.last_error.expect("the reason is shown");
    assert!(error.contains("already exists in the cluster and was not created for this request"), "{error}");
    let taken = namespaces.get(&namespace).await.unwrap();
    assert!(!taken.metadata.labels.unwrap_or_default().contains_key("berth.dev/request"), "left alone");
    assert!(!failed.may.download && !failed.may.retry, "alice may do neither");

    // Only an admin retries.
    for (who, status) in [("alice", 403), ("bob", 403)] {
        let caller = Browser::signed_in(&server, who).await;
        let response = post(&caller, &server, "requests/retry", &[("id", id.clone())]).await;
        assert_eq!(response.status(), status, "{who}");
    }
    let carol = Browser::signed_in(&server, "carol").await;
    assert!(detail(&carol, &server, &id).await.may.retry);
    namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
    // The namespace controller finishes deleting it; a retry before that is retried by the worker.
    let response = post(&carol, &server, "requests/retry", &[("id", id.clone())]).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let ready = wait_for(&alice, &server, &id, RequestState::Ready).await;
    assert_eq!(objects_of(&id), expected_objects(&namespace, true));
    let retry = ready.events.iter().find(|e| e.action == Action::Retry).expect("in the history");
    assert_eq!(retry.actor.as_deref(), Some("Carol Castro"));
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn an_object_the_api_server_rejects_fails_the_request_with_the_api_server_s_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut broken = RequestsConfig::default().quota_profiles.remove(0);
    broken.name = "broken".to_string();
    broken.quota.insert("pods".to_string(), "-1".to_string());
    let server = TestServer::start_with(&dir, |config| {
        config.provisioning.enabled = true;
        config.requests.quota_profiles.push(QuotaProfile { ..broken });
    })
    .await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("rejected");
    let id =
        submit_ok(&alice, &server, &with(with(form(&namespace), "quota_profile", "broken"), "helm_mode", "none")).await;
    let bob = Browser::signed_in(&server, "bob").await;
    assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);

    let failed = wait_for(&alice, &server, &id, RequestState::Failed).await;
    let error = failed.request.last_error.unwrap();
    assert!(error.starts_with(&format!("The cluster refused ResourceQuota {namespace}/berth-quota (422)")), "{error}");
    assert!(error.contains("must be greater than or equal to 0"), "the API server's own words: {error}");
    let event = failed.events.iter().find(|e| e.action == Action::MarkFailed).unwrap();
    assert_eq!(event.reason.as_deref(), Some(error.as_str()), "in the history too");
    assert!(!failed.may.download);
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// Kubeconfigs.

/// Posts the download form as a script would (JSON errors).
pub(crate) async fn download(
    browser: &Browser,
    server: &TestServer,
    id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .http
        .post(server.url(&format!("/requests/{id}/kubeconfig")))
        .header("origin", &server.base)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// A ready grant of alice's: (server, alice, id, namespace).
pub(crate) async fn ready_grant(dir: &TempDir, helm_mode: &str) -> (TestServer, Browser, String, String) {
    let server = server_with_worker(dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("kc");
    let id = approved(&server, &alice, &namespace, helm_mode).await;
    wait_for(&alice, &server, &id, RequestState::Ready).await;
    (server, alice, id, namespace)
}

/// The contents of every file of the SQLite database in `folder` (the database, its WAL and shared memory),
/// read as one scan. SQLite may still be folding the WAL into the database and deleting it as the last
/// connection closes, so a scan that finds a file gone is done again, until one reads every file it lists.
pub(crate) async fn database_files(folder: &Path) -> Vec<Vec<u8>> {
    eventually(Duration::from_secs(5), &format!("one whole scan of {}", folder.display()), || async {
        let scan: std::io::Result<Vec<Vec<u8>>> =
            std::fs::read_dir(folder).unwrap().map(|entry| std::fs::read(entry?.path())).collect();
        match scan {
            Ok(contents) => Ok(contents),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(format!("a file went: {error}")),
            Err(error) => panic!("reading {}: {error}", folder.display()),
        }
    })
    .await
}

fn anchors_of(request_id: &str) -> usize {
    let selector = format!("berth.dev/request={request_id}");
    kubectl_admin(&["get", "secrets", "-n", IDENTITIES, "-l", &selector, "-o", "name"]).lines().count()
}

#[tokio::test]
async fn the_downloaded_kubeconfig_works_in_its_namespace_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;

    let response =
        download(&alice, &server, &id, &[("purpose", "ci"), ("name", "jenkins-prod"), ("lifetime_hours", "48")]).await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_string();
    assert_eq!(header("content-disposition"), format!("attachment; filename=\"{namespace}-jenkins-prod.kubeconfig\""));
    assert_eq!(header("cache-control"), "no-store");
    let text = response.text().await.unwrap();
    let file = dir.path().join("jenkins.kubeconfig");
    std::fs::write(&file, &text).unwrap();

    // As Jenkins would use it: allowed in the namespace...
    let (ok, out) = kubectl_as(&file, &["create", "deployment", "web", "--image=registry.example/web:1"]);
    assert!(ok && out.contains("deployment.apps/web created"), "{out}");
    let (ok, out) = kubectl_as(&file, &["get", "pods"]);
    assert!(ok, "{out}");
    let (ok, out) = kubectl_as(&file, &["config", "view", "--minify", "-o", "jsonpath={..namespace}"]);
    assert!(ok && out == namespace, "the context's namespace: {out}");
    // ...and refused everywhere else.
    for args in [
        vec!["get", "namespaces"],
        vec!["get", "secrets", "-n", "kube-system"],
        vec!["create", "configmap", "x", "-n", "default"],
        vec!["create", "serviceaccount", "x", "-n", IDENTITIES],
    ] {
        let (ok, out) = kubectl_as(&file, &args);
        assert!(!ok && out.to_lowercase().contains("forbidden"), "kubectl {args:?} must be forbidden: {out}");
    }

    // Its metadata is on the page; the token is in neither the page data nor the database.
    let shown = detail(&alice, &server, &id).await;
    let [credential] = shown.credentials.as_slice() else { panic!("{:?}", shown.credentials) };
    assert_eq!((credential.name.as_str(), credential.owner.as_str()), ("jenkins-prod", "Alice Anders"));
    let lifetime = credential.expires_at - credential.issued_at;
    assert!((lifetime - chrono::TimeDelta::hours(48)).num_seconds().abs() < 60, "{lifetime}");
    let token = text.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap().to_string();
    assert!(token.len() > 100, "a real token");
    assert!(!serde_json::to_string(&shown).unwrap().contains(&token));
    server.stop().await;
    for bytes in database_files(&dir.path().join("db")).await {
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "the token is not stored");
    }
    assert_eq!(anchors_of(&id), 1, "one anchor per credential");
    clean_up(&namespace).await;
}

#[tokio::test]
async fn a_tiller_kubeconfig_reaches_tiller_and_tokens_minted_inside_cannot_reach_the_identities() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "tiller").await;
    let response = download(&alice, &server, &id, &[("purpose", "personal"), ("lifetime_hours", "8")]).await;
    assert_eq!(response.status(), 200);
    let file = dir.path().join("personal.kubeconfig");
    std::fs::write(&file, response.text().await.unwrap()).unwrap();

    let can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        let (_, out) = kubectl_as(&file, &all);
        out.trim().to_string()
    };
    assert_eq!(can(&["list", "pods"]), "yes");
    assert_eq!(can(&["create", "pods", "--subresource=portforward"]), "yes");
    assert_eq!(can(&["create", "deployments"]), "no", "deploys go through Tiller");
    assert_eq!(can(&["list", "pods", "-n", "default"]), "no");

    // Tiller's ServiceAccount deploys in its namespace only and cannot change its quota.
    let tiller = format!("system:serviceaccount:{namespace}:tiller");
    let admin_can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i", "--as", &tiller];
        all.extend_from_slice(args);
        let output = crate::support::kubectl_admin_command().args(&all).output().unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    assert_eq!(admin_can(&["create", "deployments", "-n", &namespace]), "yes");
    assert_eq!(admin_can(&["create", "deployments", "-n", "default"]), "no");
    assert_eq!(admin_can(&["patch", "resourcequotas", "-n", &namespace]), "no");

    // A token minted for a ServiceAccount inside the namespace (anyone with write access there could) gets
    // nowhere near the identities namespace, where the requester's identity and its anchors live.
    let inside = kubectl_admin(&["create", "token", "tiller", "-n", &namespace, "--duration=10m"]);
    let inside_file = dir.path().join("inside.kubeconfig");
    std::fs::copy(&file, &inside_file).unwrap();
    let user = format!("berth-{namespace}");
    let (ok, out) =
        kubectl_as(&inside_file, &["config", "set-credentials", &user, &format!("--token={}", inside.trim())]);
    assert!(ok, "{out}");
    for args in [
        vec!["get", "secrets", "-n", IDENTITIES],
        vec!["create", "token", &identity_of(&namespace, "alice"), "-n", IDENTITIES],
    ] {
        let (ok, out) = kubectl_as(&inside_file, &args);
        assert!(!ok && out.to_lowercase().contains("forbidden"), "kubectl {args:?}: {out}");
    }
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn downloads_that_must_be_refused_are_refused_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let ok_fields = [("purpose", "personal"), ("lifetime_hours", "8")];
    let problems = |error: ApiError| match error {
        ApiError::Invalid(problems) => problems.into_iter().map(|p| (p.field, p.message)).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };

    // Out of bounds, malformed, hostile.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 8] = [
        (
            &[("purpose", "personal"), ("lifetime_hours", "25")],
            "lifetime_hours",
            "Between 1 and 24 (1 day) for a Personal kubeconfig.",
        ),
        (&[("purpose", "personal"), ("lifetime_hours", "0")], "lifetime_hours", "Between 1 and 24"),
        (
            &[("purpose", "ci"), ("name", "jenkins"), ("lifetime_hours", "2161")],
            "lifetime_hours",
            "Between 1 and 2160 (90 days) for a CI kubeconfig.",
        ),
        (&[("purpose", "personal"), ("lifetime_hours", "eight")], "lifetime_hours", "Enter a whole number of hours."),
        (&[("purpose", "ci"), ("lifetime_hours", "8")], "name", "Name the robot"),
        (&[("purpose", "ci"), ("name", "<script>"), ("lifetime_hours", "8")], "name", "'<' is not allowed"),
        (&[("purpose", "admin"), ("lifetime_hours", "8")], "purpose", "Choose who will use it"),
        // The grant lasts 30 days: no kubeconfig outlives it.
        (
            &[("purpose", "ci"), ("name", "jenkins"), ("lifetime_hours", "2000")],
            "lifetime_hours",
            "a kubeconfig cannot outlive it",
        ),
    ];
    for (fields, field, says) in cases {
        let error = refusal(download(&alice, &server, &id, fields).await, 422).await;
        let found = problems(error);
        assert!(found.iter().any(|(f, m)| f == field && m.contains(says)), "{fields:?}: {found:?}");
    }

    // Not hers: an approver and an admin are told; a developer cannot even tell it exists.
    for who in ["bob", "carol"] {
        let caller = Browser::signed_in(&server, who).await;
        let error = refusal(download(&caller, &server, &id, &ok_fields).await, 403).await;
        assert!(
            matches!(&error, ApiError::NotAllowed(m) if m.contains("Only the grant's owner and members can download")),
            "{who}: {error:?}"
        );
    }
    let carol = Browser::signed_in(&server, "carol").await;
    let carols = submit_ok(&carol, &server, &form(&unique("carols"))).await;
    assert_eq!(refusal(download(&alice, &server, &carols, &ok_fields).await, 404).await, ApiError::NotFound);
    assert_eq!(refusal(download(&alice, &server, "not-a-request", &ok_fields).await, 404).await, ApiError::NotFound);
    assert_eq!(download(&alice, &server, "..%2F..%2Fetc%2Fpasswd", &ok_fields).await.status(), 404);
    // Not signed in, without a Berth role, or from another site.
    assert_eq!(refusal(download(&Browser::new(), &server, &id, &ok_fields).await, 401).await, ApiError::SignInRequired);
    let dave = Browser::signed_in(&server, "dave").await;
    assert_eq!(refusal(download(&dave, &server, &id, &ok_fields).await, 403).await, ApiError::Forbidden);
    let cross_site = alice
        .http
        .post(server.url(&format!("/requests/{id}/kubeconfig")))
        .header("origin", "https://evil.example")
        .form(&ok_fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);

    // Not ready: still pending (carol's), and revoked.
    let mine = submit_ok(&alice, &server, &form(&unique("pending"))).await;
    let error = refusal(download(&alice, &server, &mine, &ok_fields).await, 409).await;
    assert!(
        matches!(&error, ApiError::Conflict(m) if m.contains("only while the namespace is ready; this request is pending")),
        "{error:?}"
    );
    let store = store_of(&dir).await;
    for (action, from, to) in [
        (Action::Revoke, RequestState::Ready, RequestState::Revoking),
        (Action::FinishRevocation, RequestState::Revoking, RequestState::Revoked),
    ] {
        let record = store.request(&id).await.unwrap().unwrap();
        let transition = Transition {
            request_id: &id,
            version: record.version,
            from,
            to,
            action,
            actor_id: None,
            reason: None,
            at: chrono::Utc::now(),
            expires_at: None,
        };
        assert!(store.apply(&transition).await.unwrap());
    }
    let error = refusal(download(&alice, &server, &id, &ok_fields).await, 409).await;
    assert!(matches!(&error, ApiError::Conflict(m) if m.contains("this request is revoked")), "{error:?}");

    // A browser's refusal is a page with the message and a way back, not JSON.
    let page = alice
        .http
        .post(server.url(&format!("/requests/{id}/kubeconfig")))
        .header("origin", &server.base)
        .header("accept", "text/html")
        .form(&[("purpose", "personal"), ("lifetime_hours", "<b>x</b>")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 409);
    let html = page.text().await.unwrap();
    assert!(html.contains("No kubeconfig was issued") && html.contains(&format!("href=\"/requests/{id}\"")), "{html}");

    // Nothing was issued by any of them.
    assert!(detail(&alice, &server, &id).await.credentials.is_empty());
    assert_eq!(anchors_of(&id), 0, "no anchor Secret left behind");
    let secrets = Api::<Secret>::namespaced(admin().await, IDENTITIES);
    let all = secrets.list(&ListParams::default().labels("berth.dev/owner")).await.unwrap();
    assert!(all.items.iter().all(|s| s.metadata.labels.as_ref().unwrap()["berth.dev/request"] != id));
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// Revoking a kubeconfig.

/// Downloads a CI kubeconfig named `name` and writes it to `dir/name.kubeconfig`; returns its path.
pub(crate) async fn kubeconfig_file(
    server: &TestServer,
    alice: &Browser,
    id: &str,
    dir: &Path,
    name: &str,
) -> std::path::PathBuf {
    let response = download(alice, server, id, &[("purpose", "ci"), ("name", name), ("lifetime_hours", "24")]).await;
    assert_eq!(response.status(), 200);
    let file = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&file, response.text().await.unwrap()).unwrap();
    file
}

#[tokio::test]
async fn a_revoked_kubeconfig_is_refused_within_seconds_while_another_of_the_grant_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let doomed = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins-old").await;
    let kept = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins-new").await;
    assert!(kubectl_as(&doomed, &["get", "pods"]).0, "works before");
    let credentials = detail(&alice, &server, &id).await.credentials;
    let doomed_id = credentials.iter().find(|c| c.name == "jenkins-old").unwrap().id.clone();

    // Who may revoke it: not an approver, not without a reason; its owner (or an admin) may, once.
    let bob = Browser::signed_in(&server, "bob").await;
    let refused = post(&bob, &server, "credentials/revoke", &[("id", doomed_id.clone()), ("reason", "x".into())]).await;
    assert_eq!(refused.status(), 403);
    let error = refusal(
        post(&alice, &server, "credentials/revoke", &[("id", doomed_id.clone()), ("reason", " ".into())]).await,
        422,
    )
    .await;
    assert!(error.problem_with("reason").is_some(), "{error:?}");
    assert_eq!(
        refusal(
            post(&alice, &server, "credentials/revoke", &[("id", "nope".into()), ("reason", "x".into())]).await,
            404
        )
        .await,
        ApiError::NotFound
    );

    let revoked_at = Instant::now();
    let reason = "The Jenkins host was rebuilt";
    let response =
        post(&alice, &server, "credentials/revoke", &[("id", doomed_id.clone()), ("reason", reason.into())]).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let again =
        post(&alice, &server, "credentials/revoke", &[("id", doomed_id.clone()), ("reason", reason.into())]).await;
    assert_eq!(again.status(), 409);

    // The API server refuses the token once it notices its anchor is gone.
    let refused_after = loop {
        let (ok, out) = kubectl_as(&doomed, &["get", "pods", "--request-timeout=5s"]);
        if !ok {
            assert!(out.contains("Unauthorized") || out.contains("must be logged in"), "{out}");
            break revoked_at.elapsed();
        }
        assert!(revoked_at.elapsed() < Duration::from_secs(15), "still accepted after 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("FIGURE revoked kubeconfig refused by the API server after {} ms", refused_after.as_millis());
    let (ok, out) = kubectl_as(&kept, &["get", "pods"]);
    assert!(ok, "the grant's other kubeconfig keeps working: {out}");

    // The owner sees who revoked it and why; its anchor is gone, the other's is not.
    let shown = detail(&alice, &server, &id).await.credentials;
    let doomed_now = shown.iter().find(|c| c.id == doomed_id).unwrap();
    assert_eq!(
        (doomed_now.revoked_by.as_deref(), doomed_now.revoke_reason.as_deref()),
        (Some("Alice Anders"), Some(reason))
    );
    assert!(shown.iter().find(|c| c.name == "jenkins-new").unwrap().revoked_at.is_none());
    assert_eq!(anchors_of(&id), 1);
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// Revoking a grant.

/// `kubectl auth can-i VERB RESOURCE -n NAMESPACE --as USER`, as an admin asks it.
pub(crate) fn can_i(user: &str, verb: &str, resource: &str, namespace: &str) -> bool {
    let output = crate::support::kubectl_admin_command()
        .args(["auth", "can-i", verb, resource, "-n", namespace, "--as", user])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "yes"
}

#[tokio::test]
async fn a_revoked_grant_refuses_every_kubeconfig_and_tokens_of_the_old_tiller_account() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "tiller").await;
    let first = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins-a").await;
    let second = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins-b").await;
    // A token anyone with write access in the namespace could have minted for Tiller's account earlier.
    let tiller_token = kubectl_admin(&["create", "token", "tiller", "-n", &namespace, "--duration=1h"]);
    let tiller_file = dir.path().join("tiller.kubeconfig");
    std::fs::copy(&first, &tiller_file).unwrap();
    let user = format!("berth-{namespace}-jenkins-a");
    assert!(
        kubectl_as(&tiller_file, &["config", "set-credentials", &user, &format!("--token={}", tiller_token.trim())]).0
    );
    for file in [&first, &second, &tiller_file] {
        assert!(kubectl_as(file, &["get", "pods"]).0, "{} works before", file.display());
    }
    // Something else that runs as `tiller` with its rights (say, a binding an admin added by hand for a CronJob
    // of the tenant's), and a binding of the identity under another name: both must go with the grant.
    let identity = format!("system:serviceaccount:{IDENTITIES}:ns-{namespace}");
    let tiller = format!("system:serviceaccount:{namespace}:tiller");
    kubectl_admin(&[
        "create",
        "rolebinding",
        "cron-as-tiller",
        "-n",
        &namespace,
        "--clusterrole=view",
        &format!("--serviceaccount={namespace}:tiller"),
    ]);
    kubectl_admin(&[
        "create",
        "rolebinding",
        "extra-for-identity",
        "-n",
        &namespace,
        "--clusterrole=view",
        &format!("--serviceaccount={IDENTITIES}:ns-{namespace}"),
        "--serviceaccount=kube-system:someone-else",
    ]);
    assert!(can_i(&tiller, "create", "deployments", &namespace) && can_i(&identity, "list", "pods", &namespace));

    // Only an admin revokes a grant, and says why.
    for who in ["alice", "bob"] {
        let caller = Browser::signed_in(&server, who).await;
        let response = post(&caller, &server, "requests/revoke", &[("id", id.clone()), ("reason", "x".into())]).await;
        assert_eq!(response.status(), 403, "{who}");
    }
    let carol = Browser::signed_in(&server, "carol").await;
    assert!(detail(&carol, &server, &id).await.may.revoke);
    let error =
        refusal(post(&carol, &server, "requests/revoke", &[("id", id.clone()), ("reason", "".into())]).await, 422)
            .await;
    assert!(error.problem_with("reason").is_some());
    let started = Instant::now();
    let reason = "The project ended";
    let response = post(&carol, &server, "requests/revoke", &[("id", id.clone()), ("reason", reason.into())]).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    let revoked = wait_for(&alice, &server, &id, RequestState::Revoked).await;
    println!(
        "FIGURE grant revoked (Tiller mode): access removed in the cluster after {} ms",
        started.elapsed().as_millis()
    );
    let events: Vec<_> = revoked.events.iter().rev().take(2).map(|e| (e.action, e.actor.clone())).collect();
    assert_eq!(
        events,
        [(Action::FinishRevocation, None), (Action::Revoke, Some("Carol Castro".to_string()))],
        "the owner sees who"
    );
    assert_eq!(revoked.events.iter().rev().nth(1).unwrap().reason.as_deref(), Some(reason), "and why");
    assert!(revoked.credentials.iter().all(|c| c.revoked_at.is_some()), "{:?}", revoked.credentials);
    assert!(!revoked.may.download && !revoked.may.revoke);

    // From the moment it is revoked the kubeconfigs and the old Tiller token may do nothing (every binding of
    // the identity and of `tiller` is gone: Forbidden), and within seconds their tokens are dead (identity,
    // anchors and Tiller's account gone: Unauthorized, once the API server's token cache lets go, about 10 s).
    for file in [&first, &second, &tiller_file] {
        loop {
            let (ok, out) = kubectl_as(file, &["get", "pods", "--request-timeout=5s"]);
            if out.contains("Unauthorized") || out.contains("must be logged in") {
                break;
            }
            assert!(!ok && out.contains("Forbidden"), "{} still allowed after the revocation: {out}", file.display());
            assert!(started.elapsed() < Duration::from_secs(15), "{} still authenticated after 15 s", file.display());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    println!(
        "FIGURE revoked grant: every kubeconfig and the old Tiller token unauthenticated after {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(anchors_of(&id), 0);
    for (user, verb, resource) in
        [(&identity, "list", "pods"), (&tiller, "create", "deployments"), (&tiller, "get", "pods")]
    {
        assert!(!can_i(user, verb, resource, &namespace), "{user} may still {verb} {resource}");
    }
    let replicas =
        kubectl_admin(&["get", "deployment", "tiller-deploy", "-n", &namespace, "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(replicas, "0", "Tiller is stopped, not restarted");
    let accounts = kubectl_admin(&["get", "serviceaccounts", "-n", &namespace, "-o", "name"]);
    assert!(!accounts.contains("serviceaccount/tiller"), "Tiller's account is gone: {accounts}");
    let bindings = kubectl_admin(&["get", "rolebindings", "-n", &namespace, "-o", "name"]);
    assert_eq!(bindings.trim(), "", "every binding of the identity and of tiller is gone, whatever its name");
    let note = revoked.events.last().unwrap().reason.clone().unwrap_or_default();
    assert!(
        note.contains("RoleBinding extra-for-identity (ServiceAccount kube-system/someone-else)"),
        "the history names the binding that bound someone else too: {note}"
    );
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// Expiry and lapsing, with the clock under the test's control.

/// A worker of the test's own over the database of the server in `dir` and the cluster (with Berth's
/// credential), with the default configuration; its one-pass methods take the time as a parameter.
async fn test_worker(dir: &TempDir) -> berth_server::workflow::worker::Worker {
    let config = berth_server::config::Config::default();
    let cluster = crate::provisioning::berth_cluster().await;
    berth_server::workflow::worker::Worker::standalone(store_of(dir).await, cluster, &config, Default::default())
        .unwrap()
}

#[tokio::test]
async fn a_request_nobody_decides_in_time_lapses_once_and_frees_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("lapsing");
    let id = submit_ok(&alice, &server, &form(&namespace)).await;
    let submitted = detail(&alice, &server, &id).await.request.created_at;
    let worker = test_worker(&dir).await;
    let ours = |ids: Vec<String>| ids.into_iter().filter(|x| *x == id).count();
    let days = chrono::TimeDelta::days;

    assert_eq!(ours(worker.lapse_due(submitted + days(13)).await.unwrap()), 0, "still within 14 days");
    assert_eq!(ours(worker.lapse_due(submitted + days(14) + chrono::TimeDelta::seconds(1)).await.unwrap()), 1);
    assert_eq!(ours(worker.lapse_due(submitted + days(15)).await.unwrap()), 0, "once");
    let lapsed = detail(&alice, &server, &id).await;
    assert_eq!(lapsed.request.state, RequestState::Lapsed);
    let last = lapsed.events.last().unwrap();
    assert_eq!(
        (last.action, last.actor.as_deref(), last.reason.as_deref()),
        (Action::Lapse, None, Some("Nobody decided this request within 14 days; its name is free again."))
    );
    let bob = Browser::signed_in(&server, "bob").await;
    let response = post(&bob, &server, "requests/approve", &[("id", id.clone())]).await;
    assert_eq!(response.status(), 409, "a lapsed request cannot be approved any more");
    submit_ok(&alice, &server, &form(&namespace)).await;
    server.stop().await;
}

#[tokio::test]
async fn a_grant_is_warned_of_its_end_once_then_expires_once_and_its_kubeconfig_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let file = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins").await;
    let ends = detail(&alice, &server, &id).await.request.expires_at.unwrap();
    assert!(!detail(&alice, &server, &id).await.request.expiry_warned);

    // A worker of the test's own over the same database and cluster, driven with a clock it sets.
    let worker = test_worker(&dir).await;
    let hours = chrono::TimeDelta::hours;
    let ours = |ids: Vec<String>| ids.into_iter().filter(|x| *x == id).count();

    let (warned, expired) = worker.expire_due(ends - hours(73)).await.unwrap();
    assert_eq!((ours(warned), ours(expired)), (0, 0), "too early for anything");
    let (warned, expired) = worker.expire_due(ends - hours(71)).await.unwrap();
    assert_eq!((ours(warned), ours(expired)), (1, 0), "warned 72 hours before");
    let (warned, _) = worker.expire_due(ends - hours(1)).await.unwrap();
    assert_eq!(ours(warned), 0, "warned once");
    assert!(detail(&alice, &server, &id).await.request.expiry_warned, "the page says so");
    assert!(kubectl_as(&file, &["get", "pods"]).0, "still works until the end");

    let (_, expired) = worker.expire_due(ends + chrono::TimeDelta::seconds(1)).await.unwrap();
    assert_eq!(ours(expired), 1);
    let (_, expired) = worker.expire_due(ends + hours(1)).await.unwrap();
    assert_eq!(ours(expired), 0, "expired once");
    // Either worker may finish it (the server's own polls too); exactly one does.
    worker.revoke_due().await.unwrap();
    let over = wait_for(&alice, &server, &id, RequestState::Expired).await;
    assert_eq!(over.events.iter().filter(|e| e.action == Action::FinishExpiry).count(), 1);
    let tail: Vec<_> = over.events.iter().rev().take(2).map(|e| (e.action, e.actor.clone())).collect();
    assert_eq!(tail, [(Action::FinishExpiry, None), (Action::Expire, None)]);
    assert!(
        over.events.iter().any(|e| e.reason.as_deref().is_some_and(|r| r.starts_with("The grant's lifetime ended")))
    );
    assert!(over.credentials.iter().all(|c| c.revoke_reason.as_deref() == Some("the grant expired")));
    let (ok, out) = kubectl_as(&file, &["get", "pods"]);
    assert!(!ok, "refused after expiry: {out}");
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// Deleting a namespace.

async fn ask_deletion(
    carol: &Browser,
    server: &TestServer,
    id: &str,
    confirm: &str,
    reason: &str,
) -> reqwest::Response {
    let args = [("id", id.to_string()), ("confirm", confirm.to_string()), ("reason", reason.to_string())];
    post(carol, server, "admin/delete_namespace", &args).await
}

/// Polls until the worker has recorded the namespace's deletion (at most 30 s).
async fn wait_for_deletion(browser: &Browser, server: &TestServer, id: &str) -> RequestDetail {
    eventually(Duration::from_secs(30), "the namespace's deletion recorded", || async {
        let now = detail(browser, server, id).await;
        if now.request.namespace_deletion.is_some_and(|d| d.deleted_at.is_some()) {
            Ok(now)
        } else {
            Err(format!("{:?}", now.request))
        }
    })
    .await
}

#[tokio::test]
async fn an_admin_deletes_a_namespace_after_typing_its_name_and_its_access_goes_first() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "tiller").await;
    let file = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins").await;
    // (In Tiller mode the identity may find Tiller's pod, nothing more.)
    assert!(kubectl_as(&file, &["get", "pods"]).0, "works before");
    let carol = Browser::signed_in(&server, "carol").await;

    // Only an admin, only with the name typed again and a reason; a refusal changes nothing.
    assert_eq!(ask_deletion(&alice, &server, &id, &namespace, "mine").await.status(), 403);
    let bob = Browser::signed_in(&server, "bob").await;
    assert_eq!(ask_deletion(&bob, &server, &id, &namespace, "tidy").await.status(), 403);
    let error = refusal(ask_deletion(&carol, &server, &id, &format!("{namespace}x"), " ").await, 422).await;
    assert!(error.problem_with("confirm").is_some() && error.problem_with("reason").is_some(), "{error:?}");
    assert_eq!(
        refusal(ask_deletion(&carol, &server, "not-an-id", &namespace, "x").await, 404).await,
        ApiError::NotFound
    );
    let unchanged = detail(&carol, &server, &id).await;
    assert_eq!(unchanged.request.state, RequestState::Ready);
    assert!(unchanged.may.delete_namespace && unchanged.request.namespace_deletion.is_none());
    assert!(kubectl_as(&file, &["get", "pods"]).0, "still works");

    let asked = Instant::now();
    let response = ask_deletion(&carol, &server, &id, &namespace, "The team moved to the shared cluster").await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(ask_deletion(&carol, &server, &id, &namespace, "again").await.status(), 409, "once");
    let done = wait_for_deletion(&alice, &server, &id).await;
    println!(
        "FIGURE namespace deletion asked to access revoked and namespace deleting: {} ms",
        asked.elapsed().as_millis()
    );
    assert_eq!(done.request.state, RequestState::Revoked, "its access went first");
    let actions: Vec<Action> = done.events.iter().map(|e| e.action).collect();
    let tail = &actions[actions.len() - 4..];
    assert_eq!(tail, [Action::Revoke, Action::DeleteNamespace, Action::FinishRevocation, Action::NamespaceDeleted]);
    let deleted = done.events.last().unwrap();
    assert_eq!(
        (deleted.actor.as_deref(), deleted.reason.as_deref()),
        (None, Some("the namespace and everything in it are being deleted"))
    );
    let reasons: Vec<_> = done.events.iter().filter_map(|e| e.reason.as_deref()).collect();
    assert!(reasons.contains(&"The team moved to the shared cluster"), "the owner sees why: {reasons:?}");

    // The namespace is going (the controller manager empties it, then removes it), and the kubeconfig is dead.
    let namespaces = Api::<Namespace>::all(admin().await);
    let going = namespaces.get_opt(&namespace).await.unwrap();
    assert!(going.is_none_or(|ns| ns.metadata.deletion_timestamp.is_some()), "deleted or terminating");
    let (ok, out) = kubectl_as(&file, &["get", "pods", "--request-timeout=5s"]);
    assert!(!ok, "refused: {out}");
    assert!(!detail(&carol, &server, &id).await.may.delete_namespace);
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn deleting_the_namespace_of_a_request_that_never_got_it_leaves_the_one_someone_else_made() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_worker(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("theirs");
    let id = submit_ok(&alice, &server, &with(form(&namespace), "helm_mode", "none")).await;
    let namespaces = Api::<Namespace>::all(admin().await);
    let theirs: Namespace = serde_json::from_value(json!({ "metadata": { "name": namespace } })).unwrap();
    namespaces.create(&PostParams::default(), &theirs).await.unwrap();
    let bob = Browser::signed_in(&server, "bob").await;
    assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
    wait_for(&alice, &server, &id, RequestState::Failed).await;

    let carol = Browser::signed_in(&server, "carol").await;
    assert_eq!(ask_deletion(&carol, &server, &id, &namespace, "failed request, clean up").await.status(), 200);
    let done = wait_for_deletion(&alice, &server, &id).await;
    assert_eq!(done.request.state, RequestState::Revoked);
    let note = done.events.last().unwrap().reason.clone().unwrap();
    assert!(note.contains("Berth did not create it for this request, so it was left alone"), "{note}");
    let still = namespaces.get(&namespace).await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_none(), "someone else's namespace is never deleted");
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// Berth touches only what it owns.

/// The resourceVersion of each object, as `kind/name=version`: equal before and after means untouched.
fn versions_in(namespace: &str, kinds: &str) -> String {
    kubectl_admin(&[
        "get",
        kinds,
        "-n",
        namespace,
        "-o",
        "jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}",
    ])
}

#[tokio::test]
async fn revoking_a_grant_whose_namespace_someone_else_made_leaves_everything_in_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_worker(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let bob = Browser::signed_in(&server, "bob").await;
    let carol = Browser::signed_in(&server, "carol").await;
    for helm_mode in ["tiller", "none"] {
        let namespace = unique("others");
        let id = submit_ok(&alice, &server, &with(form(&namespace), "helm_mode", helm_mode)).await;
        // Another team made the namespace first, with a Tiller of its own and a binding that happens to be
        // called like Berth's (and even names the identity Berth would use).
        kubectl_admin(&["create", "namespace", &namespace]);
        kubectl_admin(&["create", "serviceaccount", "tiller", "-n", &namespace]);
        kubectl_admin(&[
            "create",
            "deployment",
            "tiller-deploy",
            "-n",
            &namespace,
            "--image=ghcr.io/helm/tiller:v2.17.0",
        ]);
        kubectl_admin(&[
            "create",
            "rolebinding",
            "berth-identity",
            "-n",
            &namespace,
            "--clusterrole=edit",
            &format!("--serviceaccount={IDENTITIES}:ns-{namespace}"),
            &format!("--serviceaccount={namespace}:tiller"),
        ]);
        // The deployment controller writes the Deployment's status after it is created (its ReplicaSet, its
        // replicas): wait for it to settle, so only a change by Berth could change it afterwards.
        let settled = "jsonpath={.metadata.generation}/{.status.observedGeneration}/{.status.replicas}";
        eventually(Duration::from_secs(30), "the other team's Deployment settled by its controller", || async {
            let seen = kubectl_admin(&["get", "deployment", "tiller-deploy", "-n", &namespace, "-o", settled]);
            if seen == "1/1/1" { Ok(()) } else { Err(seen) }
        })
        .await;
        let kinds = "serviceaccounts,deployments,rolebindings,networkpolicies,resourcequotas";
        let before = versions_in(&namespace, kinds);
        assert!(
            before.contains("ServiceAccount/tiller=") && before.contains("RoleBinding/berth-identity="),
            "{before}"
        );

        assert_eq!(post(&bob, &server, "requests/approve", &[("id", id.clone())]).await.status(), 200);
        wait_for(&alice, &server, &id, RequestState::Failed).await;
        let reason = "The request failed; clean up";
        let response = post(&carol, &server, "requests/revoke", &[("id", id.clone()), ("reason", reason.into())]).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let revoked = wait_for(&carol, &server, &id, RequestState::Revoked).await;

        assert_eq!(versions_in(&namespace, kinds), before, "{helm_mode}: not one object was changed, byte for byte");
        let finished = revoked.events.last().unwrap();
        assert_eq!(finished.action, Action::FinishRevocation);
        let note = finished.reason.clone().unwrap_or_default();
        assert!(
            note.contains(&format!("The namespace '{namespace}' was not created by Berth for this request"))
                && note.contains("nothing in it was touched"),
            "the admin sees why nothing was done: {note}"
        );
        clean_up(&namespace).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_kubeconfig_whose_identity_was_given_more_than_its_namespace_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    // Outside Berth, an admin binds alice's identity of the grant to `view` across the cluster.
    let binding = unique("it-too-much");
    kubectl_admin(&[
        "create",
        "clusterrolebinding",
        &binding,
        "--clusterrole=view",
        &format!("--serviceaccount={IDENTITIES}:{}", identity_of(&namespace, "alice")),
    ]);
    let response = download(&alice, &server, &id, &[("purpose", "personal"), ("lifetime_hours", "8")]).await;
    let error = refusal(response, 403).await;
    assert_eq!(
        error.to_string(),
        "Berth refused to hand out this kubeconfig: it may list namespaces and read the identities in Berth's \
         identities namespace, more than its namespace allows (someone \
         bound this grant's identity to more, outside Berth). Nothing was issued; tell an admin, who must remove \
         that binding."
    );
    assert_eq!(anchors_of(&id), 0, "no anchor Secret left behind");
    assert!(detail(&alice, &server, &id).await.credentials.is_empty(), "nothing recorded");

    // Once the binding is gone, the download works (and the check passed the mode's own needs).
    kubectl_admin(&["delete", "clusterrolebinding", &binding]);
    let response = download(&alice, &server, &id, &[("purpose", "personal"), ("lifetime_hours", "8")]).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(anchors_of(&id), 1);
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn what_the_tenant_changes_of_berth_s_objects_comes_back_within_seconds_and_the_audit_log_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let file = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins").await;
    // A quiet grant: nothing to put back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let quiet = detail(&alice, &server, &id).await;
    assert!(quiet.events.iter().all(|e| e.action != Action::CorrectDrift), "no correction without a change");

    // As the grant's identity (edit in the namespace): delete the default NetworkPolicy, mount tokens again.
    let changed = Instant::now();
    let (ok, out) = kubectl_as(&file, &["delete", "networkpolicy", "berth-default"]);
    assert!(ok, "edit may delete it: {out}");
    let (ok, out) =
        kubectl_as(&file, &["patch", "serviceaccount", "default", "-p", r#"{"automountServiceAccountToken":true}"#]);
    assert!(ok, "edit may patch it: {out}");

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let policy = kubectl_as(&file, &["get", "networkpolicy", "berth-default", "-o", "name"]).0;
        let automount = kubectl_admin(&[
            "get",
            "serviceaccount",
            "default",
            "-n",
            &namespace,
            "-o",
            "jsonpath={.automountServiceAccountToken}",
        ]);
        if policy && automount == "false" {
            break;
        }
        assert!(Instant::now() < deadline, "not restored within 15 s: policy {policy}, automount {automount}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "FIGURE drift: a deleted NetworkPolicy and a changed ServiceAccount restored after {} ms",
        changed.elapsed().as_millis()
    );
    let notes = eventually(Duration::from_secs(10), "the audit log naming what was restored", || async {
        let events = detail(&alice, &server, &id).await.events;
        let notes: Vec<String> =
            events.iter().filter(|e| e.action == Action::CorrectDrift).filter_map(|e| e.reason.clone()).collect();
        let all = notes.join(" ");
        if all.contains("berth-default (deleted)") && all.contains("default (automountServiceAccountToken)") {
            Ok(notes)
        } else {
            Err(format!("{notes:?}"))
        }
    })
    .await;
    let event =
        detail(&alice, &server, &id).await.events.into_iter().find(|e| e.action == Action::CorrectDrift).unwrap();
    assert_eq!(event.actor, None, "by Berth");
    assert!(notes[0].starts_with("Put back what was changed in the namespace: "), "{notes:?}");
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn a_tenant_gets_no_load_balancer_or_node_port_and_a_bounded_number_of_objects() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let file = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins").await;
    for kind in ["loadbalancer", "nodeport"] {
        let deadline = Instant::now() + Duration::from_secs(15);
        let out = loop {
            let (ok, out) = kubectl_as(&file, &["create", "service", kind, &format!("open-{kind}"), "--tcp=80:80"]);
            assert!(!ok, "{kind} must be refused: {out}");
            // Until the quota controller has counted the namespace, the API server refuses everything.
            if !out.contains("status unknown for quota") || Instant::now() > deadline {
                break out;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(out.contains("exceeded quota") && out.contains(&format!("services.{kind}s=0")), "{kind}: {out}");
    }
    let (ok, out) = kubectl_as(&file, &["create", "service", "clusterip", "inside", "--tcp=80:80"]);
    assert!(ok, "a ClusterIP Service is fine: {out}");
    let hard = kubectl_admin(&["get", "resourcequota", "berth-quota", "-n", &namespace, "-o", "jsonpath={.spec.hard}"]);
    for cap in [r#""services":"20""#, r#""secrets":"100""#, r#""configmaps":"100""#] {
        assert!(hard.contains(cap), "{cap} in {hard}");
    }
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn a_grant_holds_at_most_the_configured_number_of_kubeconfigs_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| {
        config.provisioning.enabled = true;
        config.provisioning.lease_seconds = 1;
        config.provisioning.poll_seconds = 1;
        config.credentials.max_active_per_grant = 2;
    })
    .await;
    let alice = Browser::signed_in(&server, "alice").await;
    let namespace = unique("capped");
    let id = approved(&server, &alice, &namespace, "none").await;
    wait_for(&alice, &server, &id, RequestState::Ready).await;
    let ci = |name: &'static str| [("purpose", "ci"), ("name", name), ("lifetime_hours", "24")];
    for name in ["jenkins-a", "jenkins-b"] {
        let response = download(&alice, &server, &id, &ci(name)).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    let error = refusal(download(&alice, &server, &id, &ci("jenkins-c")).await, 409).await;
    assert_eq!(
        error.to_string(),
        "This namespace already has 2 kubeconfigs in force, the most one grant may hold at once (2). Revoke one \
         you no longer use, then download again."
    );
    assert_eq!(anchors_of(&id), 2, "no token minted for the refused one");
    let first = detail(&alice, &server, &id).await.credentials[0].id.clone();
    let revoked = post(&alice, &server, "credentials/revoke", &[("id", first), ("reason", "Not used".into())]).await;
    assert_eq!(revoked.status(), 200);
    let response = download(&alice, &server, &id, &ci("jenkins-c")).await;
    assert_eq!(response.status(), 200, "a revoked one frees its place: {}", response.text().await.unwrap());
    server.stop().await;
    clean_up(&namespace).await;
}
