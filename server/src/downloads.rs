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
    ErrorReply::page(error, "No kubeconfig was issued", back, "Back to the request").into_response()
}
