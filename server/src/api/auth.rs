//! Who calls the machine API: the bearer token of every request, checked against the tokens Berth made
//! (`store::tokens`). A missing, unknown, expired or revoked token is 401 (with `WWW-Authenticate: Bearer`,
//! and the same message whatever the reason, so a token cannot be probed); a valid one is a [`Principal`].

use app::auth::{Caller, Role};
use app::error::ApiError;
use app::policy::UseCase;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use secrecy::SecretString;

use super::ApiState;
use super::views::ApiFailure;
use crate::store::members::RobotRecord;
use crate::store::requests::RequestRecord;
use crate::store::tokens::{TokenKind, TokenRefused};

/// The caller of an API operation.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person, with the role of their last sign-in (a token from the command line's sign-in).
    Person(Caller),
    /// A robot, with a token of its own (made by its grant's owner, or exchanged for a CI system's token).
    Robot(RobotCaller),
}

/// A robot calling the API.
#[derive(Debug, Clone)]
pub struct RobotCaller {
    pub robot: RobotRecord,
    /// The person its token was made by (its grant's owner), who the kubeconfigs it gets are recorded to.
    pub on_behalf_of: String,
    pub token_id: String,
}

impl Principal {
    /// The person calling, if their role allows `use_case` at all (the policy's gate, as for the pages);
    /// robots may do only what [`app::policy::Policy::check_robot`] allows, through their own operations.
    pub fn require(&self, use_case: UseCase) -> Result<&Caller, ApiError> {
        match self {
            Principal::Person(caller) if caller.role.includes(use_case.min_role()) => Ok(caller),
            Principal::Person(_) | Principal::Robot(_) => Err(ApiError::Forbidden),
        }
    }
}

impl FromRequestParts<ApiState> for Principal {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| SecretString::from(token.trim().to_string()))
            .ok_or(ApiFailure(ApiError::SignInRequired))?;
        let now = state.clock.now();
        let token = match state.store.token_in_force(&presented, now).await.map_err(ApiError::from)? {
            Ok(token) => token,
            Err(refused) => {
                // Logged without the token: the id it claimed may not even exist.
                let why = match refused {
                    TokenRefused::Unknown => "unknown",
                    TokenRefused::Expired => "expired",
                    TokenRefused::Revoked => "revoked",
                };
                tracing::warn!(path = %parts.uri.path(), why, "an API token was refused");
                return Err(ApiFailure(ApiError::SignInRequired));
            }
        };
        match token.kind {
            TokenKind::Person => {
                let person_id = token.person_id.as_deref().unwrap_or_default();
                let (person, role) = state
                    .store
                    .person_as_signed_in(person_id)
                    .await
                    .map_err(ApiError::from)?
                    .ok_or(ApiFailure(ApiError::SignInRequired))?;
                // Signed in, but no group of theirs grants a Berth role (any more).
                let role: Role = role.ok_or(ApiFailure(ApiError::Forbidden))?;
                Ok(Principal::Person(Caller { person, role }))
            }
            TokenKind::Robot | TokenKind::Federated => {
                let robot_id = token.robot_id.as_deref().unwrap_or_default();
                let robot = state
                    .store
                    .robot_by_id(robot_id)
                    .await
                    .map_err(ApiError::from)?
                    // Removed since: its tokens were revoked with it, this is a race.
                    .ok_or(ApiFailure(ApiError::SignInRequired))?;
                let on_behalf_of = token.created_by.unwrap_or_else(|| robot.created_by.clone());
                Ok(Principal::Robot(RobotCaller { robot, on_behalf_of, token_id: token.id }))
            }
        }
    }
}

/// Grant `id` if person `caller` may do `use_case` to it, by the same rule as the pages (without the page's
/// reading of the audit trail and the cluster).
pub async fn person_grant(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    use_case: UseCase,
) -> Result<RequestRecord, ApiError> {
    crate::workflow::requests::authorized_request(&state.store, &state.rules.policy(), caller, id, use_case).await
}

/// Grant `id` if robot `robot` may do `use_case` to it: its own grant only (another is not found).
pub async fn robot_grant(
    state: &ApiState,
    robot: &RobotCaller,
    id: &str,
    use_case: UseCase,
) -> Result<RequestRecord, ApiError> {
    let id = app::model::RequestId::parse(id)?;
    let record = state.store.request(id.as_str()).await?.ok_or(ApiError::NotFound)?;
    let target =
        app::policy::Target::Request { requester_id: &record.requester_id, member: false, request: &record.summary };
    state.rules.policy().check_robot(&robot.robot.request_id, use_case, target)?;
    Ok(record)
}
