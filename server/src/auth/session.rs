//! Sessions: `tower-sessions` with its records in Berth's database, and the middleware that turns the session
//! of each request into the [`SessionView`] the app reads.
//!
//! Policy:
//! - The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`; with an https public URL also `Secure` and named with
//!   the `__Host-` prefix, so no subdomain can set or shadow it.
//! - The session id changes at sign-in (no session fixation) and the record is deleted at sign-out.
//! - Idle lifetime: the record and cookie expire after `session.idle_seconds` without use. Use renews them,
//!   at most every [`touch_interval`] so that page views do not each write to the database.
//! - Absolute lifetime: `session.absolute_seconds` after sign-in the session ends however active it is;
//!   roles are read at sign-in, so this bounds how long a role removed at the provider lingers in Berth.
//! - The session holds who signed in, their role and groups; never a token.

use app::auth::{Person, Role, SessionView};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use url::Url;

use crate::config::SessionConfig;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::sessions::SessionBackend;

/// Session key of the signed-in person.
pub const USER_KEY: &str = "user";
/// Session key of sign-ins started but not finished (see `routes.rs`).
pub const PENDING_KEY: &str = "pending_sign_ins";

/// Who is signed in, as kept in the session record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    /// `users.id`.
    pub user_id: String,
    pub display_name: String,
    pub email: Option<String>,
    /// `None`: signed in, but no group grants a role.
    pub role: Option<Role>,
    /// The groups of the sign-in. Absent from sessions begun before Berth kept them: those count in no group
    /// until their next sign-in (at most `session.absolute_seconds` away).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Unix seconds; the absolute lifetime counts from here.
    pub signed_in_at: i64,
    /// Unix seconds of the last renewal of the idle lifetime.
    pub touched_at: i64,
}

impl SessionUser {
    pub fn view(&self) -> SessionView {
        let person = Person {
            id: self.user_id.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            groups: self.groups.clone(),
        };
        match self.role {
            Some(role) => SessionView::SignedIn(person, role),
            None => SessionView::NoAccess(person),
        }
    }
}

/// The cookie name: `__Host-` prefixed when served over https (browsers then insist on `Secure`, `Path=/` and
/// no `Domain`).
pub fn cookie_name(public_url: &Url) -> &'static str {
    if public_url.scheme() == "https" { "__Host-berth_session" } else { "berth_session" }
}

pub fn layer(store: SessionBackend, config: &SessionConfig, public_url: &Url) -> SessionManagerLayer<SessionBackend> {
    SessionManagerLayer::new(store)
        .with_name(cookie_name(public_url))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(public_url.scheme() == "https")
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            i64::try_from(config.idle_seconds).unwrap_or(i64::MAX),
        )))
}

/// How often use renews the idle lifetime: every minute, or more often for very short idle lifetimes.
pub fn touch_interval(config: &SessionConfig) -> i64 {
    i64::try_from(config.idle_seconds / 2).unwrap_or(i64::MAX).clamp(1, 60)
}

/// What to do with a stored session at `now`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Still valid; renew the idle lifetime.
    Touch,
    /// Past its absolute lifetime.
    End,
}

/// How far another replica's clock may be ahead before a session it stamped counts as from the future.
const CLOCK_SKEW_SECONDS: i64 = 300;

pub fn judge(user: &SessionUser, config: &SessionConfig, now: i64) -> Verdict {
    let absolute = i64::try_from(config.absolute_seconds).unwrap_or(i64::MAX);
    if now.saturating_sub(user.signed_in_at) >= absolute || now.saturating_add(CLOCK_SKEW_SECONDS) < user.signed_in_at {
        Verdict::End
    } else if now.saturating_sub(user.touched_at) >= touch_interval(config) {
        Verdict::Touch
    } else {
        Verdict::Keep
    }
}

/// Resolves the request's session into a [`SessionView`] request extension (read by `app::auth`), ending
/// sessions past their absolute lifetime, and sends visitors who are not signed in from a page that needs a
/// role to sign in first, remembering the page.
pub async fn resolve(State(state): State<AppState>, session: Session, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // Static files and probes need no session; skipping them keeps a database read off every asset.
    if path.starts_with("/pkg/") || matches!(path, "/healthz" | "/readyz" | "/favicon.svg") {
        return next.run(request).await;
    }
    let view = match current_user(&session, &state.auth.session, state.clock.unix_seconds()).await {
        Ok(Some(user)) => user.view(),
        Ok(None) => SessionView::Anonymous,
        Err(error) => return error.into_response(),
    };
    if view == SessionView::Anonymous && wants_page(&request) {
        let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        if app::navigation::required_role(target).is_some() {
            return Redirect::to(&app::navigation::sign_in_href(target)).into_response();
        }
    }
    request.extensions_mut().insert(view);
    next.run(request).await
}

async fn current_user(session: &Session, config: &SessionConfig, now: i64) -> Result<Option<SessionUser>, AppError> {
    let Some(mut user) = session.get::<SessionUser>(USER_KEY).await? else {
        return Ok(None);
    };
    match judge(&user, config, now) {
        Verdict::Keep => Ok(Some(user)),
        Verdict::Touch => {
            user.touched_at = now;
            session.insert(USER_KEY, &user).await?;
            Ok(Some(user))
        }
        Verdict::End => {
            tracing::info!(user = %user.user_id, "session ended: absolute lifetime reached");
            session.flush().await?;
            Ok(None)
        }
    }
}

/// A browser navigating to a page (not a script calling the API, which gets a 401 instead of a redirect).
fn wants_page(request: &Request) -> bool {
    request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SessionConfig {
        SessionConfig { idle_seconds: 3600, absolute_seconds: 12 * 3600 }
    }

    fn user(signed_in_at: i64, touched_at: i64) -> SessionUser {
        SessionUser {
            user_id: "u".into(),
            display_name: "Alice".into(),
            email: None,
            role: Some(Role::Developer),
            groups: Vec::new(),
            signed_in_at,
            touched_at,
        }
    }

    #[test]
    fn a_session_is_renewed_at_most_once_a_minute() {
        assert_eq!(judge(&user(0, 0), &config(), 59), Verdict::Keep);
        assert_eq!(judge(&user(0, 0), &config(), 60), Verdict::Touch);
        assert_eq!(judge(&user(0, 100), &config(), 130), Verdict::Keep);
    }

    #[test]
    fn a_session_ends_at_its_absolute_lifetime_however_active() {
        let now = 12 * 3600;
        assert_eq!(judge(&user(0, now - 1), &config(), now - 1), Verdict::Keep);
        assert_eq!(judge(&user(0, now - 1), &config(), now), Verdict::End);
    }

    #[test]
    fn a_session_from_the_future_is_not_trusted_beyond_clock_skew() {
        assert_eq!(judge(&user(1_000, 1_000), &config(), 1_000 - CLOCK_SKEW_SECONDS), Verdict::Keep);
        assert_eq!(judge(&user(1_000, 1_000), &config(), 999 - CLOCK_SKEW_SECONDS), Verdict::End);
    }

    #[test]
    fn short_idle_lifetimes_renew_more_often() {
        assert_eq!(touch_interval(&SessionConfig { idle_seconds: 4, absolute_seconds: 100 }), 2);
        assert_eq!(touch_interval(&SessionConfig { idle_seconds: 1, absolute_seconds: 100 }), 1);
        assert_eq!(touch_interval(&config()), 60);
    }

    #[test]
    fn https_sites_get_the_host_prefixed_cookie() {
        assert_eq!(cookie_name(&Url::parse("https://berth.example.com").unwrap()), "__Host-berth_session");
        assert_eq!(cookie_name(&Url::parse("http://127.0.0.1:3000").unwrap()), "berth_session");
    }

    #[test]
    fn a_user_without_a_role_sees_no_access() {
        let mut someone = user(0, 0);
        someone.role = None;
        assert!(matches!(someone.view(), SessionView::NoAccess(_)));
    }
}
