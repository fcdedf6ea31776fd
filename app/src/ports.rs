//! The ports through which server functions reach the server's services (server side only).
//!
//! The server provides a [`Ports`] value as Leptos context for every page render and server function call;
//! server functions stay thin: take the port, call it, return its answer.

use std::sync::Arc;

use crate::api::requests::RequestForm;
use crate::api::server_info::ServerInfo;
use crate::api::users::UserSummary;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::requests::{ApprovalItem, Page, RequestDetail, RequestOptions, RequestState, RequestWithTimeline};

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

/// Namespace requests and their decisions. The server function has checked the caller's role; the port
/// applies every finer rule (ownership, no self-approval) and validates all input.
#[async_trait::async_trait]
pub trait RequestsPort: Send + Sync + 'static {
    async fn options(&self) -> Result<RequestOptions, ApiError>;
    /// Returns the new request's id.
    async fn submit(&self, caller: &Caller, form: RequestForm) -> Result<String, ApiError>;
    async fn cancel(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError>;
    async fn approve(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError>;
    async fn deny(&self, caller: &Caller, id: &str, reason: &str) -> Result<RequestState, ApiError>;
    /// Provisioning a failed request again (admins only).
    async fn retry(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError>;
    /// Taking a grant's access away (admins only), with a reason.
    async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<RequestState, ApiError>;
    async fn mine(&self, caller: &Caller, page: u32) -> Result<Page<RequestWithTimeline>, ApiError>;
    async fn pending(&self, caller: &Caller, page: u32) -> Result<Page<ApprovalItem>, ApiError>;
    async fn detail(&self, caller: &Caller, id: &str) -> Result<RequestDetail, ApiError>;
}

/// Kubeconfigs handed out.
#[async_trait::async_trait]
pub trait CredentialsPort: Send + Sync + 'static {
    /// The owner revokes their own credential, an admin any, with a reason.
    async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<(), ApiError>;
}

/// Every port the server implements, handed to the app as one context value.
#[derive(Clone)]
pub struct Ports {
    pub system: Arc<dyn SystemPort>,
    pub users: Arc<dyn UsersPort>,
    pub requests: Arc<dyn RequestsPort>,
    pub credentials: Arc<dyn CredentialsPort>,
}

impl Ports {
    /// The ports of the current request. The server provides them for every render and server function call,
    /// so their absence is a wiring bug, reported as an internal error rather than a panic.
    pub fn current() -> Result<Self, ApiError> {
        leptos::prelude::use_context::<Self>().ok_or(ApiError::Internal)
    }
}
