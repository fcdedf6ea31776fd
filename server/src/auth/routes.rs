//! The sign-in routes: `/auth/login` starts a sign-in at the provider, `/auth/callback` finishes it, and
//! `/auth/logout` (POST, same origin only) ends the session here and at the provider.
//!
//! A failed sign-in never leaves a session behind: the person is sent to `/sign-in/failed?reason=CODE`, where
//! CODE is one of `expired` (unknown, reused or stale `state`), `refused`, `invalid` or `unavailable` (see
//! [`SignInError::reason`]); the details go to the log.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use super::oidc::{PendingSignIn, SignInError};
use super::return_path::ReturnPath;
use super::session::{PENDING_KEY, SessionUser, USER_KEY};
use crate::error::AppError;
use crate::state::AppState;

/// Sign-ins one browser may have in flight at once (several tabs); older ones are forgotten.
const MAX_PENDING: usize = 4;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let return_to = ReturnPath::parse_or_home(query.return_to.as_deref());
    let now = state.clock.unix_seconds();
    let (provider_url, pending) = match state.auth.oidc.start(return_to, now).await {
        Ok(started) => started,
        Err(error) => return Ok(failed(&error)),
    };
    let mut in_flight: Vec<PendingSignIn> = session.get(PENDING_KEY).await?.unwrap_or_default();
    in_flight.retain(|earlier| !earlier.expired(now));
    in_flight.push(pending);
    let excess = in_flight.len().saturating_sub(MAX_PENDING);
    in_flight.drain(..excess);
    session.insert(PENDING_KEY, &in_flight).await?;
    Ok(Redirect::to(provider_url.as_str()).into_response())
}

/// What the provider appends to the redirect URL. Everything is optional: an attacker controls this request.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// RFC 9207: the issuer of the response, against mix-up attacks, when the provider sends it.
    iss: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let (outcome, response) = finish_sign_in(&state, session, query).await?;
    state.metrics.sign_in(outcome);
    Ok(response)
}

/// The callback's work; with the outcome for the metrics: `signed_in`, `no_role`, or why it failed.
async fn finish_sign_in(
    state: &AppState,
    session: Session,
    query: CallbackQuery,
) -> Result<(&'static str, Response), AppError> {
    let now = state.clock.unix_seconds();
    // The pending sign-in is consumed whatever happens next: a `state` works once.
    let mut in_flight: Vec<PendingSignIn> = session.get(PENDING_KEY).await?.unwrap_or_default();
    let position = query.state.as_deref().and_then(|given| in_flight.iter().position(|p| p.state == given));
    let pending = position.map(|index| in_flight.remove(index));
    in_flight.retain(|earlier| !earlier.expired(now));
    if in_flight.is_empty() {
        session.remove_value(PENDING_KEY).await?;
    } else {
        session.insert(PENDING_KEY, &in_flight).await?;
    }

    let Some(pending) = pending.filter(|pending| !pending.expired(now)) else {
        tracing::warn!(state_given = query.state.is_some(), "sign-in callback with an unknown, used or stale state");
        return Ok(("expired", failed_with("expired")));
    };
    if let Some(error) = query.error {
        let error = SignInError::Refused(format!("{error} {}", query.error_description.unwrap_or_default()));
        return Ok(failed_counted(&error));
    }
    if query.iss.as_deref().is_some_and(|iss| iss != state.auth.oidc.issuer()) {
        return Ok(failed_counted(&SignInError::Invalid(
            "the callback's iss is not the configured issuer".to_string(),
        )));
    }
    let Some(code) = query.code.filter(|code| !code.is_empty() && code.len() <= 4096) else {
        return Ok(failed_counted(&SignInError::Invalid("the callback has no usable code".to_string())));
    };
    let identity = match state.auth.oidc.finish(&pending, code).await {
        Ok(identity) => identity,
        Err(error) => return Ok(failed_counted(&error)),
    };

    let (user_id, role) = state.auth.record(&state.store, &identity, state.clock.now()).await?;
    // Someone who left a grant's owning team loses it now, before the new session sees anything.
    state.machine_api.members.settle_after_sign_in(&user_id, &identity.groups).await;
    // A new session id for the signed-in session: an id planted before sign-in is worth nothing after it.
    session.cycle_id().await?;
    let user = SessionUser {
        user_id: user_id.clone(),
        display_name: identity.display_name,
        email: identity.email,
        role,
        groups: identity.groups,
        signed_in_at: now,
        touched_at: now,
    };
    session.insert(USER_KEY, &user).await?;
    tracing::info!(user = %user_id, role = role.map_or("none", |r| r.as_str()), "signed in");

    let destination = if role.is_some() { pending.return_to.as_str() } else { "/no-access" };
    let outcome = if role.is_some() { "signed_in" } else { "no_role" };
    Ok((outcome, Redirect::to(destination).into_response()))
}

async fn logout(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    if let Some(user) = session.get::<SessionUser>(USER_KEY).await? {
        tracing::info!(user = %user.user_id, "signed out");
    }
    // Deletes the record and clears the cookie: the old id is dead even if someone copied it.
    session.flush().await?;
    let destination = state.auth.oidc.end_session_url().await.map_or_else(|| "/".to_string(), |url| url.to_string());
    Ok(Redirect::to(&destination).into_response())
}

fn failed(error: &SignInError) -> Response {
    tracing::warn!(error = %error, "sign-in failed");
    failed_with(error.reason())
}

fn failed_counted(error: &SignInError) -> (&'static str, Response) {
    (error.reason(), failed(error))
}

fn failed_with(reason: &str) -> Response {
    Redirect::to(&format!("/sign-in/failed?reason={reason}")).into_response()
}
