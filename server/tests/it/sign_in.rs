//! Sign-in, sessions and roles against the real development identity provider (`oidc-provider`), driven
//! over HTTP the way a browser drives it; and the attacks on that round trip, each answered.

use std::time::Duration;

use app::admin::UserSummary;
use app::auth::{Role, SessionView};
use app::error::ApiError;

use crate::support::{Browser, TestServer, client, location};

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response.cookies().find(|cookie| cookie.name() == "berth_session").map(|cookie| cookie.value().to_string())
}

/// A server function called with a hand-made cookie header (an old, copied or forged session id).
async fn call_with_cookie(server: &TestServer, endpoint: &str, session_id: &str) -> reqwest::Response {
    client()
        .post(server.url(&format!("/api/{endpoint}")))
        .header("accept", "application/json")
        .header("origin", &server.base)
        .header("cookie", format!("berth_session={session_id}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_person_signs_in_with_the_role_their_groups_grant() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for (user, expected) in [("alice", Role::Developer), ("bob", Role::Approver), ("carol", Role::Admin)] {
        let browser = Browser::new();
        let started = std::time::Instant::now();
        let answer = browser.sign_in(&server, user, "/requests").await;
        println!("FIGURE sign-in round trip over HTTP ({user}): {} ms", started.elapsed().as_millis());
        assert_eq!(answer.status(), 303);
        assert_eq!(location(&answer).path(), "/requests", "{user} lands on the page asked for");
        let cookie = answer.cookies().find(|c| c.name() == "berth_session").expect("session cookie set");
        assert!(cookie.http_only(), "HttpOnly");
        assert!(cookie.same_site_lax(), "SameSite=Lax");
        assert!(!cookie.secure(), "not Secure on a plain-http public URL");
        assert_eq!(cookie.path(), Some("/"));
        match browser.session(&server).await {
            SessionView::SignedIn(person, role) => {
                assert_eq!(role, expected, "{user}");
                assert!(person.email.as_deref().unwrap().starts_with(user));
            }
            other => panic!("{user}: {other:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn someone_without_a_berth_group_lands_on_no_access_and_may_do_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let dave = Browser::new();
    let answer = dave.sign_in(&server, "dave", "/admin").await;
    assert_eq!(location(&answer).path(), "/no-access", "not the page asked for");
    assert!(matches!(dave.session(&server).await, SessionView::NoAccess(person) if person.display_name == "Dave Dunn"));
    let page = dave.get(&server.url("/no-access")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("none of your groups gives access to Berth"));
    let admin_page = dave.get(&server.url("/admin")).await;
    assert_eq!(admin_page.status(), 403, "a page for a role is refused, not redirected to sign-in again");
    assert!(admin_page.text().await.unwrap().contains("No access to Berth"));
    let call = dave.call(&server, "users").await;
    assert_eq!(call.status(), 403);
    assert_eq!(call.json::<ApiError>().await.unwrap(), ApiError::Forbidden);
    server.stop().await;
}

#[tokio::test]
async fn server_functions_answer_401_without_a_session_and_403_for_the_wrong_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let anonymous = Browser::new();
    let response = anonymous.call(&server, "users").await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<ApiError>().await.unwrap(), ApiError::SignInRequired);

    for (user, status) in [("alice", 403), ("bob", 403), ("carol", 200)] {
        let browser = Browser::new();
        browser.sign_in(&server, user, "/").await;
        let response = browser.call(&server, "users").await;
        assert_eq!(response.status(), status, "{user}");
        if status == 403 {
            assert_eq!(response.json::<ApiError>().await.unwrap(), ApiError::Forbidden, "{user}");
        } else {
            let users: Vec<UserSummary> = response.json().await.unwrap();
            let mut names: Vec<_> = users.iter().map(|u| (u.subject.as_str(), u.role)).collect();
            names.sort();
            assert_eq!(
                names,
                [("alice", Some(Role::Developer)), ("bob", Some(Role::Approver)), ("carol", Some(Role::Admin))],
                "the users table records everyone who signed in"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn every_server_function_except_the_public_ones_needs_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    // Public on purpose: "who am I" answers visitors before they sign in.
    let public = ["/api/session"];
    let mut checked = 0;
    for (path, _method) in leptos::server_fn::axum::server_fn_paths() {
        let response = client()
            .post(server.url(path))
            .header("accept", "application/json")
            .header("origin", &server.base)
            .send()
            .await
            .unwrap();
        if public.contains(&path) {
            assert_eq!(response.status(), 200, "{path} is public");
        } else {
            assert_eq!(response.status(), 401, "{path} answered an anonymous call");
            checked += 1;
        }
    }
    assert!(checked >= 1, "no protected server function found: registration is broken");
    server.stop().await;
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_the_old_one_is_worthless() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let browser = Browser::new();
    let start = browser.get(&server.url("/auth/login?return_to=/")).await;
    let before = session_cookie(&start).expect("a pre-sign-in session holds the pending sign-in");
    let callback = browser.sign_in_at_provider(&server, location(&start), "carol").await;
    let answer = browser.get(callback.as_str()).await;
    let after = session_cookie(&answer).expect("a new session cookie at sign-in");
    assert_ne!(before, after, "session fixation: the id must change at sign-in");
    assert!(matches!(browser.session(&server).await, SessionView::SignedIn(_, Role::Admin)));
    let planted = call_with_cookie(&server, "session", &before).await.json::<SessionView>().await.unwrap();
    assert_eq!(planted, SessionView::Anonymous, "the pre-sign-in id does not carry the sign-in");
    server.stop().await;
}

#[tokio::test]
async fn a_callback_with_a_wrong_or_missing_state_is_refused_without_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let browser = Browser::new();
    let callback = browser.authorize(&server, "carol", "/admin").await;
    let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();

    for tampered in [
        server.url(&format!("/auth/callback?code={code}&state=forged-state")),
        server.url(&format!("/auth/callback?code={code}")),
        server.url("/auth/callback"),
    ] {
        let answer = browser.get(&tampered).await;
        assert_eq!(answer.status(), 303, "{tampered}");
        assert_eq!(location(&answer).as_str(), server.url("/sign-in/failed?reason=expired"), "{tampered}");
        assert_eq!(browser.session(&server).await, SessionView::Anonymous, "{tampered}");
    }
    // The genuine callback still works: the refusals above were about the state, nothing else.
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(location(&answer).path(), "/admin");
    assert!(matches!(browser.session(&server).await, SessionView::SignedIn(_, Role::Admin)));
    server.stop().await;
}

#[tokio::test]
async fn a_replayed_authorization_code_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let victim = Browser::new();
    let callback = victim.authorize(&server, "carol", "/").await;
    assert_eq!(location(&victim.get(callback.as_str()).await).path(), "/");

    // The same callback URL again (from history, a log, a proxy): its state was used up.
    let again = victim.get(callback.as_str()).await;
    assert_eq!(location(&again).as_str(), server.url("/sign-in/failed?reason=expired"));

    // An attacker who got the code starts a sign-in of their own and pastes the victim's code into it:
    // Berth redeems it with the attacker's PKCE verifier, and the provider refuses (code used, verifier wrong).
    let attacker = Browser::new();
    let own_start = attacker.get(&server.url("/auth/login?return_to=/")).await;
    let own_state = location(&own_start).query_pairs().find(|(k, _)| k == "state").unwrap().1.to_string();
    let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let answer = attacker.get(&server.url(&format!("/auth/callback?code={code}&state={own_state}"))).await;
    assert_eq!(location(&answer).as_str(), server.url("/sign-in/failed?reason=refused"));
    assert_eq!(attacker.session(&server).await, SessionView::Anonymous);
    server.stop().await;
}

#[tokio::test]
async fn a_return_path_to_another_site_lands_on_the_start_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    for hostile in ["//evil.example/x", "https://evil.example/", "/%5Cevil.example", "/auth/logout"] {
        let browser = Browser::new();
        let answer = browser.sign_in(&server, "alice", hostile).await;
        assert_eq!(answer.headers()["location"], "/", "{hostile}");
    }
    // A deep link with a query survives.
    let browser = Browser::new();
    let answer = browser.sign_in(&server, "alice", "/requests%3Fstatus%3Dpending").await;
    assert_eq!(answer.headers()["location"], "/requests?status=pending");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| {
        config.session.idle_seconds = 2;
        config.session.absolute_seconds = 60;
    })
    .await;
    let browser = Browser::new();
    browser.sign_in(&server, "carol", "/").await;
    assert_eq!(browser.call(&server, "users").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    assert_eq!(browser.call(&server, "users").await.status(), 401, "idle for longer than idle_seconds");
    assert_eq!(browser.session(&server).await, SessionView::Anonymous);
    server.stop().await;
}

#[tokio::test]
async fn an_active_session_still_ends_at_its_absolute_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&dir, |config| {
        config.session.idle_seconds = 4;
        config.session.absolute_seconds = 4;
    })
    .await;
    let browser = Browser::new();
    browser.sign_in(&server, "carol", "/").await;
    let signed_in = std::time::Instant::now();
    // Busy every second: the idle lifetime is renewed each time and never runs out.
    while signed_in.elapsed() < Duration::from_secs(3) {
        assert_eq!(browser.call(&server, "users").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(signed_in.elapsed())).await;
    assert_eq!(browser.call(&server, "users").await.status(), 401, "ended by the absolute lifetime");
    server.stop().await;
}

#[tokio::test]
async fn cross_site_requests_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let browser = Browser::new();
    browser.sign_in(&server, "carol", "/").await;

    // A server function called from another site's page (the browser sends that site as Origin).
    let forged = browser
        .http
        .post(server.url("/api/users"))
        .header("accept", "application/json")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(forged.json::<ApiError>().await.unwrap(), ApiError::CrossSiteRequest);

    // Sign-out forced from another site, or with neither Origin nor Referer: refused, session intact.
    let forced = browser.http.post(server.url("/auth/logout")).header("origin", "https://evil.example").send().await;
    assert_eq!(forced.unwrap().status(), 403);
    let bare = browser.http.post(server.url("/auth/logout")).send().await.unwrap();
    assert_eq!(bare.status(), 403);
    assert!(matches!(browser.session(&server).await, SessionView::SignedIn(_, Role::Admin)), "still signed in");
    server.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session_here_and_at_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let browser = Browser::new();
    let answer = browser.sign_in(&server, "carol", "/").await;
    let session_id = session_cookie(&answer).unwrap();

    let out = browser.http.post(server.url("/auth/logout")).header("origin", &server.base).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let end_session = location(&out);
    assert!(
        end_session.as_str().starts_with(&format!("{}/session/end", crate::support::dev_idp_url())),
        "{end_session}"
    );
    let parameters: Vec<(String, String)> = end_session.query_pairs().into_owned().collect();
    assert!(parameters.contains(&("client_id".into(), "berth".into())), "{parameters:?}");
    assert!(parameters.contains(&("post_logout_redirect_uri".into(), server.url("/"))), "{parameters:?}");
    assert!(!end_session.as_str().contains("id_token_hint"), "Berth keeps no ID token to send");

    assert_eq!(browser.session(&server).await, SessionView::Anonymous);
    let copied = call_with_cookie(&server, "users", &session_id).await;
    assert_eq!(copied.status(), 401, "a copy of the old cookie is worthless after sign-out");
    server.stop().await;
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure_and_host_prefixed() {
    let dir = tempfile::tempdir().unwrap();
    // As behind a TLS-terminating proxy: Berth itself listens on plain loopback.
    let server = TestServer::start_with(&dir, |config| {
        config.public_url = url::Url::parse("https://berth.example.test").unwrap();
    })
    .await;
    let response = client().get(server.url("/auth/login?return_to=/")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.cookies().next().expect("the pending sign-in's session cookie");
    assert_eq!(cookie.name(), "__Host-berth_session");
    assert!(cookie.secure() && cookie.http_only() && cookie.same_site_lax(), "{cookie:?}");
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None, "__Host- cookies carry no Domain");
    // The provider is told to send the browser back to the public address, not the loopback one.
    let authorization = location(&response);
    let redirect = authorization.query_pairs().find(|(k, _)| k == "redirect_uri").unwrap().1.to_string();
    assert_eq!(redirect, "https://berth.example.test/auth/callback");
    server.stop().await;
}
