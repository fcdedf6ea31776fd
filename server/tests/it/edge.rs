//! The HTTP edge: a test per security header (on pages, server functions, probes, not-found answers and
//! refusals alike), per limit (body size, sign-in, server functions per session and per address, the
//! address behind a trusted proxy), and the metrics listener.

use std::net::{IpAddr, Ipv4Addr};

use app::error::ApiError;
use berth_server::Berth;
use reqwest::header::HeaderMap;
use tokio::net::TcpListener;
use url::Url;

use crate::support::{Browser, TestServer, client, config_in};

/// One of each kind of answer: a page, a server function, a probe, a missing file, a cross-site refusal.
async fn answers(server: &TestServer) -> Vec<(&'static str, HeaderMap)> {
    let http = client();
    let page = http.get(server.url("/")).header("accept", "text/html").send().await.unwrap();
    let function = Browser::new().call(server, "session").await;
    let probe = http.get(server.url("/healthz")).send().await.unwrap();
    let missing = http.get(server.url("/pkg/nothing.js")).send().await.unwrap();
    let refused = http.post(server.url("/api/session")).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(refused.status(), 403);
    [("page", page), ("server function", function), ("probe", probe), ("not found", missing), ("refusal", refused)]
        .into_iter()
        .map(|(what, response)| (what, response.headers().clone()))
        .collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test]
async fn the_content_security_policy_allows_only_berth_the_wasm_and_this_page_s_own_inline_script() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for (what, headers) in answers(&server).await {
        let policy = header(&headers, "content-security-policy");
        assert!(policy.starts_with("default-src 'self'; script-src 'self' 'nonce-"), "{what}: {policy}");
        assert!(policy.contains("'wasm-unsafe-eval'") && policy.contains("object-src 'none'"), "{what}: {policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("'unsafe-eval'"), "{what}: {policy}");
        assert!(policy.contains("form-action 'self' http://127.0.0.1:"), "{what}: the identity provider: {policy}");
    }

    // The page's inline scripts carry the nonce its header names, and every page gets a new one.
    let nonce_of = |policy: &str| policy.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_string();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let page = client().get(server.url("/")).header("accept", "text/html").send().await.unwrap();
        let nonce = nonce_of(header(page.headers(), "content-security-policy"));
        let html = page.text().await.unwrap();
        let inline_scripts = html.matches("<script").count();
        assert!(inline_scripts >= 1, "the hydration script");
        assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), inline_scripts, "every script: {html}");
        seen.push(nonce);
    }
    assert_ne!(seen[0], seen[1], "a nonce is used once");
}

#[tokio::test]
async fn no_page_may_be_framed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for (what, headers) in answers(&server).await {
        assert!(header(&headers, "content-security-policy").ends_with("frame-ancestors 'none'"), "{what}");
        assert_eq!(header(&headers, "x-frame-options"), "DENY", "{what}");
    }
}

#[tokio::test]
async fn urls_are_never_sent_to_other_sites_as_referrers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for (what, headers) in answers(&server).await {
        assert_eq!(header(&headers, "referrer-policy"), "same-origin", "{what}");
    }
}

#[tokio::test]
async fn content_types_are_not_sniffed_and_windows_are_not_shared_with_other_sites() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for (what, headers) in answers(&server).await {
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header(&headers, "cross-origin-opener-policy"), "same-origin", "{what}");
    }
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let plain = TestServer::start(&dir).await;
    for (what, headers) in answers(&plain).await {
        assert!(headers.get("strict-transport-security").is_none(), "{what}: not over http");
    }
    let dir = tempfile::tempdir().unwrap();
    let behind_tls = TestServer::start_with(&dir, |config| {
        config.public_url = Url::parse("https://berth.example.test").unwrap();
    })
    .await;
    let probe = client().get(behind_tls.url("/healthz")).send().await.unwrap();
    assert_eq!(header(probe.headers(), "strict-transport-security"), "max-age=63072000; includeSubDomains");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_before_anything_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| config.http.max_body_bytes = 4096).await;
    let alice = Browser::signed_in(&server, "alice").await;
    let purpose = "x".repeat(5000);
    let form = crate::requests::with(crate::requests::form("too-big"), "purpose", &purpose);
    let response = crate::requests::post(&alice, &server, "requests/submit", &form).await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.text().await.unwrap(), "The request is larger than Berth accepts (4 KiB at most).");
    // Also when the length is not declared up front (a streamed body is cut off at the limit).
    let chunks = futures_util::stream::iter([vec![b'a'; 3000], vec![b'b'; 3000]].map(Ok::<_, std::io::Error>));
    let streamed = alice
        .http
        .post(server.url("/api/requests/submit"))
        .header("origin", &server.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);
    // Nothing was stored.
    assert_eq!(crate::requests::mine(&alice, &server).await.total, 0);
}

/// A client whose connections come from `address` (any of 127.0.0.0/8 reaches a loopback server).
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn sign_ins_are_limited_per_address_with_a_clear_429() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| config.http.rate_limits.sign_in_per_minute = 3).await;
    let here = client_from(Ipv4Addr::new(127, 0, 0, 1));
    for _ in 0..3 {
        assert_eq!(here.get(server.url("/auth/login")).send().await.unwrap().status(), 303);
    }
    let refused = here.get(server.url("/auth/callback?state=x&code=y")).send().await.unwrap();
    assert_eq!(refused.status(), 429, "the callback counts too");
    let wait: u64 = header(refused.headers(), "retry-after").parse().unwrap();
    assert!((1..=20).contains(&wait), "a bucket of 3 a minute refills one every 20 s: {wait}");
    assert_eq!(refused.text().await.unwrap(), format!("Too many requests. Wait {wait} seconds and try again."));
    // Another address has its own allowance.
    let elsewhere = client_from(Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(elsewhere.get(server.url("/auth/login")).send().await.unwrap().status(), 303);
}

#[tokio::test]
async fn server_functions_are_limited_per_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| {
        config.http.rate_limits.server_functions_per_session_per_minute = 5;
    })
    .await;
    let (alice, bob) = (Browser::signed_in(&server, "alice").await, Browser::signed_in(&server, "bob").await);
    for _ in 0..5 {
        assert_eq!(alice.call(&server, "session").await.status(), 200);
    }
    let refused = alice.call(&server, "session").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let error: ApiError = refused.json().await.unwrap();
    assert!(matches!(error, ApiError::TooManyRequests { retry_after_seconds: 1..=12 }), "{error:?}");
    assert!(error.to_string().starts_with("Too many requests. Wait "), "what the page shows: {error}");
    // The other POSTs count too: a kubeconfig download mints a token.
    let download = alice.http.post(server.url("/requests/any/kubeconfig")).header("origin", &server.base).send().await;
    assert_eq!(download.unwrap().status(), 429);
    // bob, from the same address, is not held up by alice.
    assert_eq!(bob.call(&server, "session").await.status(), 200);
}

#[tokio::test]
async fn server_functions_are_limited_per_address_whatever_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| {
        config.http.rate_limits.server_functions_per_address_per_minute = 4;
    })
    .await;
    let call = |http: reqwest::Client| {
        let (url, origin) = (server.url("/api/session"), server.base.clone());
        async move { http.post(url).header("origin", origin).send().await.unwrap().status() }
    };
    let here = Ipv4Addr::new(127, 0, 0, 1);
    // New clients each time: no session cookie to tell them apart, only the address.
    for _ in 0..4 {
        assert_eq!(call(client_from(here)).await, 200);
    }
    assert_eq!(call(client_from(here)).await, 429);
    assert_eq!(call(client_from(Ipv4Addr::new(127, 0, 0, 3))).await, 200, "another address");
    // Pages and probes are not server functions: not limited.
    assert_eq!(client_from(here).get(server.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_it_forwards_is_the_one_limited() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| {
        config.http.trusted_proxy_hops = 1;
        config.http.rate_limits.sign_in_per_minute = 2;
    })
    .await;
    // What the client claims (left) is not trusted; what the proxy appended (right) is.
    let login = |forwarded: &'static str| {
        let url = server.url("/auth/login");
        async move { client().get(url).header("x-forwarded-for", forwarded).send().await.unwrap().status() }
    };
    assert_eq!(login("203.0.113.9, 198.51.100.1").await, 303);
    assert_eq!(login("203.0.113.10, 198.51.100.1").await, 303);
    assert_eq!(login("203.0.113.11, 198.51.100.1").await, 429, "a new claimed address does not help");
    assert_eq!(login("198.51.100.2").await, 303, "another client behind the proxy");
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_in_prometheus_format() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = config_in(dir.path(), listener.local_addr().unwrap());
    config.http.rate_limits.sign_in_per_minute = 2;
    let berth = Berth::build(&config).await.unwrap();
    let metrics = berth.metrics_router();
    let server = TestServer::serve(listener, berth).await;
    let metrics_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", metrics_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(metrics_listener, metrics).await });

    // Not on the public listener.
    assert_eq!(client().get(server.url("/metrics")).send().await.unwrap().status(), 404);

    let alice = Browser::signed_in(&server, "alice").await;
    crate::requests::submit_ok(&alice, &server, &crate::requests::form(&crate::cluster::unique("metrics"))).await;
    client().get(server.url("/healthz")).send().await.unwrap();
    client().get(server.url("/auth/login")).send().await.unwrap(); // over the sign-in limit of 2

    let response = client().get(&metrics_url).send().await.unwrap();
    assert_eq!(
        header(response.headers(), "content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"berth_http_requests_total{method="GET",route="/healthz",status="200"} 1"#,
        r#"berth_http_requests_total{method="POST",route="/api/requests/submit",status="200"} 1"#,
        r#"berth_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"berth_http_request_duration_seconds_count{method="GET",route="/healthz"} 1"#,
        r#"berth_sign_ins_total{outcome="signed_in"} 1"#,
        r#"berth_rate_limited_total{limit="sign_in"} 1"#,
        r#"berth_requests{state="pending"} 1"#,
        "berth_reconcile_queue_depth 0",
        "berth_leader 0",
        "# TYPE berth_provisioning_duration_seconds histogram",
        "# TYPE berth_revocation_failures counter",
        "# TYPE berth_drift_watched_objects gauge",
    ] {
        assert!(text.lines().any(|line| line == expected), "missing {expected:?} in\n{text}");
    }
}

#[tokio::test]
async fn metrics_answer_only_the_bearer_of_the_configured_token() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = config_in(dir.path(), listener.local_addr().unwrap());
    config.metrics.bearer_token = Some("s3cret-token-for-prometheus".to_string().into());
    let berth = Berth::build(&config).await.unwrap();
    let metrics = berth.metrics_router();
    let metrics_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", metrics_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(metrics_listener, metrics).await });

    for authorization in
        [None, Some("Bearer wrong"), Some("Bearer s3cret-token-for-prometheu"), Some("s3cret-token-for-prometheus")]
    {
        let mut request = client().get(&metrics_url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert_eq!(header(response.headers(), "www-authenticate"), "Bearer realm=\"berth-metrics\"");
    }
    let response =
        client().get(&metrics_url).header("authorization", "Bearer s3cret-token-for-prometheus").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("berth_leader"));
}

#[tokio::test]
async fn cross_site_requests_are_refused_before_they_spend_the_person_s_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| {
        config.http.rate_limits.server_functions_per_session_per_minute = 3;
    })
    .await;
    let alice = Browser::signed_in(&server, "alice").await;
    // Another site's page makes alice's browser post again and again (her session cookie goes along).
    for _ in 0..10 {
        let forged =
            alice.http.post(server.url("/api/session")).header("origin", "https://evil.example").send().await.unwrap();
        assert_eq!(forged.status(), 403, "refused as cross-site, and not counted");
    }
    for _ in 0..3 {
        assert_eq!(alice.call(&server, "session").await.status(), 200, "her own allowance is whole");
    }
}

#[tokio::test]
async fn pages_and_answers_with_a_person_s_data_are_kept_out_of_caches() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let alice = Browser::signed_in(&server, "alice").await;
    for path in ["/", "/requests", "/access", "/requests/new"] {
        let page = alice.get(&server.url(path)).await;
        assert_eq!(header(page.headers(), "cache-control"), "private, no-store", "{path}");
    }
    let answer = alice.call(&server, "session").await;
    assert_eq!(header(answer.headers(), "cache-control"), "private, no-store", "a server function's answer");
}
