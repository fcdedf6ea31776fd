//! The error every server function returns, as the UI sees it.
//!
//! Variants say what the person can do about it; none carries internal detail. The server logs the cause of
//! an [`ApiError::Internal`] before returning it.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use crate::json::Json;

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
    /// The input breaks a rule; each problem names its form field. Nothing was stored. HTTP 422.
    #[error("{}", invalid_summary(.0))]
    Invalid(Vec<FieldProblem>),
    /// The caller's role would allow this in general, but a rule forbids it here (for example deciding one's
    /// own request). HTTP 403.
    #[error("{0}")]
    NotAllowed(String),
    /// No such thing, or the caller may not know it exists. HTTP 404.
    #[error("Not found. It may never have existed, or it is not yours to see.")]
    NotFound,
    /// The thing changed since the caller looked (for example another approver decided first). HTTP 409.
    #[error("{0}")]
    Conflict(String),
    /// Something Berth depends on (the cluster) cannot be reached; nothing was changed. HTTP 503.
    #[error("{0}")]
    Unavailable(String),
    /// Too many requests from this session or address in a short time (a rate limit). HTTP 429, with
    /// `Retry-After`.
    #[error("Too many requests. Wait {retry_after_seconds} seconds and try again.")]
    TooManyRequests { retry_after_seconds: u64 },
    /// The request's body is larger than Berth accepts. HTTP 413.
    #[error("The request is larger than Berth accepts ({max_kib} KiB at most).")]
    TooLarge { max_kib: u64 },
    /// Something failed on the server. The cause is in the server's log, not here.
    #[error("Something went wrong on the server. It has been logged; please try again.")]
    Internal,
    /// The request never got a proper answer: the network, a proxy, or a malformed response.
    #[error("Could not reach Berth's server ({0}). Check your connection and try again.")]
    Transport(String),
}

/// One rule an input broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    /// The form field's name (see `crate::requests::field`).
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), message: message.into() }
    }
}

fn invalid_summary(problems: &[FieldProblem]) -> String {
    match problems {
        [only] => only.message.clone(),
        _ => format!("{} fields need correcting.", problems.len()),
    }
}

impl ApiError {
    /// A single problem with one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldProblem::new(field, message)])
    }

    /// The problem reported for `field`, if any.
    pub fn problem_with(&self, field: &str) -> Option<&str> {
        match self {
            Self::Invalid(problems) => {
                problems.iter().find(|problem| problem.field == field).map(|problem| problem.message.as_str())
            }
            _ => None,
        }
    }

    /// Reads the error from the JSON the server answered with (serde's externally tagged form of this enum:
    /// `"NotFound"`, `{"Conflict": "..."}`, `{"Invalid": [{"field": ..., "message": ...}]}`); `None` if it is
    /// not one. The browser's reader: see `crate::json`.
    pub fn from_json(value: &Json) -> Option<ApiError> {
        let text = |value: &Json| value.as_str().map(str::to_string);
        match value {
            Json::String(tag) => match tag.as_str() {
                "SignInRequired" => Some(Self::SignInRequired),
                "Forbidden" => Some(Self::Forbidden),
                "CrossSiteRequest" => Some(Self::CrossSiteRequest),
                "NotFound" => Some(Self::NotFound),
                "Internal" => Some(Self::Internal),
                _ => None,
            },
            Json::Object(members) => {
                let [(tag, inner)] = members.as_slice() else { return None };
                match tag.as_str() {
                    "Invalid" => {
                        let Json::Array(items) = inner else { return None };
                        let problem = |item: &Json| {
                            Some(FieldProblem {
                                field: text(item.get("field")?)?,
                                message: text(item.get("message")?)?,
                            })
                        };
                        items.iter().map(problem).collect::<Option<_>>().map(Self::Invalid)
                    }
                    "NotAllowed" => text(inner).map(Self::NotAllowed),
                    "Conflict" => text(inner).map(Self::Conflict),
                    "Unavailable" => text(inner).map(Self::Unavailable),
                    "Transport" => text(inner).map(Self::Transport),
                    "TooManyRequests" => inner
                        .get("retry_after_seconds")
                        .and_then(Json::as_u64)
                        .map(|retry_after_seconds| Self::TooManyRequests { retry_after_seconds }),
                    "TooLarge" => inner.get("max_kib").and_then(Json::as_u64).map(|max_kib| Self::TooLarge { max_kib }),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The HTTP status the server answers with: the one table, used by server functions (`with_status`) and
    /// by the server's own routes and middleware alike.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::SignInRequired => 401,
            ApiError::Forbidden | ApiError::CrossSiteRequest | ApiError::NotAllowed(_) => 403,
            ApiError::NotFound => 404,
            ApiError::Conflict(_) => 409,
            ApiError::Invalid(_) => 422,
            ApiError::TooLarge { .. } => 413,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
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

/// Sets the HTTP status that matches `error` on the response of the server function being run, so API
/// clients see 401, 404, 422... rather than 500; returns `error` for `?`.
///
/// NB: not for a plain HTML form post (no JavaScript): Leptos answers those with a redirect back to the page,
/// carrying the error, and a 4xx status would turn that redirect into a blank error page.
#[cfg(feature = "ssr")]
pub fn with_status(error: ApiError) -> ApiError {
    use leptos::prelude::use_context;
    let plain_form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
    });
    if let (false, Some(response)) = (plain_form_post, use_context::<leptos_axum::ResponseOptions>()) {
        response
            .set_status(http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
    }
    error
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
    fn field_problems_are_found_by_field_and_summarised() {
        let one = ApiError::invalid("purpose", "Say what the namespace is for.");
        assert_eq!(one.problem_with("purpose"), Some("Say what the namespace is for."));
        assert_eq!(one.problem_with("namespace"), None);
        assert_eq!(one.to_string(), "Say what the namespace is for.");
        let two = ApiError::Invalid(vec![FieldProblem::new("a", "x"), FieldProblem::new("b", "y")]);
        assert_eq!(two.to_string(), "2 fields need correcting.");
    }

    /// One of each variant; the match fails to compile when a variant is added, so the browser's reader
    /// cannot silently miss it.
    fn one_of_each() -> Vec<ApiError> {
        let every = vec![
            ApiError::SignInRequired,
            ApiError::Forbidden,
            ApiError::CrossSiteRequest,
            ApiError::Invalid(vec![FieldProblem::new("namespace", "taken"), FieldProblem::new("purpose", "empty")]),
            ApiError::NotAllowed("own request".into()),
            ApiError::NotFound,
            ApiError::Conflict("already decided".into()),
            ApiError::Unavailable("cluster".into()),
            ApiError::TooManyRequests { retry_after_seconds: 7 },
            ApiError::TooLarge { max_kib: 64 },
            ApiError::Internal,
            ApiError::Transport("timeout".into()),
        ];
        for error in &every {
            match error {
                ApiError::SignInRequired
                | ApiError::Forbidden
                | ApiError::CrossSiteRequest
                | ApiError::Invalid(_)
                | ApiError::NotAllowed(_)
                | ApiError::NotFound
                | ApiError::Conflict(_)
                | ApiError::Unavailable(_)
                | ApiError::TooManyRequests { .. }
                | ApiError::TooLarge { .. }
                | ApiError::Internal
                | ApiError::Transport(_) => {}
            }
        }
        every
    }

    #[test]
    fn errors_cross_the_wire_as_json_and_back() {
        for error in one_of_each() {
            let text = serde_json::to_string(&error).expect("serializes");
            assert_eq!(serde_json::from_str::<ApiError>(&text).expect("parses"), error);
        }
    }

    #[test]
    fn the_browser_reads_every_error_the_server_writes() {
        for error in one_of_each() {
            let written = serde_json::to_value(&error).expect("serializes");
            assert_eq!(ApiError::from_json(&Json::from_serde(&written)), Some(error), "{written}");
        }
        for not_an_error in [serde_json::json!("Gone"), serde_json::json!({"Conflict": 3}), serde_json::json!([1])] {
            assert_eq!(ApiError::from_json(&Json::from_serde(&not_an_error)), None, "{not_an_error}");
        }
    }
}
