//! The one place where server-side failures become responses.
//!
//! A failure the person cannot fix (database, session store) is logged with its whole cause chain and
//! answered with a generic message; nothing internal reaches the response.

use app::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;
use crate::telemetry::error_chain;

/// An error in an axum handler or middleware of Berth's own (not a server function).
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
        (StatusCode::INTERNAL_SERVER_ERROR, ApiError::Internal.to_string()).into_response()
    }
}

/// For server functions: logs `error` with its causes and returns the generic [`ApiError::Internal`].
pub fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
    tracing::error!(error = %error_chain(error), "server function failed");
    ApiError::Internal
}
