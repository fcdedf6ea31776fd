//! ID tokens the real provider would never issue: for another audience, with a wrong nonce, expired, from
//! another issuer, signed with a key the provider does not publish. A real provider cannot be made to produce
//! these, so a `ForgingProvider` does: a minimal OpenID provider (discovery, JWKS, token endpoint) that signs
//! whatever claims the test asks for with its own RSA key. The control case proves it is a working provider,
//! so each refusal is about the forged claim and nothing else.

use std::sync::{Arc, Mutex};

use app::auth::SessionView;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{TimeDelta, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AdditionalClaims, Audience, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId, JsonWebKeySet, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::support::{Browser, TestServer, location};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Groups {
    groups: Vec<String>,
}
impl AdditionalClaims for Groups {}

type ForgedIdToken = IdToken<Groups, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// What the next ID token says, relative to what Berth expects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Forgery {
    /// Everything right: the control case.
    Genuine,
    OtherAudience,
    /// Berth's audience plus one it does not trust.
    ExtraAudience,
    WrongNonce,
    Expired,
    OtherIssuer,
    /// Signed with a key that is not in the provider's JWKS.
    UnpublishedKey,
}

struct Forger {
    issuer: String,
    published: CoreRsaPrivateSigningKey,
    unpublished: CoreRsaPrivateSigningKey,
    /// The nonce of the sign-in being forged, and the forgery to apply.
    next: Mutex<Option<(String, Forgery)>>,
}

/// A PKCS#1 RSA key from the openssl command line (the `rsa` crate's key generation takes many seconds in a
/// debug build).
fn rsa_key(kid: &str) -> CoreRsaPrivateSigningKey {
    let output = std::process::Command::new("openssl").args(["genrsa", "-traditional", "2048"]).output().unwrap();
    assert!(output.status.success(), "openssl genrsa: {}", String::from_utf8_lossy(&output.stderr));
    CoreRsaPrivateSigningKey::from_pem(
        std::str::from_utf8(&output.stdout).unwrap(),
        Some(JsonWebKeyId::new(kid.into())),
    )
    .unwrap()
}

struct ForgingProvider {
    forger: Arc<Forger>,
    task: tokio::task::JoinHandle<()>,
}

impl ForgingProvider {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let forger = Arc::new(Forger {
            issuer,
            published: rsa_key("published"),
            unpublished: rsa_key("unpublished"),
            next: Mutex::new(None),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(forger.clone());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { forger, task }
    }

    fn forge_next(&self, nonce: String, forgery: Forgery) {
        *self.forger.next.lock().unwrap() = Some((nonce, forgery));
    }
}

impl Drop for ForgingProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn discovery(State(forger): State<Arc<Forger>>) -> Json<Value> {
    let base = &forger.issuer;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(forger): State<Arc<Forger>>) -> Json<JsonWebKeySet<CoreJsonWebKey>> {
    Json(JsonWebKeySet::new(vec![forger.published.as_verification_key()]))
}

async fn token(State(forger): State<Arc<Forger>>) -> Json<Value> {
    let (nonce, forgery) = forger.next.lock().unwrap().take().expect("the test set up a forgery");
    let now = Utc::now();
    let audiences = match forgery {
        Forgery::OtherAudience => vec![Audience::new("another-app".into())],
        Forgery::ExtraAudience => vec![Audience::new("berth".into()), Audience::new("another-app".into())],
        _ => vec![Audience::new("berth".into())],
    };
    let issuer =
        if forgery == Forgery::OtherIssuer { "https://impostor.example".to_string() } else { forger.issuer.clone() };
    let (issued, expires) = if forgery == Forgery::Expired {
        (now - TimeDelta::hours(2), now - TimeDelta::hours(1))
    } else {
        (now, now + TimeDelta::minutes(5))
    };
    let nonce = if forgery == Forgery::WrongNonce { "not-the-nonce-berth-sent".to_string() } else { nonce };
    let claims = IdTokenClaims::new(
        IssuerUrl::new(issuer).unwrap(),
        audiences,
        expires,
        issued,
        StandardClaims::new(SubjectIdentifier::new("mallory".into())),
        Groups { groups: vec!["berth-admins".into()] },
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let key = if forgery == Forgery::UnpublishedKey { &forger.unpublished } else { &forger.published };
    let id_token = ForgedIdToken::new(claims, key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap();
    Json(
        json!({ "access_token": "unused", "token_type": "Bearer", "expires_in": 60, "id_token": id_token.to_string() }),
    )
}

/// Starts a sign-in at `server`, has the provider forge the ID token, and returns the callback's answer.
async fn sign_in_with(server: &TestServer, provider: &ForgingProvider, browser: &Browser, forgery: Forgery) -> String {
    let start = browser.get(&server.url("/auth/login?return_to=/admin")).await;
    let authorization = location(&start);
    let parameter = |name: &str| authorization.query_pairs().find(|(k, _)| k == name).unwrap().1.to_string();
    assert_eq!(parameter("code_challenge_method"), "S256", "PKCE with SHA-256");
    provider.forge_next(parameter("nonce"), forgery);
    let callback = server.url(&format!("/auth/callback?code=any-code&state={}", parameter("state")));
    let answer = browser.get(&callback).await;
    assert_eq!(answer.status(), 303);
    answer.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn forged_id_tokens_are_refused_and_a_genuine_one_is_accepted() {
    let provider = ForgingProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let issuer = provider.forger.issuer.clone();
    let server = TestServer::start_with(&dir, |config| {
        config.auth = Some(crate::support::auth_config(&issuer));
    })
    .await;

    for forgery in [
        Forgery::OtherAudience,
        Forgery::ExtraAudience,
        Forgery::WrongNonce,
        Forgery::Expired,
        Forgery::OtherIssuer,
        Forgery::UnpublishedKey,
    ] {
        let browser = Browser::new();
        let destination = sign_in_with(&server, &provider, &browser, forgery).await;
        assert_eq!(destination, "/sign-in/failed?reason=invalid", "{forgery:?}");
        assert_eq!(browser.session(&server).await, SessionView::Anonymous, "{forgery:?} left a session");
    }

    let browser = Browser::new();
    assert_eq!(sign_in_with(&server, &provider, &browser, Forgery::Genuine).await, "/admin", "control case");
    assert!(matches!(browser.session(&server).await, SessionView::SignedIn(_, app::auth::Role::Admin)));
    server.stop().await;
}
