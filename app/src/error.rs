//! The error every server function returns, as the UI sees it.
//!
//! Variants say what the person can do about it; none carries internal detail. The server logs the cause of
//! an [`ApiError::Internal`] before returning it.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// No session, or it ended (idle or absolute lifetime). HTTP 401.
    #[error("Your session has ended. Please sign in again.")]
    SignInRequired,
    /// Signed in, but the role does not allow this. HTTP 403.
    #[error("Your role does not allow this. Ask an admin if you need it.")]
    Forbidden,
    /// A state-changing request that did not come from Berth's own pages (a cross-site request). HTTP 403.
    #[error("This request did not come from Berth's own pages, so it was refused. Reload the page and try again.")]
    CrossSiteRequest,
    /// Something failed on the server. The cause is in the server's log, not here.
    #[error("Something went wrong on the server. It has been logged; please try again.")]
    Internal,
    /// The request never got a proper answer: the network, a proxy, or a malformed response.
    #[error("Could not reach Berth's server ({0}). Check your connection and try again.")]
    Transport(String),
}

impl ApiError {
    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::SignInRequired => 401,
            ApiError::Forbidden | ApiError::CrossSiteRequest => 403,
            ApiError::Internal => 500,
            ApiError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // A server-side failure that did not come from our own code (for example a missing context):
            // still an internal error, never its text.
            ServerFnErrorErr::ServerError(_) | ServerFnErrorErr::MiddlewareError(_) => Self::Internal,
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_inside_the_server_never_reveal_their_text() {
        let error = ApiError::from_server_fn_error(ServerFnErrorErr::ServerError("db password=x".into()));
        assert_eq!(error, ApiError::Internal);
        assert!(!error.to_string().contains("password"));
    }

    #[test]
    fn transport_failures_say_the_server_could_not_be_reached() {
        let error = ApiError::from_server_fn_error(ServerFnErrorErr::Request("connection refused".into()));
        assert!(matches!(error, ApiError::Transport(_)));
        assert!(error.to_string().starts_with("Could not reach Berth's server"), "{error}");
    }

    #[test]
    fn errors_cross_the_wire_as_json_and_back() {
        for error in [
            ApiError::Internal,
            ApiError::Transport("timeout".into()),
            ApiError::SignInRequired,
            ApiError::Forbidden,
            ApiError::CrossSiteRequest,
        ] {
            let text = serde_json::to_string(&error).expect("serializes");
            assert_eq!(serde_json::from_str::<ApiError>(&text).expect("parses"), error);
        }
    }
}
