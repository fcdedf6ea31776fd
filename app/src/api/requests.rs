//! Namespace requests: submit, cancel, decide, and the lists and detail the pages show.
//!
//! Every function passes the policy's gate for its use case first; the port then asks the policy about the
//! record (only the requester cancels, nobody decides their own request, a developer sees only their own
//! requests). Every argument is `#[server(default)]`: a missing one is empty, so a bare call meets the gate
//! (401/403) and a partial one a clear message, never a decoding error.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::requests::{ApprovalItem, Page, RequestDetail, RequestOptions, RequestState, RequestWithTimeline};

/// What the New request form offers (stages, quota profiles, lifetimes, whether Tiller may be chosen).
#[server(endpoint = "requests/options")]
pub async fn get_request_options() -> Result<RequestOptions, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::SubmitRequest)?;
    crate::ports::Ports::current()?.requests.options(&caller).await
}

/// Submits a request for the signed-in person; returns its id and redirects to its page. The requester is
/// always the caller.
#[server(endpoint = "requests/submit")]
pub async fn submit_request(
    #[server(default)] namespace: String,
    #[server(default)] purpose: String,
    #[server(default)] stage: String,
    #[server(default)] helm_mode: String,
    #[server(default)] quota_profile: String,
    #[server(default)] lifetime_days: String,
    #[server(default)] team: String,
) -> Result<String, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::SubmitRequest)?;
    let form =
        crate::requests::RequestForm { namespace, purpose, stage, helm_mode, quota_profile, lifetime_days, team };
    let id = crate::ports::Ports::current()?.requests.submit(&caller, form).await.map_err(crate::error::with_status)?;
    // To the new request's page: a plain form post (no JavaScript) follows the 302; the hydrated page's
    // router follows the redirect header.
    leptos_axum::redirect(&format!("/requests/{id}"));
    Ok(id)
}

/// The requester withdraws their pending request.
#[server(endpoint = "requests/cancel")]
pub async fn cancel_request(#[server(default)] id: String) -> Result<RequestState, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::CancelRequest)?;
    crate::ports::Ports::current()?.requests.cancel(&caller, &id).await.map_err(crate::error::with_status)
}

/// An approver approves someone else's pending request.
#[server(endpoint = "requests/approve")]
pub async fn approve_request(#[server(default)] id: String) -> Result<RequestState, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::DecideRequest)?;
    crate::ports::Ports::current()?
        .requests
        .decide(&caller, &id, crate::requests::Verdict::Approve)
        .await
        .map_err(crate::error::with_status)
}

/// An approver denies someone else's pending request, saying why.
#[server(endpoint = "requests/deny")]
pub async fn deny_request(
    #[server(default)] id: String,
    #[server(default)] reason: String,
) -> Result<RequestState, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::DecideRequest)?;
    crate::ports::Ports::current()?
        .requests
        .decide(&caller, &id, crate::requests::Verdict::Deny { reason })
        .await
        .map_err(crate::error::with_status)
}

/// An admin starts provisioning a failed request again (after fixing what the cluster refused).
#[server(endpoint = "requests/retry")]
pub async fn retry_request(#[server(default)] id: String) -> Result<RequestState, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::RetryProvisioning)?;
    crate::ports::Ports::current()?.requests.retry(&caller, &id).await.map_err(crate::error::with_status)
}

/// An admin takes a grant's access away, saying why: its RoleBinding, identity and every kubeconfig (and
/// Tiller's ServiceAccount). The namespace stays.
#[server(endpoint = "requests/revoke")]
pub async fn revoke_request(
    #[server(default)] id: String,
    #[server(default)] reason: String,
) -> Result<RequestState, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::RevokeGrant)?;
    crate::ports::Ports::current()?.requests.revoke(&caller, &id, &reason).await.map_err(crate::error::with_status)
}

/// The owner of a ready grant asks for a change, saying why: more days, another quota profile, Helm 3
/// instead of Tiller (empty fields ask for nothing of their kind). The decision policy decides who approves
/// it; a change that only takes away (a smaller profile, Helm 3 instead of Tiller) is approved at once.
#[server(endpoint = "requests/change")]
pub async fn ask_for_change(
    #[server(default)] id: String,
    #[server(default)] days: String,
    #[server(default)] quota_profile: String,
    #[server(default)] helm_mode: String,
    #[server(default)] reason: String,
) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::AskChange)?;
    let form = crate::requests::ChangeForm { days, quota_profile, helm_mode, reason };
    crate::ports::Ports::current()?.requests.ask_change(&caller, &id, form).await.map_err(crate::error::with_status)
}

/// An approver approves the change someone else asked for; the worker applies it once approved.
#[server(endpoint = "requests/approve_change")]
pub async fn approve_change(#[server(default)] id: String) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::DecideChange)?;
    crate::ports::Ports::current()?
        .requests
        .decide_change(&caller, &id, crate::requests::Verdict::Approve)
        .await
        .map_err(crate::error::with_status)
}

/// An approver refuses a change, saying why; the grant stays as it is.
#[server(endpoint = "requests/deny_change")]
pub async fn deny_change(#[server(default)] id: String, #[server(default)] reason: String) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::DecideChange)?;
    crate::ports::Ports::current()?
        .requests
        .decide_change(&caller, &id, crate::requests::Verdict::Deny { reason })
        .await
        .map_err(crate::error::with_status)
}

/// Changes waiting for a decision, oldest ask first.
#[server(endpoint = "requests/pending_changes")]
pub async fn list_pending_changes() -> Result<Page<ApprovalItem>, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ListPending)?;
    crate::ports::Ports::current()?.requests.pending_changes(&caller).await.map_err(crate::error::with_status)
}

/// The caller's own requests, newest first, each with its audit trail.
#[server(endpoint = "requests/mine")]
pub async fn list_my_requests(#[server(default)] page: u32) -> Result<Page<RequestWithTimeline>, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ListOwnRequests)?;
    crate::ports::Ports::current()?.requests.mine(&caller, page).await.map_err(crate::error::with_status)
}

/// Requests waiting for a decision, oldest first.
#[server(endpoint = "requests/pending")]
pub async fn list_pending_requests(#[server(default)] page: u32) -> Result<Page<ApprovalItem>, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ListPending)?;
    crate::ports::Ports::current()?.requests.pending(&caller, page).await.map_err(crate::error::with_status)
}

/// The Approvals page: a page of the pending requests (`after` or `before` a request shown, else by `page`
/// number) and the pending extensions, read together.
#[server(endpoint = "requests/approvals")]
pub async fn get_approvals(
    #[server(default)] after: Option<String>,
    #[server(default)] before: Option<String>,
    #[server(default)] page: Option<u32>,
) -> Result<crate::requests::Approvals, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ListPending)?;
    let position = crate::requests::PagePosition::from_query(after, before, page);
    crate::ports::Ports::current()?.requests.approvals(&caller, position).await.map_err(crate::error::with_status)
}

/// The signed-in home page's reading: the caller's grants and waiting requests, and by role the approvals
/// waiting and the admin overview.
#[server(endpoint = "home")]
pub async fn get_home() -> Result<crate::requests::Home, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ListOwnRequests)?;
    crate::ports::Ports::current()?.requests.home(&caller).await.map_err(crate::error::with_status)
}

/// One request with its audit trail: for its requester, and for approvers and admins.
#[server(endpoint = "requests/detail")]
pub async fn get_request(#[server(default)] id: String) -> Result<RequestDetail, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ViewRequest)?;
    crate::ports::Ports::current()?.requests.detail(&caller, &id).await.map_err(crate::error::with_status)
}

/// What the request's page needs to know while it watches the request: the record's fingerprint
/// ([`RequestDetail::fingerprint`]), a few bytes instead of the whole record.
///
/// [`RequestDetail::fingerprint`]: crate::requests::RequestDetail::fingerprint
#[server(endpoint = "watch_request")]
pub async fn watch_request(#[server(default)] id: String) -> Result<String, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ViewRequest)?;
    let detail = crate::ports::Ports::current()?.requests.detail(&caller, &id).await;
    detail.map(|detail| detail.fingerprint()).map_err(crate::error::with_status)
}
