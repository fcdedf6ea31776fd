//! The one place where failures become HTTP answers.
//!
//! Every refusal and failure is an [`ApiError`] first: the policy's refusals convert into it
//! (`app::policy::Refusal`), store failures convert into it with `?` (logged here with their whole cause
//! chain, answered with a generic message: nothing internal reaches the response), and [`ApiError::status`]
//! is the one table from error to status. Server functions set that status through `app::error::with_status`;
//! Berth's own routes and middleware answer with an [`ErrorReply`], which adds the body in the form the client
//! reads.

use app::error::ApiError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::store::StoreError;
use crate::telemetry::error_chain;

/// A database failure, inside a use case: logged with its causes, answered as [`ApiError::Internal`].
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error_chain(&error), "database failure");
        ApiError::Internal
    }
}

/// An error in an axum handler or middleware of Berth's own (not a server function), before any use case
/// runs: the session store or the database.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("session store")]
    Session(#[from] tower_sessions::session::Error),
    #[error("database")]
    Store(#[from] StoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        tracing::error!(error = %error_chain(&self), "request failed");
        ErrorReply::text(ApiError::Internal).into_response()
    }
}

/// The status of `error`, from the one table in [`ApiError::status`].
fn status_of(error: &ApiError) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An error answered by one of Berth's own routes, in the form its client reads.
pub struct ErrorReply {
    error: ApiError,
    form: Form,
}

enum Form {
    /// The server functions' format (what API clients and the UI read).
    Json,
    /// A line of text (for clients that asked for no particular format).
    Text,
    /// A page of the route's own making (for a browser that posted a plain form).
    Html(String),
}

impl ErrorReply {
    pub fn json(error: ApiError) -> Self {
        Self { error, form: Form::Json }
    }

    pub fn text(error: ApiError) -> Self {
        Self { error, form: Form::Text }
    }

    /// `page`, the route's own page saying what went wrong, with `error`'s status.
    pub fn html(error: ApiError, page: String) -> Self {
        Self { error, form: Form::Html(page) }
    }
}

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        let status = status_of(&self.error);
        let mut response = match self.form {
            Form::Json => {
                ([(header::CONTENT_TYPE, "application/json")], serde_json::to_string(&self.error).unwrap_or_default())
                    .into_response()
            }
            Form::Text => {
                ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.error.to_string()).into_response()
            }
            Form::Html(page) => Html(page).into_response(),
        };
        *response.status_mut() = status;
        if let ApiError::TooManyRequests { retry_after_seconds } = self.error {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn a_json_reply_carries_the_status_and_the_error_the_ui_reads() {
        let response = ErrorReply::json(ApiError::NotFound).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let error: ApiError = serde_json::from_str(&body(response).await).expect("the server functions' format");
        assert_eq!(error, ApiError::NotFound);
    }

    #[tokio::test]
    async fn a_rate_limit_says_when_to_come_back() {
        let response = ErrorReply::text(ApiError::TooManyRequests { retry_after_seconds: 7 }).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(body(response).await, "Too many requests. Wait 7 seconds and try again.");
    }
}
