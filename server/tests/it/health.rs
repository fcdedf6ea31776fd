use serde_json::{Value, json};

use crate::support::{TestServer, client, config_in};

#[tokio::test]
async fn healthz_answers_ok() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let response = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
    server.stop().await;
}

#[tokio::test]
async fn readyz_is_ready_when_the_database_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let response = client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "status": "ready", "checks": { "database": "ok" } }));
    server.stop().await;
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let berth = berth_server::Berth::build(&config_in(dir.path(), listener.local_addr().unwrap())).await.unwrap();
    berth.store().close().await;
    let server = TestServer::serve(listener, berth).await;
    let response = client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "status": "not ready", "checks": { "database": "failing" } })
    );
    // /healthz stays ok: the process is alive, restarting it would not bring the database back.
    assert_eq!(client().get(server.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn database_folder_is_created_and_migrated_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    assert!(dir.path().join("db/berth.db").is_file(), "database file created under a new folder");
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_a_given_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let generated = client().get(server.url("/healthz")).send().await.unwrap();
    let id = generated.headers().get("x-request-id").expect("generated id").to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let kept = client().get(server.url("/healthz")).header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(kept.headers().get("x-request-id").unwrap(), "trace-me-42");
    server.stop().await;
}
