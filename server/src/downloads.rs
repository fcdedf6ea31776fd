//! `POST /requests/{id}/kubeconfig`: the kubeconfig download, a plain form post answered with a file.
//!
//! Not a server function: the answer is a file the browser saves (with or without JavaScript), not data for
//! the page. The same checks apply: the session's role here, ownership and state in the workflow; the
//! cross-site check runs before it like for every POST. A refusal is answered in the form the client asked
//! for: JSON with the status for API clients, a short page with the message and a way back for browsers.

use app::auth::{Caller, Role, SessionView};
use app::error::ApiError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form, Router, routing::post};
use secrecy::ExposeSecret;

use crate::state::AppState;
use crate::workflow::credentials::DownloadForm;

pub fn routes() -> Router<AppState> {
    Router::new().route("/requests/{id}/kubeconfig", post(download))
}

async fn download(
    State(state): State<AppState>,
    Extension(session): Extension<SessionView>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DownloadForm>,
) -> Response {
    let caller = match session {
        SessionView::SignedIn(person, role) if role.includes(Role::Developer) => Caller { person, role },
        SessionView::Anonymous => return refusal(&headers, &id, ApiError::SignInRequired),
        _ => return refusal(&headers, &id, ApiError::Forbidden),
    };
    match state.credentials.issue(&caller, &id, &form).await {
        Ok(download) => {
            let disposition = format!("attachment; filename=\"{}\"", download.filename);
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("application/yaml")),
                    // The filename is the namespace and a checked CI name: header-safe by construction.
                    (
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
                    ),
                    // A credential: never kept by a browser or proxy cache.
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                download.kubeconfig.expose_secret().to_string(),
            )
                .into_response()
        }
        Err(error) => refusal(&headers, &id, error),
    }
}

fn refusal(headers: &HeaderMap, id: &str, error: ApiError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if !wants_html {
        return (status, axum::Json(error)).into_response();
    }
    let messages: Vec<String> = match &error {
        ApiError::Invalid(problems) => problems.iter().map(|p| p.message.clone()).collect(),
        other => vec![other.to_string()],
    };
    let items: String = messages.iter().map(|m| format!("<li>{}</li>", escape(m))).collect();
    // The id goes into a link: only a well-formed one, else back to the list.
    let back = if uuid::Uuid::parse_str(id).is_ok() { format!("/requests/{id}") } else { "/requests".to_string() };
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>No kubeconfig · Berth</title>\
         <link rel=\"stylesheet\" href=\"/pkg/{bundle}.css\"></head><body><main class=\"page\">\
         <h1>No kubeconfig was issued</h1><ul class=\"field-error\" data-testid=\"download-refusal\">{items}</ul>\
         <p><a href=\"{back}\">Back to the request</a></p></main></body></html>",
        bundle = app::BUNDLE_NAME,
    );
    (status, Html(page)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
