//! Security headers on every response.
//!
//! The Content-Security-Policy allows only Berth's own origin, plus what the pages need: the WASM bundle
//! compiled in the browser (`'wasm-unsafe-eval'`, not `'unsafe-eval'`: JavaScript `eval` stays forbidden) and
//! the one inline `<script type="module">` Leptos writes to load it, which carries a fresh nonce per
//! response. Forms may post to Berth and to the identity provider (signing out posts to Berth, which
//! redirects to the provider's logout page, and browsers hold such redirects to `form-action`). No page
//! may be framed (`frame-ancestors 'none'`, and `X-Frame-Options` for old browsers).
//!
//! `Referrer-Policy: same-origin`: Berth's URLs (namespace names, filters) never leave in a `Referer`, while
//! the same-origin check on state-changing requests keeps its `Referer` fallback (`no-referrer` would also
//! turn their `Origin` into `null`).
//!
//! Pages and API answers carry `Cache-Control: private, no-store` unless they chose otherwise.
//!
//! HSTS only when the public URL is https: over plain http a browser ignores it anyway, and on a loopback
//! demo it would pin `localhost` to https for a year.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use url::Url;

/// The nonce of this response's inline scripts; read by the page renderer (see `lib.rs`).
#[derive(Debug, Clone)]
pub struct CspNonce(pub Arc<str>);

/// The fixed part of the headers, worked out once from the configuration.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    /// `form-action` sources besides `'self'`.
    form_targets: String,
    hsts: bool,
}

/// Two years, the figure browsers' preload lists ask for.
const HSTS: &str = "max-age=63072000; includeSubDomains";

impl SecurityHeaders {
    /// For a site at `public_url` whose identity provider is at `issuer_url`.
    pub fn new(public_url: &Url, issuer_url: &str) -> Self {
        let form_targets = Url::parse(issuer_url)
            .ok()
            .map(|issuer| issuer.origin().ascii_serialization())
            .filter(|origin| origin != "null")
            .unwrap_or_default();
        Self { form_targets, hsts: public_url.scheme() == "https" }
    }

    /// The policy for a response whose inline scripts carry `nonce`.
    pub fn content_security_policy(&self, nonce: &str) -> String {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self' {}; frame-ancestors 'none'",
            self.form_targets
        )
    }

    fn apply(&self, headers: &mut HeaderMap, nonce: &str) {
        if let Ok(policy) = HeaderValue::from_str(&self.content_security_policy(nonce)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
        headers
            .insert(HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin"));
        headers.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
        );
        if self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        }
    }
}

/// Gives the request a fresh nonce (for the page renderer) and sets the headers on its response.
pub async fn set_security_headers(
    State(policy): State<Arc<SecurityHeaders>>,
    mut request: Request,
    next: Next,
) -> Response {
    // 122 random bits from the OS generator; hex is a valid CSP nonce as it stands.
    let nonce: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    policy.apply(response.headers_mut(), &nonce);
    keep_out_of_caches(response.headers_mut());
    response
}

/// Pages and API answers show a signed-in person's data (their requests, kubeconfigs' facts): no browser or
/// proxy cache keeps them, so nobody reads them later from a shared machine's history or a proxy. Static
/// assets (the bundle, the stylesheet) and answers that chose their own caching keep theirs.
fn keep_out_of_caches(headers: &mut HeaderMap) {
    let personal = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.starts_with("text/html") || kind.starts_with("application/json"));
    if personal && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_wasm_and_the_nonce_but_no_eval_no_inline_code_and_no_framing() {
        let policy =
            SecurityHeaders::new(&Url::parse("https://berth.example.com").unwrap(), "https://sso.example.com/realms/x")
                .content_security_policy("abc123");
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"), "{policy}");
        assert!(!policy.contains("'unsafe-eval'") && !policy.contains("'unsafe-inline'"), "{policy}");
        assert!(policy.contains("form-action 'self' https://sso.example.com;"), "{policy}");
        assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");
    }

    #[test]
    fn pages_and_api_answers_are_kept_out_of_caches_and_assets_are_not() {
        let with_type = |kind: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(kind).unwrap());
            keep_out_of_caches(&mut headers);
            headers.get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(with_type("text/html; charset=utf-8").as_deref(), Some("private, no-store"));
        assert_eq!(with_type("application/json").as_deref(), Some("private, no-store"));
        assert_eq!(with_type("application/wasm"), None);
        assert_eq!(with_type("text/css"), None);
        let mut chosen = HeaderMap::new();
        chosen.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        chosen.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        keep_out_of_caches(&mut chosen);
        assert_eq!(chosen[header::CACHE_CONTROL], "no-store", "an answer's own choice stands");
    }

    #[test]
    fn hsts_only_behind_https() {
        let mut headers = HeaderMap::new();
        SecurityHeaders::new(&Url::parse("http://127.0.0.1:3000").unwrap(), "http://127.0.0.1:5556")
            .apply(&mut headers, "n");
        assert!(headers.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        SecurityHeaders::new(&Url::parse("https://berth.example.com").unwrap(), "https://sso.example.com")
            .apply(&mut headers, "n");
        assert_eq!(headers[header::STRICT_TRANSPORT_SECURITY], HSTS);
    }
}
