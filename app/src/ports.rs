//! The ports through which server functions reach the server's services (server side only).
//!
//! The server provides a [`Ports`] value as Leptos context for every page render and server function call;
//! server functions stay thin: take the port, call it, return its answer.

use std::sync::Arc;

use crate::admin::{AuditEntry, AuditFilter, GrantFilter, UserSummary};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::requests::{
    ApprovalItem, Approvals, ChangeForm, GrantWithCredentials, Home, MyAccess, Page, PagePosition, RequestDetail,
    RequestForm, RequestOptions, RequestState, RequestWithTimeline, Verdict,
};
use crate::system::ServerInfo;

/// Facts about the running server.
#[async_trait::async_trait]
pub trait SystemPort: Send + Sync + 'static {
    async fn server_info(&self) -> Result<ServerInfo, ApiError>;
}

/// The people who have signed in.
#[async_trait::async_trait]
pub trait UsersPort: Send + Sync + 'static {
    async fn list_users(&self) -> Result<Vec<UserSummary>, ApiError>;
}

/// Namespace requests and their decisions. The server function has passed the policy's gate for its use case;
/// the port asks the policy again with the record it reads (ownership, no self-approval, state) and validates
/// all input.
#[async_trait::async_trait]
pub trait RequestsPort: Send + Sync + 'static {
    /// What the form offers `caller` (the teams are theirs).
    async fn options(&self, caller: &Caller) -> Result<RequestOptions, ApiError>;
    /// Returns the new request's id.
    async fn submit(&self, caller: &Caller, form: RequestForm) -> Result<String, ApiError>;
    async fn cancel(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError>;
    /// An approver approves or denies (saying why) someone else's pending request.
    async fn decide(&self, caller: &Caller, id: &str, verdict: Verdict) -> Result<RequestState, ApiError>;
    /// Provisioning a failed request again (admins only).
    async fn retry(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError>;
    /// Taking a grant's access away (admins only), with a reason.
    async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<RequestState, ApiError>;
    async fn mine(&self, caller: &Caller, page: u32) -> Result<Page<RequestWithTimeline>, ApiError>;
    async fn pending(&self, caller: &Caller, page: u32) -> Result<Page<ApprovalItem>, ApiError>;
    async fn detail(&self, caller: &Caller, id: &str) -> Result<RequestDetail, ApiError>;
    /// The owner of a ready grant asks for a change (as typed), saying why; the decision policy says who
    /// approves it.
    async fn ask_change(&self, caller: &Caller, id: &str, form: ChangeForm) -> Result<(), ApiError>;
    /// An approver approves or refuses a change (a reason is required to refuse).
    async fn decide_change(&self, caller: &Caller, id: &str, verdict: Verdict) -> Result<(), ApiError>;
    /// Ready grants whose owners asked for a change, oldest ask first (at most one page).
    async fn pending_changes(&self, caller: &Caller) -> Result<Page<ApprovalItem>, ApiError>;
    /// The caller's grants that give access now (or are being set up), with their kubeconfigs.
    async fn my_access(&self, caller: &Caller) -> Result<MyAccess, ApiError>;
    /// The Approvals page's reading: a page of pending requests at `position`, and the pending changes.
    async fn approvals(&self, caller: &Caller, position: PagePosition) -> Result<Approvals, ApiError>;
    /// The home page's reading for the caller, by what their role lets them see.
    async fn home(&self, caller: &Caller) -> Result<Home, ApiError>;
}

/// What only admins do: the dashboard, the audit log, deleting a namespace. The server function has passed
/// the policy's gate; the port asks the policy again (it is the last line, and has the record).
#[async_trait::async_trait]
pub trait AdminPort: Send + Sync + 'static {
    async fn grants(&self, caller: &Caller, filter: GrantFilter) -> Result<Page<GrantWithCredentials>, ApiError>;
    async fn audit(&self, caller: &Caller, filter: AuditFilter) -> Result<Page<AuditEntry>, ApiError>;
    /// Deletes the grant's namespace once its access is removed (revoking it first if need be); `confirm`
    /// must be the namespace's name, typed again.
    async fn delete_namespace(&self, caller: &Caller, id: &str, confirm: &str, reason: &str) -> Result<(), ApiError>;
}

/// Kubeconfigs handed out.
#[async_trait::async_trait]
pub trait CredentialsPort: Send + Sync + 'static {
    /// The owner revokes their own credential, an admin any, with a reason.
    async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<(), ApiError>;
}

/// A grant's members and robots. The server function has passed the policy's gate; the port asks the policy
/// about the grant (its owner or an admin, while it is ready) and validates the input.
#[async_trait::async_trait]
pub trait MembersPort: Send + Sync + 'static {
    /// Adds the person who signs in with `email` as a member.
    async fn add_member(&self, caller: &Caller, request_id: &str, email: &str) -> Result<(), ApiError>;
    /// Removes member `person_id`, with their identity and kubeconfigs.
    async fn remove_member(&self, caller: &Caller, request_id: &str, person_id: &str) -> Result<(), ApiError>;
    async fn add_robot(&self, caller: &Caller, request_id: &str, name: &str) -> Result<(), ApiError>;
    /// Removes robot `robot_id`, with its identity and kubeconfigs.
    async fn remove_robot(&self, caller: &Caller, request_id: &str, robot_id: &str) -> Result<(), ApiError>;
    /// Revokes API token `token_id` of robot `robot_id`.
    async fn revoke_token(
        &self,
        caller: &Caller,
        request_id: &str,
        robot_id: &str,
        token_id: &str,
    ) -> Result<(), ApiError>;
}

/// Every port the server implements, handed to the app as one context value.
#[derive(Clone)]
pub struct Ports {
    pub system: Arc<dyn SystemPort>,
    pub users: Arc<dyn UsersPort>,
    pub requests: Arc<dyn RequestsPort>,
    pub credentials: Arc<dyn CredentialsPort>,
    pub members: Arc<dyn MembersPort>,
    pub admin: Arc<dyn AdminPort>,
}

impl Ports {
    /// The ports of the current request. The server provides them for every render and server function call,
    /// so their absence is a wiring bug, reported as an internal error rather than a panic.
    pub fn current() -> Result<Self, ApiError> {
        leptos::prelude::use_context::<Self>().ok_or(ApiError::Internal)
    }
}
