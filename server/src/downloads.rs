//! `POST /requests/{id}/kubeconfig`: the kubeconfig download, a plain form post answered with a file.
//!
//! Not a server function: the answer is a file the browser saves (with or without JavaScript), not data for
//! the page. The same policy applies: its gate here, ownership and state in the workflow; the cross-site
//! check runs before it like for every POST. A refusal is answered in the form the client asked for: JSON
//! with the status for API clients, a short page with the message and a way back for browsers.

use app::auth::SessionView;
use app::error::ApiError;
use app::model::RequestId;
use app::policy::{UseCase, authorize};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Router, routing::post};
use secrecy::ExposeSecret;

use crate::error::ErrorReply;
use crate::state::AppState;
use crate::workflow::credentials::KubeconfigForm;

pub fn routes() -> Router<AppState> {
    Router::new().route("/requests/{id}/kubeconfig", post(download))
}

async fn download(
    State(state): State<AppState>,
    Extension(session): Extension<SessionView>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<KubeconfigForm>,
) -> Response {
    let caller = match authorize(&session, UseCase::DownloadKubeconfig) {
        Ok(caller) => caller,
        Err(refusal) => return refused(&headers, &id, refusal.into()),
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
        Err(error) => refused(&headers, &id, error),
    }
}

fn refused(headers: &HeaderMap, id: &str, error: ApiError) -> Response {
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if !wants_html {
        return ErrorReply::json(error).into_response();
    }
    // The id goes into a link: only a well-formed one, else back to the list.
    let back = RequestId::parse(id).map_or_else(|_| "/requests".to_string(), |id| format!("/requests/{id}"));
    let page = refusal_page(&error, &back);
    ErrorReply::html(error, page).into_response()
}

/// A short page listing why nothing was issued, with a link back to `back`.
fn refusal_page(error: &ApiError, back: &str) -> String {
    let messages: Vec<String> = match error {
        ApiError::Invalid(problems) => problems.iter().map(|p| p.message.clone()).collect(),
        other => vec![other.to_string()],
    };
    let items: String = messages.iter().map(|m| format!("<li>{}</li>", escape(m))).collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>No kubeconfig · Berth</title>\
         <link rel=\"stylesheet\" href=\"/pkg/{bundle}.css\"></head><body><main class=\"page\">\
         <h1>No kubeconfig was issued</h1><ul class=\"field-error\" data-testid=\"download-refusal\">{items}</ul>\
         <p><a href=\"{back}\">Back to the request</a></p></main></body></html>",
        back = escape(back),
        bundle = app::BUNDLE_NAME,
    )
}

/// `text` safe to put in HTML (text and attribute values).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_page_escapes_what_it_repeats() {
        let page = refusal_page(&ApiError::Conflict("<script>".into()), "/requests");
        assert!(
            page.contains("<li>&lt;script&gt;</li>") && page.contains("<a href=\"/requests\">Back to the request</a>"),
            "{page}"
        );
    }
}
