//! `POST /requests/{id}/robots/{robot}/tokens`: the grant page's form that makes a robot's API token, answered
//! with a page that shows the token once (a plain form post, like the kubeconfig download: it works without
//! JavaScript, and the token never passes through the page's own data). The session's policy gate applies,
//! and the cross-site check runs before it like for every POST.

use app::auth::SessionView;
use app::error::ApiError;
use app::model::RequestId;
use app::policy::{UseCase, authorize};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form, Router, routing::post};
use serde::Deserialize;

use crate::downloads::escape;
use crate::error::ErrorReply;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/requests/{id}/robots/{robot}/tokens", post(make))
}

#[derive(Debug, Default, Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    days: String,
}

async fn make(
    State(state): State<AppState>,
    Extension(session): Extension<SessionView>,
    Path((id, robot)): Path<(String, String)>,
    Form(form): Form<TokenForm>,
) -> Response {
    let back = RequestId::parse(&id).map_or_else(|_| "/requests".to_string(), |id| format!("/requests/{id}#members"));
    let caller = match authorize(&session, UseCase::ManageAccess) {
        Ok(caller) => caller,
        Err(refusal) => return refused(refusal.into(), &back),
    };
    let days = match form.days.trim().parse::<u32>() {
        Ok(days) => days,
        Err(_) => {
            let problem = app::error::FieldProblem::new("days", "Enter a whole number of days.");
            return refused(ApiError::Invalid(vec![problem]), &back);
        }
    };
    match crate::api::make_token(&state.machine_api, &caller, &id, &robot, &form.name, days).await {
        Ok(made) => {
            let page = format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>API token · Berth</title>\
                 <link rel=\"stylesheet\" href=\"/pkg/{bundle}.css\"></head><body><main class=\"page\">\
                 <h1>API token for robot {robot}</h1>\
                 <p class=\"notice\" role=\"status\">Copy it now: Berth shows it this once and keeps only a hash of \
                 it. It acts as robot <strong>{robot}</strong> on this grant only, until {until}.</p>\
                 <pre class=\"usage\" data-testid=\"api-token\">{token}</pre>\
                 <p>A CI job gets a kubeconfig of the robot's with it:</p>\
                 <pre class=\"usage\">curl -sf -X POST -H \"Authorization: Bearer $BERTH_TOKEN\" \
                 -H 'Content-Type: application/json' -d '{{\"lifetime_hours\": 1}}' \
                 {public}/api/v1/grants/{id}/kubeconfig</pre>\
                 <p><a href=\"{back}\">Back to the grant</a></p></main></body></html>",
                bundle = app::BUNDLE_NAME,
                robot = escape(&made.robot),
                until = made.expires_at.format("%Y-%m-%d %H:%M UTC"),
                token = escape(&made.token),
                public = escape(state.public_url.as_str().trim_end_matches('/')),
                id = escape(&id),
                back = escape(&back),
            );
            ([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Html(page)).into_response()
        }
        Err(error) => refused(error, &back),
    }
}

/// A short page saying why no token was made, with a way back.
fn refused(error: ApiError, back: &str) -> Response {
    let messages: Vec<String> = match &error {
        ApiError::Invalid(problems) => problems.iter().map(|p| p.message.clone()).collect(),
        other => vec![other.to_string()],
    };
    let items: String = messages.iter().map(|m| format!("<li>{}</li>", escape(m))).collect();
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>No API token · Berth</title>\
         <link rel=\"stylesheet\" href=\"/pkg/{bundle}.css\"></head><body><main class=\"page\">\
         <h1>No API token was made</h1><ul class=\"field-error\" data-testid=\"token-refusal\">{items}</ul>\
         <p><a href=\"{back}\">Back to the grant</a></p></main></body></html>",
        bundle = app::BUNDLE_NAME,
        back = escape(back),
    );
    ErrorReply::html(error, page).into_response()
}
