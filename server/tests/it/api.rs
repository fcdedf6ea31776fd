//! The machine API, `/api/v1`, over HTTP with real tokens, a real database and the local control plane:
//! every operation of the OpenAPI document through the 401/403/200 matrix (a test fails if one is missing),
//! and a robot's API token as a CI job uses it.

use std::collections::BTreeSet;
use std::time::Duration;

use berth_server::store::Store;
use berth_server::store::tokens::{NewToken, TokenKind};
use chrono::{TimeDelta, Utc};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::grants::{IDENTITIES, approved, clean_up, database_files, kubectl_as, ready_grant, store_of, wait_for};
use crate::requests::{detail, form, post, submit_ok};
use crate::support::{Browser, TestServer};
use app::requests::RequestState;

/// A person's API token, made in the database as the command line's sign-in would make it.
async fn person_token(store: &Store, browser: &Browser, server: &TestServer) -> String {
    let session = browser.call(server, "session").await.json::<Value>().await.unwrap();
    let person_id = session
        .pointer("/SignedIn/0/id")
        .or_else(|| session.pointer("/NoAccess/id"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("a signed-in session: {session}"))
        .to_string();
    let now = Utc::now();
    let made = store
        .make_token(&NewToken {
            kind: TokenKind::Person,
            robot_id: None,
            person_id: Some(&person_id),
            name: "berth login (test)",
            created_by: Some(&person_id),
            created_at: now,
            expires_at: now + TimeDelta::hours(12),
            request_id: None,
            by_rule: None,
        })
        .await
        .unwrap();
    made.token.expose_secret().to_string()
}

/// Calls the API with `token` (none: anonymous) and a JSON body.
async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client.request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Every operation of the OpenAPI document, as `METHOD /path/{param}`.
fn documented_operations() -> BTreeSet<String> {
    let document: Value = serde_json::from_str(berth_server::api::OPENAPI).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(operation["operationId"].is_string(), "{method} {path} has an operationId");
            assert!(operation["responses"].is_object(), "{method} {path} documents its responses");
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations
}

#[tokio::test]
async fn the_openapi_document_is_served_and_every_schema_it_names_exists() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let (status, served) = call(&server, Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(served, serde_json::from_str::<Value>(berth_server::api::OPENAPI).unwrap(), "served as written");
    // Every `$ref` resolves inside the document.
    let text = berth_server::api::OPENAPI;
    for reference in text.split("\"$ref\": \"#/").skip(1).map(|rest| rest.split('"').next().unwrap()) {
        let pointer = format!("/{reference}");
        assert!(served.pointer(&pointer).is_some(), "{pointer} is referred to but missing");
    }
    server.stop().await;
}

/// Who is refused and who is answered, for one operation.
struct Row {
    operation: &'static str,
    path: String,
    body: Option<Value>,
    /// The token refused with 403.
    forbidden: String,
    /// The token answered with `ok`.
    allowed: String,
    ok: u16,
}

#[tokio::test]
async fn every_operation_of_the_openapi_document_is_in_the_401_403_200_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let store = store_of(&dir).await;
    let bob = Browser::signed_in(&server, "bob").await;
    let dave = Browser::signed_in(&server, "dave").await;
    let (alice_token, bob_token, dave_token) = (
        person_token(&store, &alice, &server).await,
        person_token(&store, &bob, &server).await,
        person_token(&store, &dave, &server).await,
    );
    // A robot of alice's grant with a token of its own, made through the API itself.
    let (status, robot) = call(
        &server,
        Method::POST,
        &format!("/api/v1/grants/{id}/robots"),
        Some(&alice_token),
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(status, 201, "{robot}");
    let robot_id = robot["id"].as_str().unwrap().to_string();
    let (status, made) = call(
        &server,
        Method::POST,
        &format!("/api/v1/grants/{id}/robots/{robot_id}/tokens"),
        Some(&alice_token),
        Some(json!({"name": "matrix", "days": 1})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let robot_token = made["token"].as_str().unwrap().to_string();
    // A pending request for bob to approve, and a kubeconfig of alice's to revoke.
    let pending = submit_ok(&alice, &server, &form(&crate::cluster::unique("pending"))).await;
    let (status, issued) = call(
        &server,
        Method::POST,
        &format!("/api/v1/grants/{id}/kubeconfig"),
        Some(&alice_token),
        Some(json!({"lifetime_hours": 1})),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let credential = issued["credential_id"].as_str().unwrap().to_string();

    let rows = vec![
        Row {
            operation: "GET /api/v1/grants",
            path: "/api/v1/grants".into(),
            body: None,
            forbidden: dave_token.clone(),
            allowed: robot_token.clone(),
            ok: 200,
        },
        Row {
            operation: "GET /api/v1/grants/{id}",
            path: format!("/api/v1/grants/{id}"),
            body: None,
            forbidden: dave_token.clone(),
            allowed: robot_token.clone(),
            ok: 200,
        },
        Row {
            operation: "POST /api/v1/grants/{id}/kubeconfig",
            path: format!("/api/v1/grants/{id}/kubeconfig"),
            body: Some(json!({"lifetime_hours": 1})),
            forbidden: bob_token.clone(),
            allowed: robot_token.clone(),
            ok: 200,
        },
        Row {
            operation: "GET /api/v1/grants/{id}/cluster",
            path: format!("/api/v1/grants/{id}/cluster"),
            body: None,
            forbidden: bob_token.clone(),
            allowed: robot_token.clone(),
            ok: 200,
        },
        Row {
            operation: "GET /api/v1/grants/{id}/robots",
            path: format!("/api/v1/grants/{id}/robots"),
            body: None,
            forbidden: robot_token.clone(),
            allowed: alice_token.clone(),
            ok: 200,
        },
        Row {
            operation: "POST /api/v1/grants/{id}/robots",
            path: format!("/api/v1/grants/{id}/robots"),
            body: Some(json!({"name": "deployer"})),
            forbidden: bob_token.clone(),
            allowed: alice_token.clone(),
            ok: 201,
        },
        Row {
            operation: "POST /api/v1/grants/{id}/robots/{robot}/tokens",
            path: format!("/api/v1/grants/{id}/robots/{robot_id}/tokens"),
            body: Some(json!({"name": "another", "days": 1})),
            forbidden: bob_token.clone(),
            allowed: alice_token.clone(),
            ok: 201,
        },
        Row {
            operation: "POST /api/v1/requests",
            path: "/api/v1/requests".into(),
            body: Some(
                json!({"namespace": crate::cluster::unique("api"), "purpose": "from a script", "stage": "test", "helm_mode": "none", "quota_profile": "small", "lifetime_days": 7}),
            ),
            forbidden: robot_token.clone(),
            allowed: alice_token.clone(),
            ok: 201,
        },
        Row {
            operation: "POST /api/v1/requests/{id}/approve",
            path: format!("/api/v1/requests/{pending}/approve"),
            body: None,
            forbidden: alice_token.clone(),
            allowed: bob_token.clone(),
            ok: 200,
        },
        Row {
            operation: "GET /api/v1/approvals",
            path: "/api/v1/approvals".into(),
            body: None,
            forbidden: alice_token.clone(),
            allowed: bob_token.clone(),
            ok: 200,
        },
        Row {
            operation: "POST /api/v1/credentials/{id}/revoke",
            path: format!("/api/v1/credentials/{credential}/revoke"),
            body: Some(json!({"reason": "done with it"})),
            forbidden: bob_token.clone(),
            allowed: alice_token.clone(),
            ok: 204,
        },
    ];
    // The document's operations, less the public ones (tested on their own below): each is a row here.
    let mut documented = documented_operations();
    for public in
        ["GET /api/v1/openapi.json", "GET /api/v1/cli", "POST /api/v1/tokens/person", "POST /api/v1/tokens/federated"]
    {
        assert!(documented.remove(public), "{public} is documented");
    }
    let tested: BTreeSet<String> = rows.iter().map(|row| row.operation.to_string()).collect();
    assert_eq!(tested, documented, "every documented operation is in the matrix, and nothing else");

    for row in &rows {
        let (method, _) = row.operation.split_once(' ').unwrap();
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, answer) = call(&server, method.clone(), &row.path, None, row.body.clone()).await;
        assert_eq!((status, answer["error"].as_str()), (401, Some("unauthenticated")), "{} anonymous", row.operation);
        let (status, _) = call(
            &server,
            method.clone(),
            &row.path,
            Some("berth_0123456789abcdef0123456789abcdef_forged"),
            row.body.clone(),
        )
        .await;
        assert_eq!(status, 401, "{} with a forged token", row.operation);
        let (status, answer) = call(&server, method.clone(), &row.path, Some(&row.forbidden), row.body.clone()).await;
        assert_eq!(status, 403, "{} refused: {answer}", row.operation);
        let (status, answer) = call(&server, method, &row.path, Some(&row.allowed), row.body.clone()).await;
        assert_eq!(status, row.ok, "{} answered: {answer}", row.operation);
    }
    // The public operations: the document, how to sign in, and the sign-in itself (a forged ID token is 401).
    assert_eq!(call(&server, Method::GET, "/api/v1/openapi.json", None, None).await.0, 200);
    let (status, sign_in) = call(&server, Method::GET, "/api/v1/cli", None, None).await;
    assert_eq!((status, sign_in["client_id"].as_str()), (200, Some("berth-cli")), "{sign_in}");
    let forged = json!({"id_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", "nonce": "n"});
    let (status, answer) = call(&server, Method::POST, "/api/v1/tokens/person", None, Some(forged)).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("unauthenticated")), "{answer}");
    let forged = json!({"token": "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2NpLmV4YW1wbGUifQ."});
    let (status, answer) = call(&server, Method::POST, "/api/v1/tokens/federated", None, Some(forged)).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("unauthenticated")), "{answer}");
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test]
async fn a_robot_token_works_on_its_grant_only_is_refused_expired_or_revoked_and_is_kept_only_as_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let store = store_of(&dir).await;
    let other_namespace = crate::cluster::unique("other");
    let other = approved(&server, &alice, &other_namespace, "none").await;
    wait_for(&alice, &server, &other, RequestState::Ready).await;
    let alice_token = person_token(&store, &alice, &server).await;
    let (_, robot) = call(
        &server,
        Method::POST,
        &format!("/api/v1/grants/{id}/robots"),
        Some(&alice_token),
        Some(json!({"name": "jenkins-prod"})),
    )
    .await;
    let robot_id = robot["id"].as_str().unwrap().to_string();
    let (_, made) = call(
        &server,
        Method::POST,
        &format!("/api/v1/grants/{id}/robots/{robot_id}/tokens"),
        Some(&alice_token),
        Some(json!({"name": "Jenkins prod pipeline", "days": 7})),
    )
    .await;
    assert!(made["token"].is_string(), "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    let token_id = made["id"].as_str().unwrap().to_string();

    // As a CI job calls it.
    let path = format!("/api/v1/grants/{id}/kubeconfig");
    let (status, issued) = call(&server, Method::POST, &path, Some(&token), Some(json!({"lifetime_hours": 1}))).await;
    assert_eq!(status, 200, "{issued}");
    let mut shown = issued.clone();
    for secret in ["kubeconfig", "token"] {
        shown[secret] = json!("<redacted>");
    }
    println!(
        "FIGURE API request: POST {path}\n  Authorization: Bearer berth_<id>_<secret>\n  Content-Type: application/json\n  \
         {{\"lifetime_hours\": 1}}\nFIGURE API response: 200 (Cache-Control: no-store)\n{}",
        serde_json::to_string_pretty(&shown).unwrap()
    );
    assert_eq!(issued["username"], format!("system:serviceaccount:{IDENTITIES}:{namespace}.robot.jenkins-prod"));
    let file = dir.path().join("robot.kubeconfig");
    std::fs::write(&file, issued["kubeconfig"].as_str().unwrap()).unwrap();
    let (ok, out) = kubectl_as(&file, &["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert!(ok && out == issued["username"], "{out}");
    // Its own grant only; another grant of the same owner does not exist for it; it requests nothing.
    assert_eq!(call(&server, Method::GET, &format!("/api/v1/grants/{id}"), Some(&token), None).await.0, 200);
    assert_eq!(call(&server, Method::GET, &format!("/api/v1/grants/{other}"), Some(&token), None).await.0, 404);
    let elsewhere = format!("/api/v1/grants/{other}/kubeconfig");
    assert_eq!(call(&server, Method::POST, &elsewhere, Some(&token), Some(json!({"lifetime_hours": 1}))).await.0, 404);
    let as_someone_else = json!({"lifetime_hours": 1, "robot": "another"});
    assert_eq!(call(&server, Method::POST, &path, Some(&token), Some(as_someone_else)).await.0, 403);
    let (_, grants) = call(&server, Method::GET, "/api/v1/grants", Some(&token), None).await;
    assert_eq!(grants["grants"].as_array().map(|g| g.len()), Some(1), "{grants}");

    // Stored only as a hash: the secret appears nowhere in the database's files.
    // `berth_<32 hex>_<secret>`: the secret is URL-safe base64, which may itself hold `_`.
    let secret = &token["berth_".len() + 32 + 1..];
    assert_eq!(secret.len(), 43, "{token}");
    for contents in database_files(&dir.path().join("db")).await {
        assert!(!contents.windows(secret.len()).any(|w| w == secret.as_bytes()), "the token's secret is stored");
    }

    // Expired: refused like an unknown one.
    let now = Utc::now();
    let expired = store
        .make_token(&NewToken {
            kind: TokenKind::Robot,
            robot_id: Some(&robot_id),
            person_id: None,
            name: "expired",
            created_by: None,
            created_at: now - TimeDelta::days(2),
            expires_at: now - TimeDelta::seconds(1),
            request_id: None,
            by_rule: None,
        })
        .await
        .unwrap();
    let (status, answer) =
        call(&server, Method::GET, "/api/v1/grants", Some(expired.token.expose_secret()), None).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("unauthenticated")));

    // Revoked on the grant's page: refused at once.
    let revoke = [("id", id.clone()), ("robot", robot_id.clone()), ("token", token_id)];
    assert_eq!(post(&alice, &server, "robots/revoke_token", &revoke).await.status(), 200);
    assert_eq!(call(&server, Method::GET, "/api/v1/grants", Some(&token), None).await.0, 401);
    let shown = detail(&alice, &server, &id).await;
    let actions: Vec<&str> = shown.events.iter().map(|e| e.action.as_str()).collect();
    for action in ["add_robot", "create_api_token", "issue_credential", "revoke_api_token"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    server.stop().await;
    clean_up(&namespace).await;
    clean_up(&other_namespace).await;
}

/// A CI job's OIDC token from the development provider's CI issuer (`ISSUER/ci`), as a CI system hands it.
async fn ci_token(sub: &str, aud: &str, expires_in: i64) -> String {
    let url = format!("{}/ci/token", crate::support::dev_idp_url());
    let answer: Value = reqwest::Client::new()
        .post(url)
        .body(json!({ "sub": sub, "aud": aud, "expires_in": expires_in }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_ci_job_s_oidc_token_under_a_trust_rule_gets_its_robot_s_kubeconfig_and_others_are_refused_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let namespace = crate::cluster::unique("fed");
    let rule = berth_server::config::TrustRule {
        name: "shop pipeline".to_string(),
        issuer: format!("{}/ci", crate::support::dev_idp_url()),
        audience: "berth".to_string(),
        subject: "project:shop:ref:*".to_string(),
        namespace: namespace.clone(),
        robot: "deployer".to_string(),
        token_minutes: 15,
    };
    let server = TestServer::start_with(&dir, |config| {
        config.provisioning.enabled = true;
        config.provisioning.lease_seconds = 1;
        config.provisioning.poll_seconds = 1;
        config.federation.trust = vec![rule];
    })
    .await;
    let alice = Browser::signed_in(&server, "alice").await;
    let id = approved(&server, &alice, &namespace, "none").await;
    wait_for(&alice, &server, &id, RequestState::Ready).await;
    let robot = [("id", id.clone()), ("name", "deployer".to_string())];
    assert_eq!(post(&alice, &server, "robots/add", &robot).await.status(), 200);

    // The job's token for its branch: exchanged for a robot token of 15 minutes, which gets a kubeconfig.
    let job = ci_token("project:shop:ref:main", "berth", 300).await;
    let (status, exchanged) =
        call(&server, Method::POST, "/api/v1/tokens/federated", None, Some(json!({ "token": job }))).await;
    assert_eq!(status, 201, "{exchanged}");
    assert_eq!((exchanged["robot"].as_str(), exchanged["grant_id"].as_str()), (Some("deployer"), Some(id.as_str())));
    let ends = chrono::DateTime::parse_from_rfc3339(exchanged["expires_at"].as_str().unwrap()).unwrap();
    let left = ends.with_timezone(&Utc) - Utc::now();
    assert!(left <= TimeDelta::minutes(15) && left > TimeDelta::minutes(14), "{left}");
    let token = exchanged["token"].as_str().unwrap().to_string();
    let path = format!("/api/v1/grants/{id}/kubeconfig");
    let (status, issued) = call(&server, Method::POST, &path, Some(&token), Some(json!({"lifetime_hours": 1}))).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["username"], format!("system:serviceaccount:{IDENTITIES}:{namespace}.robot.deployer"));

    // A wrong subject or audience: refused, and recorded on the grant. Expired or forged: not even that.
    for (sub, aud) in [("project:other:ref:main", "berth"), ("project:shop:ref:main", "someone-else")] {
        let job = ci_token(sub, aud, 300).await;
        let (status, answer) =
            call(&server, Method::POST, "/api/v1/tokens/federated", None, Some(json!({ "token": job }))).await;
        assert_eq!(status, 403, "{sub} {aud}: {answer}");
    }
    let expired = ci_token("project:shop:ref:main", "berth", -60).await;
    let (status, _) =
        call(&server, Method::POST, "/api/v1/tokens/federated", None, Some(json!({ "token": expired }))).await;
    assert_eq!(status, 401, "expired");
    let mut forged = ci_token("project:shop:ref:main", "berth", 300).await;
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let (status, _) =
        call(&server, Method::POST, "/api/v1/tokens/federated", None, Some(json!({ "token": forged }))).await;
    assert_eq!(status, 401, "a bad signature");

    let events = detail(&alice, &server, &id).await.events;
    let exchanged: Vec<_> = events.iter().filter(|e| e.action.as_str() == "exchange_federated_token").collect();
    assert_eq!(exchanged.len(), 1);
    assert_eq!(exchanged[0].actor.as_deref(), Some("Rule \"shop pipeline\""));
    let refused: Vec<&str> = events
        .iter()
        .filter(|e| e.action.as_str() == "refuse_federated_token")
        .map(|e| e.reason.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("project:other:ref:main") && refused[1].contains("someone-else"), "{refused:?}");
    server.stop().await;
    clean_up(&namespace).await;
}
