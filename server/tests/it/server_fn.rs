//! The server function round trip over HTTP, as the browser makes it, with the admins' server status.

use app::system::ServerInfo;

use crate::support::{Browser, TestServer};

/// As an admin (carol): the server's status is for operators only.
async fn call_server_info(server: &TestServer) -> ServerInfo {
    let response = Browser::signed_in(server, "carol").await.call(server, "server_info").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn only_admins_see_the_server_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    assert_eq!(Browser::new().call(&server, "server_info").await.status(), 401, "anonymous");
    for user in ["alice", "bob"] {
        let status = Browser::signed_in(&server, user).await.call(&server, "server_info").await.status();
        assert_eq!(status, 403, "{user}");
    }
    server.stop().await;
}

#[tokio::test]
async fn server_info_reports_version_and_start_time() {
    let dir = tempfile::tempdir().unwrap();
    let before = chrono::Utc::now();
    let server = TestServer::start(&dir).await;
    let info = call_server_info(&server).await;
    assert_eq!(info.version, berth_server::system::VERSION);
    let started_at = chrono::DateTime::<chrono::Utc>::try_from(&info.started_at).unwrap();
    assert!(started_at >= before - chrono::TimeDelta::seconds(1), "started at {started_at}");
    assert!(info.answered_at >= info.started_at);
    let later = call_server_info(&server).await;
    assert!(later.answered_at >= info.answered_at, "each call answers anew");
    assert_eq!(later.started_at, info.started_at, "start time is fixed for the process");
    server.stop().await;
}

#[tokio::test]
async fn installation_id_survives_a_restart_and_differs_between_databases() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestServer::start(&dir).await;
    let id = call_server_info(&first).await.installation_id;
    first.stop().await;

    let restarted = TestServer::start(&dir).await;
    assert_eq!(call_server_info(&restarted).await.installation_id, id, "same database, same installation");
    restarted.stop().await;

    let other_dir = tempfile::tempdir().unwrap();
    let other = TestServer::start(&other_dir).await;
    assert_ne!(call_server_info(&other).await.installation_id, id, "a new database is a new installation");
    other.stop().await;
}

#[tokio::test]
async fn a_form_post_without_javascript_redirects_back_to_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    // What the "Check again" form does when the page is not hydrated: a plain form post with a Referer.
    let carol = Browser::signed_in(&server, "carol").await;
    let response = carol
        .http
        .post(server.url("/api/server_info"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .header("referer", server.url("/admin/server"))
        .header("origin", &server.base)
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    // Leptos appends an empty query (where it would put an error) to the page it sends the browser back to.
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(location.trim_end_matches('?'), server.url("/admin/server"));
    server.stop().await;
}
