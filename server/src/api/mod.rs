//! Berth's machine API, `/api/v1`: what CI systems, scripts and the `berth` command line need (list my grants,
//! request, show, get a kubeconfig for me or for a robot, revoke, approve, robots), as JSON, documented by the
//! OpenAPI 3.1 document in `openapi.json` (served at `/api/v1/openapi.json`; a test holds it and the routes
//! together, and walks every operation through the 401/403/200 matrix).
//!
//! Authentication is a bearer token only ([`auth`]): a robot's API token, a short-lived token exchanged for a
//! CI system's OIDC token, or a person's token from the command line's sign-in. No cookie is read, so no
//! other site can make a browser call the API for someone (the cross-site check skips `/api/v1/`, and only it). Every call
//! goes through the same services and the same policy module as the pages.

pub mod auth;
mod views;

use std::sync::Arc;

use app::error::ApiError;
use app::policy::UseCase;
use app::ports::Ports;
use app::requests::members::RobotSummary;
use app::requests::{RequestForm, Verdict};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use chrono::TimeDelta;
use secrecy::ExposeSecret;
use serde::Deserialize;

use self::auth::Principal;
use self::views::{ApiFailure, Body, GrantView, IssuedKubeconfig, MadeTokenView, RobotView};
use crate::clock::Clock;
use crate::store::Store;
use crate::store::requests::RequestRecord;
use crate::store::tokens::{NewToken, TokenKind};
use crate::workflow::credentials::CredentialsService;
use crate::workflow::validation::Rules;

/// Where the machine API lives. (The pages' server functions are under `/api/` too, outside it.)
pub const PREFIX: &str = "/api/v1/";

/// The OpenAPI document, served as it is in the repository.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What the API's handlers reach: the pages' services, and the store for tokens.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    /// The identity provider, whose ID tokens the command line exchanges for person tokens.
    pub auth: Arc<crate::auth::Auth>,
    /// The trust rules for CI systems' OIDC tokens.
    pub federation: Arc<crate::auth::federation::Federation>,
    pub ports: Ports,
    pub credentials: Arc<CredentialsService>,
    /// Settles a person's team access after the command line's sign-in.
    pub members: Arc<crate::workflow::members::MembersService>,
    pub rules: Rules,
    pub identities_namespace: String,
    pub clock: Clock,
}

/// Every route of `/api/v1`, each an operation of [`OPENAPI`].
pub fn routes(state: ApiState) -> axum::Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/cli", get(cli_sign_in))
        .route("/api/v1/tokens/person", post(person_token))
        .route("/api/v1/tokens/federated", post(federated_token))
        .route("/api/v1/grants/{id}/cluster", get(cluster_of))
        .route("/api/v1/grants", get(list_grants))
        .route("/api/v1/grants/{id}", get(show_grant))
        .route("/api/v1/grants/{id}/kubeconfig", post(get_kubeconfig))
        .route("/api/v1/grants/{id}/robots", get(list_robots).post(add_robot))
        .route("/api/v1/grants/{id}/robots/{robot}/tokens", post(make_robot_token))
        .route("/api/v1/requests", post(submit_request))
        .route("/api/v1/requests/{id}/approve", post(approve_request))
        .route("/api/v1/approvals", get(list_approvals))
        .route("/api/v1/credentials/{id}/revoke", post(revoke_credential))
        // Anything else under the API is answered in the API's own form.
        .route("/api/v1/{*rest}", any(not_found))
        .with_state(state)
}

type Answer<T> = Result<T, ApiFailure>;

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

async fn not_found() -> ApiFailure {
    ApiFailure(ApiError::NotFound)
}

/// How long a person's token from `berth login` lasts.
pub const PERSON_TOKEN_HOURS: i64 = 12;

/// `GET /api/v1/cli`: where and how the command line signs people in (no token needed).
async fn cli_sign_in(State(state): State<ApiState>) -> Answer<Json<serde_json::Value>> {
    let oidc = &state.auth.oidc;
    let client_id = oidc.cli_client_id().ok_or_else(|| {
        ApiError::Conflict("The command line's sign-in is not configured here (auth.cli_client_id).".to_string())
    })?;
    Ok(Json(serde_json::json!({ "issuer": oidc.issuer(), "client_id": client_id, "scopes": oidc.scopes_line() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonTokenAsk {
    /// The ID token the command line got from the identity provider for its own client.
    id_token: String,
    /// The nonce it sent with the sign-in.
    nonce: String,
    /// Where it is used (`berth login on laptop-7`), to tell tokens apart.
    #[serde(default)]
    name: String,
}

/// `POST /api/v1/tokens/person`: the command line's sign-in. The ID token is checked like a browser's
/// sign-in (signature, issuer, audience: the command line's client, expiry, nonce); the person is recorded
/// with the role their groups give now, and gets a token of [`PERSON_TOKEN_HOURS`].
async fn person_token(State(state): State<ApiState>, ask: Body<PersonTokenAsk>) -> Answer<Response> {
    let ask = ask.read()?;
    let identity = state.auth.oidc.verify_cli_id_token(&ask.id_token, &ask.nonce).await.map_err(|error| {
        tracing::warn!(error = %error, "a command line sign-in was refused");
        ApiError::SignInRequired
    })?;
    let now = state.clock.now();
    let (person_id, role) = state.auth.record(&state.store, &identity, now).await?;
    state.members.settle_after_sign_in(&person_id, &identity.groups).await;
    let Some(role) = role else {
        return Err(ApiFailure(ApiError::NotAllowed(
            "You signed in, but none of your groups grants a Berth role. Ask an admin if you need one.".to_string(),
        )));
    };
    let name: String = match ask.name.trim() {
        "" => "berth login".to_string(),
        name => name.chars().take(80).collect(),
    };
    let expires_at = now + TimeDelta::hours(PERSON_TOKEN_HOURS);
    let made = state
        .store
        .make_token(&NewToken {
            kind: TokenKind::Person,
            robot_id: None,
            person_id: Some(&person_id),
            name: &name,
            created_by: Some(&person_id),
            created_at: now,
            expires_at,
            request_id: None,
            by_rule: None,
        })
        .await?;
    tracing::info!(person = %person_id, token = %made.id, "signed in from the command line");
    let body = serde_json::json!({
        "token": made.token.expose_secret(),
        "expires_at": expires_at,
        "display_name": identity.display_name,
        "role": role.as_str(),
    });
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body))
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FederatedAsk {
    /// The CI system's OIDC token for this job.
    token: String,
}

/// `POST /api/v1/tokens/federated`: workload identity federation. A CI job's OIDC token that a trust rule
/// trusts (`[[federation.trust]]`: issuer, audience, subject) is exchanged for a token of the rule's robot
/// that lasts the rule's minutes. A genuine token no rule trusts is refused (403) and recorded in the audit
/// trail of the grants its issuer's rules name; a token that is not genuine is 401.
async fn federated_token(State(state): State<ApiState>, ask: Body<FederatedAsk>) -> Answer<Response> {
    use crate::auth::federation::NotTrusted;
    let ask = ask.read()?;
    let now = state.clock.now();
    let (rule, subject) = match state.federation.trust(&ask.token).await {
        Ok(trusted) => trusted,
        Err(NotTrusted::Unverified(why)) => {
            tracing::warn!(why, "a CI token was not exchanged");
            return Err(ApiFailure(ApiError::SignInRequired));
        }
        Err(NotTrusted::NoRule { issuer, subject, audiences }) => {
            tracing::warn!(issuer, subject, ?audiences, "a CI token matched no trust rule");
            let reason =
                format!("a token of {issuer} for subject {subject:?}, audience {audiences:?}, matched no trust rule");
            for rule in state.federation.rules_of(&issuer) {
                if let Some(grant) = state.store.ready_grant_of(&rule.namespace).await? {
                    state.store.note_refused_federation(&grant.summary.id, &reason, now).await?;
                }
            }
            return Err(ApiFailure(ApiError::NotAllowed(
                "No trust rule trusts this token's subject and audience.".to_string(),
            )));
        }
    };
    let grant = state.store.ready_grant_of(&rule.namespace).await?;
    let robot = match &grant {
        Some(grant) => state.store.robot_named(&grant.summary.id, &rule.robot).await?,
        None => None,
    };
    let (Some(grant), Some(robot)) = (grant, robot) else {
        tracing::warn!(rule = %rule.name, namespace = %rule.namespace, robot = %rule.robot, "a trust rule names no ready grant's robot");
        return Err(ApiFailure(ApiError::Conflict(format!(
            "The trust rule {:?} names robot {} of {}, which is not a ready grant's robot now.",
            rule.name, rule.robot, rule.namespace
        ))));
    };
    let expires_at = now + TimeDelta::minutes(i64::from(rule.token_minutes));
    let name = format!("{}: {subject}", rule.name);
    let name: String = name.chars().take(200).collect();
    let made = state
        .store
        .make_token(&NewToken {
            kind: TokenKind::Federated,
            robot_id: Some(&robot.id),
            person_id: None,
            name: &name,
            created_by: None,
            created_at: now,
            expires_at,
            request_id: Some(&grant.summary.id),
            by_rule: Some(&rule.name),
        })
        .await?;
    tracing::info!(rule = %rule.name, subject, robot = %robot.name, token = %made.id, "a CI token was exchanged");
    let body = serde_json::json!({
        "token": made.token.expose_secret(),
        "expires_at": expires_at,
        "robot": robot.name,
        "namespace": grant.summary.namespace,
        "grant_id": grant.summary.id,
    });
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body))
        .into_response())
}

/// `GET /api/v1/grants/{id}/cluster`: the API server's address and CA and the namespace, for a kubeconfig
/// the caller builds itself (the command line's exec-plugin kubeconfig holds no token).
async fn cluster_of(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Answer<Json<serde_json::Value>> {
    let namespace = match &principal {
        Principal::Person(caller) => {
            principal.require(UseCase::DownloadKubeconfig)?;
            auth::person_grant(&state, caller, &id, UseCase::DownloadKubeconfig).await?.summary.namespace
        }
        Principal::Robot(robot) => {
            auth::robot_grant(&state, robot, &id, UseCase::DownloadKubeconfig).await?.summary.namespace
        }
    };
    let endpoint = state.credentials.cluster.endpoint();
    let ca = endpoint.ca_pem.as_ref().map(|pem| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(pem)
    });
    Ok(Json(serde_json::json!({ "server": endpoint.url, "certificate_authority_data": ca, "namespace": namespace })))
}

/// `GET /api/v1/grants`: a person's grants that give access now or soon (owned or as a member); a robot's
/// one grant.
async fn list_grants(State(state): State<ApiState>, principal: Principal) -> Answer<Json<serde_json::Value>> {
    let grants: Vec<GrantView> = match &principal {
        Principal::Person(_) => {
            let caller = principal.require(UseCase::ListOwnAccess)?;
            let access = state.ports.requests.my_access(caller).await?;
            access.grants.into_iter().map(|grant| GrantView::of(&grant.request)).collect()
        }
        Principal::Robot(robot) => {
            let record = state.store.request(&robot.robot.request_id).await?.ok_or(ApiError::NotFound)?;
            vec![GrantView::of(&record.summary)]
        }
    };
    Ok(Json(serde_json::json!({ "grants": grants })))
}

/// `GET /api/v1/grants/{id}`.
async fn show_grant(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Answer<Json<GrantView>> {
    match &principal {
        Principal::Person(caller) => {
            principal.require(UseCase::ViewRequest)?;
            let record = auth::person_grant(&state, caller, &id, UseCase::ViewRequest).await?;
            Ok(Json(GrantView::of(&record.summary)))
        }
        Principal::Robot(robot) => {
            let record = auth::robot_grant(&state, robot, &id, UseCase::ViewRequest).await?;
            Ok(Json(GrantView::of(&record.summary)))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KubeconfigAsk {
    /// A robot's name: its kubeconfig instead of the caller's own (people only).
    #[serde(default)]
    robot: Option<String>,
    /// The kubeconfig's lifetime; the CI or personal bounds apply.
    #[serde(default)]
    lifetime_hours: Option<u32>,
    /// Instead of hours: a token of 10 to 60 minutes (the command line's exec credential plugin).
    #[serde(default)]
    lifetime_minutes: Option<u32>,
}

impl KubeconfigAsk {
    /// The two lifetimes as the download form has them (one of them empty).
    fn lifetimes(&self) -> Result<(String, String), ApiError> {
        let text = |value: Option<u32>| value.map(|v| v.to_string()).unwrap_or_default();
        match (self.lifetime_hours, self.lifetime_minutes) {
            (None, None) | (Some(_), Some(_)) => Err(ApiError::invalid(
                "lifetime_hours",
                "Give the kubeconfig's lifetime: lifetime_hours, or lifetime_minutes for a short token.",
            )),
            (hours, minutes) => Ok((text(hours), text(minutes))),
        }
    }
}

/// `POST /api/v1/grants/{id}/kubeconfig`: a kubeconfig (and its token alone) for the caller, or for a robot.
async fn get_kubeconfig(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
    ask: Body<KubeconfigAsk>,
) -> Answer<Response> {
    let download = match &principal {
        Principal::Person(caller) => {
            principal.require(UseCase::DownloadKubeconfig)?;
            let ask = ask.read()?;
            let (lifetime_hours, lifetime_minutes) = ask.lifetimes()?;
            let form = crate::workflow::credentials::KubeconfigForm {
                purpose: if ask.robot.is_some() { "ci" } else { "personal" }.to_string(),
                name: ask.robot.unwrap_or_default(),
                lifetime_hours,
                lifetime_minutes,
            };
            state.credentials.issue(caller, &id, &form).await?
        }
        Principal::Robot(robot) => {
            let ask = ask.read()?;
            if ask.robot.as_deref().is_some_and(|name| name != robot.robot.name) {
                return Err(ApiFailure(ApiError::NotAllowed(
                    "A robot's token gets kubeconfigs of that robot only.".to_string(),
                )));
            }
            let (hours, minutes) = ask.lifetimes()?;
            state.credentials.issue_to_robot(&robot.robot, &robot.on_behalf_of, &id, &hours, &minutes).await?
        }
    };
    let body = IssuedKubeconfig {
        credential_id: download.credential_id,
        namespace: download.namespace,
        username: download.username,
        expires_at: download.expires_at,
        kubeconfig: download.kubeconfig.expose_secret().to_string(),
        token: download.token.expose_secret().to_string(),
    };
    // A credential: no cache may keep it.
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body)).into_response())
}

/// `GET /api/v1/grants/{id}/robots`.
async fn list_robots(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Answer<Json<serde_json::Value>> {
    let caller = principal.require(UseCase::ViewRequest)?;
    let record = auth::person_grant(&state, caller, &id, UseCase::ViewRequest).await?;
    let robots: Vec<RobotView> = robots_of(&state, &record).await?.iter().map(RobotView::of).collect();
    Ok(Json(serde_json::json!({ "robots": robots })))
}

/// The robots of grant `record`, as the grant's page lists them (with their Kubernetes user names).
async fn robots_of(state: &ApiState, record: &RequestRecord) -> Result<Vec<RobotSummary>, ApiError> {
    let members = crate::workflow::members::grant_members(&state.store, record, &state.identities_namespace).await?;
    Ok(members.robots)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RobotAsk {
    name: String,
}

/// `POST /api/v1/grants/{id}/robots`: the owner creates a robot.
async fn add_robot(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
    ask: Body<RobotAsk>,
) -> Answer<Response> {
    let caller = principal.require(UseCase::ManageAccess)?;
    let ask = ask.read()?;
    state.ports.members.add_robot(caller, &id, &ask.name).await?;
    let record = auth::person_grant(&state, caller, &id, UseCase::ViewRequest).await?;
    let robots = robots_of(&state, &record).await?;
    let made = robots.iter().find(|robot| robot.name == ask.name.trim()).ok_or(ApiError::Internal)?;
    Ok((StatusCode::CREATED, Json(RobotView::of(made))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenAsk {
    /// What the token is for, to tell it apart (`jenkins-prod pipeline`).
    name: String,
    /// Its lifetime, at most the grant's and `credentials.api_token_days.max`.
    days: u32,
}

/// `POST /api/v1/grants/{id}/robots/{robot}/tokens`: the owner makes an API token for a robot (shown once).
async fn make_robot_token(
    State(state): State<ApiState>,
    principal: Principal,
    Path((id, robot_id)): Path<(String, String)>,
    ask: Body<TokenAsk>,
) -> Answer<Response> {
    let caller = principal.require(UseCase::ManageAccess)?;
    let ask = ask.read()?;
    let made = make_token(&state, caller, &id, &robot_id, &ask.name, ask.days).await?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(made))
        .into_response())
}

/// Makes an API token for robot `robot_id` of grant `id`, which `caller` may manage: for the API and for the
/// grant page's form.
pub async fn make_token(
    state: &ApiState,
    caller: &app::auth::Caller,
    id: &str,
    robot_id: &str,
    name: &str,
    days: u32,
) -> Result<MadeTokenView, ApiError> {
    // Its owner or an admin, while it is ready.
    let grant = auth::person_grant(state, caller, id, UseCase::ManageAccess).await?;
    let robot_id = app::model::RobotId::parse(robot_id)?;
    let robot = state.store.robot(id, robot_id.as_str()).await?.ok_or(ApiError::NotFound)?;
    let name = name.trim();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > 80 {
        problems.push(app::error::FieldProblem::new("name", "Say what the token is for, in at most 80 characters."));
    }
    let now = state.clock.now();
    let max_days = TOKEN_MAX_DAYS;
    let ends = grant.summary.expires_at;
    if days == 0 || days > max_days {
        problems.push(app::error::FieldProblem::new("days", format!("Between 1 and {max_days} days.")));
    } else if let Some(ends) = ends
        && now + TimeDelta::days(i64::from(days)) > ends
    {
        problems.push(app::error::FieldProblem::new(
            "days",
            format!("The grant ends {}; a token cannot outlive it.", ends.format("%Y-%m-%d %H:%M UTC")),
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let expires_at = now + TimeDelta::days(i64::from(days));
    let made = state
        .store
        .make_token(&NewToken {
            kind: TokenKind::Robot,
            robot_id: Some(&robot.id),
            person_id: None,
            name,
            created_by: Some(&caller.person.id),
            created_at: now,
            expires_at,
            request_id: Some(id),
            by_rule: None,
        })
        .await?;
    tracing::info!(request = %id, robot = %robot.name, token = %made.id, actor = %caller.person.id, "robot API token made");
    Ok(MadeTokenView { id: made.id, token: made.token.expose_secret().to_string(), robot: robot.name, expires_at })
}

/// The longest a robot's API token lives.
pub const TOKEN_MAX_DAYS: u32 = 90;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestAsk {
    namespace: String,
    purpose: String,
    stage: String,
    /// `none` (Helm 3 and later) or `tiller`.
    helm_mode: String,
    quota_profile: String,
    lifetime_days: u32,
    /// The owning team: one of the caller's team groups.
    #[serde(default)]
    team: Option<String>,
}

/// `POST /api/v1/requests`: a person requests a namespace.
async fn submit_request(
    State(state): State<ApiState>,
    principal: Principal,
    ask: Body<RequestAsk>,
) -> Answer<Response> {
    let caller = principal.require(UseCase::SubmitRequest)?;
    let ask = ask.read()?;
    let form = RequestForm {
        namespace: ask.namespace,
        purpose: ask.purpose,
        stage: ask.stage,
        helm_mode: ask.helm_mode,
        quota_profile: ask.quota_profile,
        lifetime_days: ask.lifetime_days.to_string(),
        team: ask.team.unwrap_or_default(),
    };
    let id = state.ports.requests.submit(caller, form).await?;
    let record = auth::person_grant(&state, caller, &id, UseCase::ViewRequest).await?;
    Ok((StatusCode::CREATED, Json(GrantView::of(&record.summary))).into_response())
}

/// `POST /api/v1/requests/{id}/approve`: an approver approves (their approval may be one of several needed).
async fn approve_request(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Answer<Json<GrantView>> {
    let caller = principal.require(UseCase::DecideRequest)?;
    state.ports.requests.decide(caller, &id, Verdict::Approve).await?;
    let record = auth::person_grant(&state, caller, &id, UseCase::ViewRequest).await?;
    Ok(Json(GrantView::of(&record.summary)))
}

/// `GET /api/v1/approvals`: the first page of requests the caller may still decide, oldest first.
async fn list_approvals(State(state): State<ApiState>, principal: Principal) -> Answer<Json<serde_json::Value>> {
    let caller = principal.require(UseCase::ListPending)?;
    let approvals = state.ports.requests.approvals(caller, app::requests::PagePosition::Number(1)).await?;
    let requests: Vec<GrantView> = approvals.requests.items.iter().map(|item| GrantView::of(&item.request)).collect();
    Ok(Json(serde_json::json!({ "requests": requests, "total": approvals.requests.total })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeAsk {
    reason: String,
}

/// `POST /api/v1/credentials/{id}/revoke`.
async fn revoke_credential(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
    ask: Body<RevokeAsk>,
) -> Answer<StatusCode> {
    let ask = ask.read()?;
    match &principal {
        Principal::Person(caller) => {
            principal.require(UseCase::RevokeCredential)?;
            state.ports.credentials.revoke(caller, &id, &ask.reason).await?;
        }
        Principal::Robot(robot) => state.credentials.revoke_as_robot(&robot.robot, &id, &ask.reason).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}
