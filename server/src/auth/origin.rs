//! Cross-site request forgery: every state-changing request (any method but GET, HEAD and OPTIONS) must come
//! from a page of Berth's own origin.
//!
//! Two defences: the session cookie is `SameSite=Lax`, so browsers leave it off cross-site POSTs; and this
//! middleware refuses such requests outright, whatever cookies they carry. The origin is read from `Origin`
//! (sent by browsers on every POST), else from `Referer`; a request with neither is refused too, so clients
//! of the pages' server functions outside a browser must send `Origin` with the public URL. The machine API
//! (`/api/v1/`) is exempt: it authenticates by bearer token only, never by cookie. `Sec-Fetch-Site: cross-site` is refused
//! even when the other headers look right.

use app::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::error::ErrorReply;

/// Berth's own origin (`scheme://host[:port]`), derived from the public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin(String);

impl PublicOrigin {
    pub fn of(public_url: &Url) -> Self {
        Self(public_url.origin().ascii_serialization())
    }
}

/// Whether a request with these headers may change state.
pub fn same_origin(headers: &HeaderMap, ours: &PublicOrigin) -> bool {
    let header_text = |name| headers.get(name).and_then(|value: &header::HeaderValue| value.to_str().ok());
    if header_text(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return false;
    }
    if let Some(origin) = header_text(header::ORIGIN) {
        return origin == ours.0;
    }
    header_text(header::REFERER)
        .and_then(|referer| Url::parse(referer).ok())
        .is_some_and(|referer| referer.origin().ascii_serialization() == ours.0)
}

pub async fn refuse_cross_site(State(ours): State<PublicOrigin>, request: Request, next: Next) -> Response {
    // The machine API reads no cookie, only a bearer token another site cannot make a browser send. (The
    // server functions under `/api/` do read the session cookie: they are checked.)
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || request.uri().path().starts_with(crate::api::PREFIX)
        || same_origin(request.headers(), &ours)
    {
        return next.run(request).await;
    }
    tracing::warn!(
        method = %request.method(),
        path = request.uri().path(),
        origin = ?request.headers().get(header::ORIGIN),
        "refused a cross-site request"
    );
    // The server-function error format, which the UI shows as a message (other routes read the same text).
    ErrorReply::json(ApiError::CrossSiteRequest).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (header::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    fn ours() -> PublicOrigin {
        PublicOrigin::of(&Url::parse("https://berth.example.com").unwrap())
    }

    #[test]
    fn our_origin_or_referer_is_accepted() {
        assert!(same_origin(&headers(&[("origin", "https://berth.example.com")]), &ours()));
        assert!(same_origin(&headers(&[("referer", "https://berth.example.com/requests?x=1")]), &ours()));
        assert!(same_origin(
            &headers(&[("origin", "https://berth.example.com"), ("sec-fetch-site", "same-origin")]),
            &ours()
        ));
    }

    #[test]
    fn other_origins_and_requests_without_either_header_are_refused() {
        for pairs in [
            &[("origin", "https://evil.example")][..],
            &[("origin", "null")],
            &[("origin", "http://berth.example.com")],
            &[("origin", "https://berth.example.com.evil.example")],
            &[("referer", "https://evil.example/https://berth.example.com/")],
            &[("origin", "https://evil.example"), ("referer", "https://berth.example.com/")],
            &[("origin", "https://berth.example.com"), ("sec-fetch-site", "cross-site")],
            &[],
        ] {
            assert!(!same_origin(&headers(pairs), &ours()), "{pairs:?}");
        }
    }
}
