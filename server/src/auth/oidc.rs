//! The OpenID Connect client: the authorization-code flow with PKCE (S256), `state` and `nonce`, and the
//! checks on the ID token (signature against the provider's published keys, issuer, audience, expiry, nonce),
//! all done by the `openidconnect` crate.
//!
//! The provider's metadata (endpoints and signing keys) is discovered from the issuer on first use and kept
//! for [`METADATA_TTL`]; a failed discovery is retried on the next sign-in, so Berth starts and serves its
//! public pages while the provider is down. A token signed with a key Berth has not seen yet (the provider
//! rotated its keys) triggers one fresh discovery before it is rejected.
//!
//! Nothing here logs or stores a token: the ID token is checked, its claims are read, and it is dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenClaims, IdTokenFields,
    IdTokenVerifier, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope, StandardErrorResponse, StandardTokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use url::Url;

use super::return_path::ReturnPath;
use crate::config::AuthConfig;

/// How long discovered provider metadata (endpoints, signing keys) is trusted before it is fetched again.
pub const METADATA_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a started sign-in may take; longer and its `state` is refused.
pub const SIGN_IN_TIMEOUT_SECONDS: i64 = 10 * 60;
/// Calls to the provider give up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The claims besides the standard ones; the groups claim is looked up here by its configured name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type BerthTokenResponse = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// An ID token with Berth's claims, as the command line hands it over.
type CliIdToken =
    openidconnect::IdToken<OtherClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// `openidconnect`'s client with Berth's claims, built from discovered metadata: authorization endpoint set,
/// token and userinfo endpoints as the provider publishes them.
type BerthClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    BerthTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What a started sign-in must remember until the provider sends the browser back. Kept in the visitor's
/// (pre-sign-in) session on the server, removed when the callback arrives, never sent to the browser except
/// `state` (in the provider's URL, by design).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    nonce: String,
    pkce_verifier: String,
    pub return_to: ReturnPath,
    /// Unix seconds.
    pub started_at: i64,
}

impl PendingSignIn {
    pub fn expired(&self, now: i64) -> bool {
        // A minute of slack for another replica's clock being ahead of this one's.
        now - self.started_at > SIGN_IN_TIMEOUT_SECONDS || now + 60 < self.started_at
    }
}

/// A person the provider vouched for, read from a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub display_name: String,
    pub groups: Vec<String>,
}

/// Why a sign-in failed. The detail goes to the log; the person sees [`SignInError::reason`].
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the identity provider could not be reached: {0}")]
    Unavailable(String),
    #[error("the identity provider refused: {0}")]
    Refused(String),
    #[error("the identity provider's answer failed verification: {0}")]
    Invalid(String),
}

impl SignInError {
    /// The short code the "sign-in failed" page explains (`app/src/pages/sign_in.rs`).
    pub fn reason(&self) -> &'static str {
        match self {
            SignInError::Unavailable(_) => "unavailable",
            SignInError::Refused(_) => "refused",
            SignInError::Invalid(_) => "invalid",
        }
    }
}

struct Discovered {
    metadata: ProviderMetadataWithLogout,
    fetched_at: Instant,
}

pub struct OidcClient {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect_url: RedirectUrl,
    post_logout_redirect_url: PostLogoutRedirectUrl,
    scopes: Vec<Scope>,
    groups_claim: String,
    /// The command line's public client, whose ID tokens Berth exchanges for API tokens.
    cli_client_id: Option<ClientId>,
    http: reqwest::Client,
    /// One discovery at a time; the others wait for its result instead of all asking the provider.
    discovered: tokio::sync::Mutex<Option<Arc<Discovered>>>,
}

impl OidcClient {
    pub fn new(config: &AuthConfig, public_url: &Url) -> anyhow::Result<Self> {
        let redirect = match &config.redirect_url {
            Some(url) => url.clone(),
            None => public_url.join("/auth/callback")?,
        };
        let http = reqwest::Client::builder()
            // NB: following redirects from the provider's endpoints would let a compromised or misconfigured
            // provider point Berth's server at internal addresses.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()?;
        Ok(Self {
            issuer: IssuerUrl::new(config.issuer_url.clone())?,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(config.client_secret.expose_secret().to_string()),
            redirect_url: RedirectUrl::from_url(redirect),
            post_logout_redirect_url: PostLogoutRedirectUrl::from_url(public_url.join("/")?),
            scopes: config.scopes.iter().map(|scope| Scope::new(scope.clone())).collect(),
            groups_claim: config.groups_claim.clone(),
            cli_client_id: config.cli_client_id.clone().map(ClientId::new),
            http,
            discovered: tokio::sync::Mutex::new(None),
        })
    }

    /// The provider's metadata: cached, or discovered now. `refresh` forces a new discovery unless the cached
    /// one is very recent (so a flood of bad tokens cannot turn into a flood of discoveries).
    async fn metadata(&self, refresh: bool) -> Result<Arc<Discovered>, SignInError> {
        let mut cached = self.discovered.lock().await;
        if let Some(current) = cached.as_ref() {
            let age = current.fetched_at.elapsed();
            if age < METADATA_TTL && !(refresh && age > Duration::from_secs(10)) {
                return Ok(current.clone());
            }
        }
        let metadata = ProviderMetadataWithLogout::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|error| SignInError::Unavailable(crate::telemetry::error_chain(&error)))?;
        tracing::info!(issuer = %self.issuer.as_str(), "identity provider metadata discovered");
        let fresh = Arc::new(Discovered { metadata, fetched_at: Instant::now() });
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    fn client(&self, discovered: &Discovered) -> BerthClient {
        BerthClient::from_provider_metadata(
            discovered.metadata.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect_url.clone())
    }

    /// Starts a sign-in: the provider URL to send the browser to, and what to remember until it comes back.
    pub async fn start(&self, return_to: ReturnPath, now: i64) -> Result<(Url, PendingSignIn), SignInError> {
        let discovered = self.metadata(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = self
            .client(&discovered)
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingSignIn {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            started_at: now,
        };
        Ok((url, pending))
    }

    /// Finishes a sign-in: redeems `code` (with the PKCE verifier) at the token endpoint and verifies the ID
    /// token it returns against `pending`'s nonce.
    pub async fn finish(&self, pending: &PendingSignIn, code: String) -> Result<VerifiedIdentity, SignInError> {
        let discovered = self.metadata(false).await?;
        let client = self.client(&discovered);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|error| SignInError::Unavailable(format!("provider metadata: {error}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(response) => SignInError::Refused(format!(
                    "token endpoint: {}{}",
                    response.error().as_ref(),
                    response.error_description().map(|d| format!(" ({d})")).unwrap_or_default()
                )),
                RequestTokenError::Request(error) => {
                    SignInError::Unavailable(format!("token endpoint: {}", crate::telemetry::error_chain(&error)))
                }
                other => SignInError::Invalid(format!("token endpoint: {other}")),
            })?;
        let id_token = response
            .extra_fields()
            .id_token()
            .ok_or_else(|| SignInError::Invalid("the token response has no ID token".to_string()))?;
        let nonce = Nonce::new(pending.nonce.clone());

        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // Perhaps the provider rotated its keys since the last discovery: look again, once.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let refreshed = self.metadata(true).await?;
                let client = self.client(&refreshed);
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|error| SignInError::Invalid(format!("ID token: {error}")))?
                    .clone()
            }
            Err(other) => return Err(SignInError::Invalid(format!("ID token: {other}"))),
        };
        self.identity(&claims)
    }

    fn identity(&self, claims: &IdTokenClaims<OtherClaims, CoreGenderClaim>) -> Result<VerifiedIdentity, SignInError> {
        let subject = claims.subject().as_str().to_string();
        let email = claims.email().map(|email| email.as_str().to_string());
        let display_name = claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_string())
            .or_else(|| claims.preferred_username().map(|name| name.as_str().to_string()))
            .or_else(|| email.clone())
            .unwrap_or_else(|| subject.clone());
        let groups = read_groups(claims.additional_claims().claims.get(&self.groups_claim))
            .map_err(|problem| SignInError::Invalid(format!("claim {:?}: {problem}", self.groups_claim)))?;
        Ok(VerifiedIdentity {
            issuer: claims.issuer().as_str().to_string(),
            subject,
            email,
            display_name: clip(&display_name, 200),
            groups,
        })
    }

    /// Where to send the browser to end the provider's session too, if the provider says how (RP-initiated
    /// logout). Berth keeps no ID token, so it identifies itself by `client_id` instead of `id_token_hint`.
    pub async fn end_session_url(&self) -> Option<Url> {
        let discovered = match self.metadata(false).await {
            Ok(discovered) => discovered,
            Err(error) => {
                tracing::warn!(error = %error, "signing out without the provider's end-session endpoint");
                return None;
            }
        };
        let endpoint = discovered.metadata.additional_metadata().end_session_endpoint.clone()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_client_id(self.client_id.clone())
                .set_post_logout_redirect_uri(self.post_logout_redirect_url.clone())
                .http_get_url(),
        )
    }

    /// The scopes a sign-in asks for, space-separated (`openid` first).
    pub fn scopes_line(&self) -> String {
        std::iter::once("openid").chain(self.scopes.iter().map(|scope| scope.as_str())).collect::<Vec<_>>().join(" ")
    }

    /// The command line's client id, if it may sign in.
    pub fn cli_client_id(&self) -> Option<&str> {
        self.cli_client_id.as_ref().map(|id| id.as_str())
    }

    /// The person an ID token the command line got for its own client vouches for: signed by the provider,
    /// issued by it, for the command line's client, not expired, with the nonce the command line sent.
    pub async fn verify_cli_id_token(&self, id_token: &str, nonce: &str) -> Result<VerifiedIdentity, SignInError> {
        let client_id = self
            .cli_client_id
            .clone()
            .ok_or_else(|| SignInError::Refused("the command line's sign-in is not configured".to_string()))?;
        let token: CliIdToken = id_token.parse().map_err(|error| SignInError::Invalid(format!("ID token: {error}")))?;
        let nonce = Nonce::new(nonce.to_string());
        let verify = |discovered: &Discovered| {
            let keys = discovered.metadata.jwks().clone();
            let verifier = IdTokenVerifier::new_public_client(client_id.clone(), self.issuer.clone(), keys);
            token.claims(&verifier, &nonce).cloned()
        };
        let claims = match verify(&*self.metadata(false).await?) {
            Ok(claims) => claims,
            // Perhaps the provider rotated its keys since the last discovery: look again, once.
            Err(ClaimsVerificationError::SignatureVerification(_)) => verify(&*self.metadata(true).await?)
                .map_err(|error| SignInError::Invalid(format!("ID token: {error}")))?,
            Err(other) => return Err(SignInError::Invalid(format!("ID token: {other}"))),
        };
        self.identity(&claims)
    }

    /// The issuer as configured, for the mix-up check on the callback's `iss` parameter (RFC 9207).
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }
}

/// The groups claim: a list of strings (absent means no groups; a single string counts as one group, as some
/// providers send it for one-group members).
fn read_groups(value: Option<&serde_json::Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::String(group)) => Ok(vec![group.clone()]),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(|| format!("{item} is not a group name")))
            .collect(),
        Some(other) => Err(format!("expected a list of group names, got {other}")),
    }
}

/// At most `max` characters, so a provider cannot make Berth store an unbounded name.
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_are_read_from_a_list_a_single_string_or_nothing() {
        assert_eq!(read_groups(Some(&json!(["a", "b"]))).unwrap(), ["a", "b"]);
        assert_eq!(read_groups(Some(&json!("solo"))).unwrap(), ["solo"]);
        assert_eq!(read_groups(None).unwrap(), Vec::<String>::new());
        assert_eq!(read_groups(Some(&json!(null))).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn malformed_groups_are_an_error_not_an_empty_list() {
        assert!(read_groups(Some(&json!([1, 2]))).is_err());
        assert!(read_groups(Some(&json!({"admin": true}))).is_err());
    }

    #[test]
    fn a_pending_sign_in_expires_after_ten_minutes_and_cannot_come_from_the_future() {
        let pending = PendingSignIn {
            state: String::new(),
            nonce: String::new(),
            pkce_verifier: String::new(),
            return_to: ReturnPath::home(),
            started_at: 1_000,
        };
        assert!(!pending.expired(1_000 + SIGN_IN_TIMEOUT_SECONDS));
        assert!(pending.expired(1_001 + SIGN_IN_TIMEOUT_SECONDS));
        assert!(!pending.expired(999), "a little clock skew between replicas is tolerated");
        assert!(pending.expired(1_000 - 61));
    }
}
