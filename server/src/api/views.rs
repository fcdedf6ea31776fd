//! The JSON the machine API answers with: its own shapes (documented in `openapi.json`), not the pages'
//! types, so the pages may change without breaking a CI pipeline.

use app::error::ApiError;
use app::requests::RequestSummary;
use app::requests::members::RobotSummary;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A request or grant.
#[derive(Debug, Serialize)]
pub struct GrantView {
    pub id: String,
    pub namespace: String,
    /// `pending`, `approved`, `provisioning`, `ready`, `failed`, `revoking`, `revoked`, `expired`, `denied`,
    /// `cancelled`, `lapsed`.
    pub state: &'static str,
    pub stage: String,
    pub purpose: String,
    /// `none` (Helm 3 and later) or `tiller`.
    pub helm_mode: &'static str,
    pub quota_profile: String,
    pub requester: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl GrantView {
    pub fn of(request: &RequestSummary) -> Self {
        Self {
            id: request.id.clone(),
            namespace: request.namespace.clone(),
            state: request.state.as_str(),
            stage: request.stage.clone(),
            purpose: request.purpose.clone(),
            helm_mode: request.helm_mode.as_str(),
            quota_profile: request.quota_profile.clone(),
            requester: request.requester.email.clone().unwrap_or_else(|| request.requester.display_name.clone()),
            created_at: request.created_at,
            expires_at: request.expires_at,
        }
    }
}

/// A robot of a grant.
#[derive(Debug, Serialize)]
pub struct RobotView {
    pub id: String,
    pub name: String,
    /// How the API server names it (`kubectl auth whoami`).
    pub username: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl RobotView {
    pub fn of(robot: &RobotSummary) -> Self {
        Self {
            id: robot.id.clone(),
            name: robot.name.clone(),
            username: robot.username.clone(),
            created_by: robot.created_by.clone(),
            created_at: robot.created_at,
        }
    }
}

/// A kubeconfig just issued: the file, and its token alone (for an exec credential plugin).
#[derive(Serialize)]
pub struct IssuedKubeconfig {
    pub credential_id: String,
    pub namespace: String,
    pub username: String,
    pub expires_at: DateTime<Utc>,
    pub kubeconfig: String,
    pub token: String,
}

/// A robot's API token just made: shown this once.
#[derive(Serialize)]
pub struct MadeTokenView {
    pub id: String,
    pub token: String,
    pub robot: String,
    pub expires_at: DateTime<Utc>,
}

/// A refusal or failure, as the API answers it: `{"status", "error", "message", "problems"}`.
#[derive(Debug)]
pub struct ApiFailure(pub ApiError);

impl From<ApiError> for ApiFailure {
    fn from(error: ApiError) -> Self {
        Self(error)
    }
}

impl From<crate::store::StoreError> for ApiFailure {
    fn from(error: crate::store::StoreError) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let error = self.0;
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let kind = match &error {
            ApiError::SignInRequired => "unauthenticated",
            ApiError::Forbidden | ApiError::NotAllowed(_) | ApiError::CrossSiteRequest => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Invalid(_) => "invalid",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            _ => "internal",
        };
        let message = match &error {
            ApiError::SignInRequired => {
                "Send a valid Berth API token: Authorization: Bearer berth_… (missing, unknown, expired or revoked)."
                    .to_string()
            }
            other => other.to_string(),
        };
        let problems: Vec<serde_json::Value> = match &error {
            ApiError::Invalid(problems) => problems
                .iter()
                .map(|problem| serde_json::json!({ "field": problem.field, "message": problem.message }))
                .collect(),
            _ => Vec::new(),
        };
        let body = serde_json::json!({
            "status": status.as_u16(),
            "error": kind,
            "message": message,
            "problems": problems,
        });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"berth\""));
        }
        response
    }
}

/// An operation's JSON body, read when the handler asks: after the caller's role is checked, so that a
/// caller who may not do it is told 403 whatever they sent, and a body that is not the JSON the operation
/// takes is a 422 in the API's error shape.
pub struct Body<T>(Result<T, JsonRejection>);

impl<T> Body<T> {
    pub fn read(self) -> Result<T, ApiFailure> {
        self.0.map_err(|rejection| {
            ApiFailure(ApiError::Invalid(vec![app::error::FieldProblem::new("body", rejection.body_text())]))
        })
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Body(axum::Json::<T>::from_request(request, state).await.map(|axum::Json(value)| value)))
    }
}
