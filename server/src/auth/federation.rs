//! Workload identity federation: checking a CI system's OIDC token against the trust rules
//! (`[[federation.trust]]`, `config/federation.rs`). The token is a JWT signed by the CI system's issuer:
//! its signature is checked against the keys the issuer publishes (its discovery document's `jwks_uri`, read
//! when first needed and kept for a while), then its expiry, then which rule trusts its audience and subject.
//!
//! The token is never stored or logged; what is logged is the issuer, subject and audiences it claimed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClaimsVerificationError, ClientId, IssuerUrl, Nonce};

use crate::config::TrustRule;

/// How long an issuer's keys are trusted before they are read again.
const KEYS_TTL: Duration = Duration::from_secs(15 * 60);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a token was not exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotTrusted {
    /// Not a token of a trusted issuer, or its signature or expiry is wrong: answered 401.
    Unverified(String),
    /// A genuine token of a trusted issuer, but no rule trusts its audience and subject: answered 403, and
    /// recorded in the audit trail of the grants the issuer's rules name.
    NoRule { issuer: String, subject: String, audiences: Vec<String> },
}

/// The trust rules and the issuers' keys.
pub struct Federation {
    rules: Vec<TrustRule>,
    http: reqwest::Client,
    keys: tokio::sync::Mutex<HashMap<String, (CoreJsonWebKeySet, Instant)>>,
}

impl Federation {
    pub fn new(rules: Vec<TrustRule>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // An issuer's endpoints must not send Berth's server to other addresses.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()?;
        Ok(Self { rules, http, keys: tokio::sync::Mutex::new(HashMap::new()) })
    }

    /// The rules of `issuer`.
    pub fn rules_of<'a>(&'a self, issuer: &'a str) -> impl Iterator<Item = &'a TrustRule> {
        self.rules.iter().filter(move |rule| rule.issuer == issuer)
    }

    /// The rule that trusts `token`, and the token's subject.
    pub async fn trust(&self, token: &str) -> Result<(&TrustRule, String), NotTrusted> {
        let unverified = |why: String| NotTrusted::Unverified(why);
        // The issuer it claims, to know whose keys to check it with (nothing else is read before the check).
        let issuer = claimed_issuer(token).ok_or_else(|| unverified("not a JWT with an issuer".to_string()))?;
        if self.rules_of(&issuer).next().is_none() {
            return Err(unverified(format!("no trust rule names the issuer {issuer:?}")));
        }
        let parsed: CoreIdToken = token.parse().map_err(|error| unverified(format!("not a JWT: {error}")))?;
        let issuer_url = IssuerUrl::new(issuer.clone()).map_err(|error| unverified(error.to_string()))?;
        let check = |keys: CoreJsonWebKeySet| {
            // The audience is matched against the rules below; the signature, issuer and expiry here.
            let verifier =
                CoreIdTokenVerifier::new_public_client(ClientId::new(String::new()), issuer_url.clone(), keys)
                    .require_audience_match(false);
            parsed.claims(&verifier, |_: Option<&Nonce>| Ok::<(), String>(())).cloned()
        };
        let claims = match check(self.keys_of(&issuer, false).await.map_err(unverified)?) {
            Ok(claims) => claims,
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                check(self.keys_of(&issuer, true).await.map_err(unverified)?)
                    .map_err(|error| unverified(error.to_string()))?
            }
            Err(error) => return Err(unverified(error.to_string())),
        };
        let subject = claims.subject().as_str().to_string();
        let audiences: Vec<String> = claims.audiences().iter().map(|audience| audience.as_str().to_string()).collect();
        let trusted = self
            .rules
            .iter()
            .find(|rule| rule.issuer == issuer && audiences.contains(&rule.audience) && rule.subject_matches(&subject));
        match trusted {
            Some(rule) => Ok((rule, subject)),
            None => Err(NotTrusted::NoRule { issuer, subject, audiences }),
        }
    }

    /// `issuer`'s signing keys: kept, or read now (`refresh`: read again unless just read).
    async fn keys_of(&self, issuer: &str, refresh: bool) -> Result<CoreJsonWebKeySet, String> {
        let mut kept = self.keys.lock().await;
        if let Some((keys, at)) = kept.get(issuer) {
            let age = at.elapsed();
            if age < KEYS_TTL && !(refresh && age > Duration::from_secs(10)) {
                return Ok(keys.clone());
            }
        }
        let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let discovery: serde_json::Value = self.get_json(&discovery_url).await?;
        let jwks_uri = discovery["jwks_uri"].as_str().ok_or_else(|| format!("{discovery_url} names no jwks_uri"))?;
        let keys: CoreJsonWebKeySet = serde_json::from_value(self.get_json(jwks_uri).await?)
            .map_err(|error| format!("{jwks_uri}: not a key set: {error}"))?;
        tracing::info!(issuer, "a CI issuer's signing keys were read");
        kept.insert(issuer.to_string(), (keys.clone(), Instant::now()));
        Ok(keys)
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let response = self.http.get(url).send().await.map_err(|error| format!("{url}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        response.json().await.map_err(|error| format!("{url}: {error}"))
    }
}

/// The `iss` claim of a JWT, read without checking anything.
fn claimed_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["iss"].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_read_from_the_payload_and_nothing_else_is_trusted_yet() {
        use base64::Engine as _;
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"iss":"https://ci.example.com","sub":"x"}"#);
        assert_eq!(claimed_issuer(&format!("e30.{payload}.sig")).as_deref(), Some("https://ci.example.com"));
        assert_eq!(claimed_issuer("not a token"), None);
        assert_eq!(claimed_issuer("e30.e30.sig"), None, "no issuer");
    }
}
