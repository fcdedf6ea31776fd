//! Server-side rendering: the HTML a browser without JavaScript (or curl) receives is the whole page.

use crate::support::{TestServer, client};

async fn get_page(server: &TestServer, path: &str) -> (u16, String) {
    let response = client().get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
    }
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn home_page_is_complete_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let (status, html) = get_page(&server, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("<title>Berth</title>"), "title: {html}");
    // A visitor who has not signed in is offered sign-in, and no navigation to pages they cannot use.
    for link in ["New request", "My requests", "Approvals", "Admin"] {
        assert!(!html.contains(&format!(">{link}</a>")), "navigation shows {link} to an anonymous visitor");
    }
    assert!(html.contains(r#"href="/auth/login?return_to=/""#), "sign-in button: {html}");
    // The server status is rendered on the server, not left to a loading placeholder.
    let version = format!(r#"data-testid="version">{}</dd>"#, berth_server::system::VERSION);
    assert!(html.contains(&version), "version in SSR output: {html}");
    assert!(!html.contains("Asking the server"), "no loading placeholder left behind");
    // The page loads the bundle the build produces. The WASM file is `berth.wasm` when cargo-leptos built the
    // server (it renames wasm-bindgen's output) and `berth_bg.wasm` in a plain `cargo` build like this one.
    assert!(html.contains("/pkg/berth.js"), "bundle script: {html}");
    assert!(html.contains("/pkg/berth_bg.wasm") || html.contains("/pkg/berth.wasm"), "bundle wasm: {html}");
    assert!(html.contains(r#"href="/pkg/berth.css""#), "stylesheet");
    server.stop().await;
}

#[tokio::test]
async fn pages_behind_sign_in_send_a_visitor_to_sign_in_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for (path, encoded) in [
        ("/requests/new", "/requests/new"),
        ("/requests", "/requests"),
        ("/approvals", "/approvals"),
        ("/admin?tab=users", "/admin%3Ftab%3Dusers"),
    ] {
        let response = client().get(server.url(path)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], format!("/auth/login?return_to={encoded}"), "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_the_not_found_page_with_status_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for path in ["/no-such-page", "/requests/new/extra", "/pkg/missing.js"] {
        let (status, html) = get_page(&server, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("<title>Page not found · Berth</title>"), "{path}: {html}");
        assert!(html.contains("Go to the home page"), "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn public_assets_are_served_from_the_site_root() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let response = client().get(server.url("/favicon.svg")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    server.stop().await;
}
