//! Server-side rendering: the HTML a browser without JavaScript (or curl) receives is the whole page.

use std::path::Path;
use std::process::Command;

use crate::support::{Browser, TestServer, client, public_dir};

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
    // The server's version is for admins (it tells an attacker what to try).
    assert!(!html.contains(berth_server::system::VERSION), "version shown to a visitor: {html}");
    // The page loads the bundle the build produces. The WASM file is `berth.wasm` when cargo-leptos built the
    // server (it renames wasm-bindgen's output) and `berth_bg.wasm` in a plain `cargo` build like this one.
    assert!(html.contains("/pkg/berth.js"), "bundle script: {html}");
    assert!(html.contains("/pkg/berth_bg.wasm") || html.contains("/pkg/berth.wasm"), "bundle wasm: {html}");
    assert!(html.contains(r#"href="/pkg/berth.css""#), "stylesheet");
    server.stop().await;
}

#[tokio::test]
async fn the_home_page_shows_each_role_what_it_came_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    crate::requests::submit_ok(&alice, &server, &crate::requests::form("home-waiting")).await;
    let page = async |browser: &Browser| browser.get(&server.url("/")).await.text().await.unwrap();

    let developer = page(&alice).await;
    assert!(developer.contains(r#"data-testid="home-pending""#) && developer.contains("home-waiting"), "{developer}");
    assert!(!developer.contains("home-queue") && !developer.contains("home-overview"), "approvers' and admins' parts");

    let approver = page(&Browser::signed_in(&server, "bob").await).await;
    assert!(approver.contains("1 request and 0 changes waiting."), "{approver}");
    assert!(!approver.contains("home-overview"), "the overview is the admins'");

    // The admin's overview: the figures, and the chart drawn on the server (an SVG with its figures in words).
    let admin = page(&Browser::signed_in(&server, "carol").await).await;
    let figure = |testid: &str| {
        let at = admin.find(&format!(r#"data-testid="{testid}""#)).unwrap_or_else(|| panic!("{testid}: {admin}"));
        let dd = &admin[at..];
        dd[dd.find("<dd>").unwrap() + 4..dd.find("</dd>").unwrap()].to_string()
    };
    assert_eq!(figure("overview-pending"), "1");
    assert_eq!((figure("overview-ready"), figure("overview-failed")), ("0".to_string(), "0".to_string()));
    assert!(admin.contains(r#"role="img""#) && admin.contains("<svg"), "{admin}");
    assert!(admin.contains("test: 1 pending"), "the chart's description says its figures: {admin}");
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

/// A page whose data the viewer may not see says so, every time, with its status. (It once rendered an empty page
/// one time in four: Leptos hands a server-side error to its `ErrorBoundary` through a thread-local, lost when the
/// page's future resumed on another worker; hence two workers here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_one_may_not_see_is_not_found_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let id = crate::requests::submit_ok(&alice, &server, &crate::requests::form("not-graces")).await;
    let grace = Browser::signed_in(&server, "grace").await;
    for (attempt, path) in (0..40).map(|i| (i, format!("/requests/{id}"))).chain([(40, "/requests/x".to_string())]) {
        let response = grace.get(&server.url(&path)).await;
        let status = response.status().as_u16();
        let html = response.text().await.unwrap();
        assert!(html.contains("Not found. It may never have existed"), "attempt {attempt} of {path}: {html}");
        assert_eq!(status, 404, "attempt {attempt} of {path}");
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

#[tokio::test]
async fn the_admins_server_page_is_rendered_with_the_server_s_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let carol = Browser::signed_in(&server, "carol").await;
    let response = carol.get(&server.url("/admin/server")).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let version = format!(r#"data-testid="version">{}</dd>"#, berth_server::system::VERSION);
    assert!(html.contains(&version), "version in SSR output: {html}");
    assert!(!html.contains("Asking the server"), "no loading placeholder left behind");
    let bob = Browser::signed_in(&server, "bob").await;
    assert_eq!(bob.get(&server.url("/admin/server")).await.status(), 403, "not for approvers");
    server.stop().await;
}

/// A site root as a release build leaves it: the public assets, a bundle, and what `scripts/finish-site.mjs`
/// (run here for real) adds: hashed names, brotli and gzip copies, `pkg/hash.txt`.
fn finished_site(root: &Path) -> String {
    for entry in std::fs::read_dir(public_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), root.join(entry.file_name())).unwrap();
    }
    let pkg = root.join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    // Large enough that compressing pays, as the real bundle is.
    let wasm: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::write(pkg.join("berth.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("berth.js"), "export default function init() {}\n".repeat(100)).unwrap();
    std::fs::write(pkg.join("berth.css"), "body { margin: 0 }\n".repeat(100)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/finish-site.mjs");
    let status = Command::new("node").arg(script).arg(root).status().expect("node runs scripts/finish-site.mjs");
    assert!(status.success());
    let hashes = std::fs::read_to_string(pkg.join("hash.txt")).unwrap();
    hashes.lines().find_map(|line| line.strip_prefix("wasm: ")).unwrap().to_string()
}

#[tokio::test]
async fn the_bundle_is_served_precompressed_under_hashed_names_and_cached_for_a_year() {
    let dir = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    let wasm_hash = finished_site(site.path());
    let server = TestServer::start_with(&dir, |config| config.site_root = site.path().to_path_buf()).await;

    let page = client().get(server.url("/")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(page.headers()["content-encoding"], "gzip", "pages are compressed");
    assert_eq!(page.headers()["cache-control"], "private, no-store", "pages are never cached");
    let css_hash = std::fs::read_to_string(site.path().join("pkg/hash.txt")).unwrap();
    let css_hash = css_hash.lines().find_map(|line| line.strip_prefix("css: ")).unwrap().to_string();
    let html = client().get(server.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("/pkg/berth.{wasm_hash}.wasm")), "{html}");
    assert!(html.contains(&format!(r#"href="/pkg/berth.{css_hash}.css""#)), "{html}");

    let wasm_path = format!("/pkg/berth.{wasm_hash}.wasm");
    for (accepts, encoding, suffix) in
        [("br, gzip", Some("br"), ".br"), ("gzip", Some("gzip"), ".gz"), ("identity", None, "")]
    {
        let response = client().get(server.url(&wasm_path)).header("accept-encoding", accepts).send().await.unwrap();
        assert_eq!(response.status(), 200, "{accepts}");
        let headers = response.headers().clone();
        assert_eq!(headers.get("content-encoding").map(|v| v.to_str().unwrap()), encoding, "{accepts}");
        assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable", "{accepts}");
        assert_eq!(headers["content-type"], "application/wasm", "{accepts}");
        let expected = std::fs::read(site.path().join(format!("pkg/berth.{wasm_hash}.wasm{suffix}"))).unwrap();
        assert_eq!(response.bytes().await.unwrap().to_vec(), expected, "{accepts}: the file as prepared");
    }
    // Names without a hash may change with the next build: browsers ask again.
    let plain = client().get(server.url("/favicon.svg")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["cache-control"], "public, no-cache");
    assert_eq!(plain.headers()["content-encoding"], "br");
    server.stop().await;
}
