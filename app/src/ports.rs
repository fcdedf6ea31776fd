//! The ports through which server functions reach the server's services (server side only).
//!
//! The server provides a [`Ports`] value as Leptos context for every page render and server function call;
//! server functions stay thin: take the port, call it, return its answer.

use std::sync::Arc;

use crate::api::server_info::ServerInfo;
use crate::api::users::UserSummary;
use crate::error::ApiError;

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

/// Every port the server implements, handed to the app as one context value.
#[derive(Clone)]
pub struct Ports {
    pub system: Arc<dyn SystemPort>,
    pub users: Arc<dyn UsersPort>,
}

impl Ports {
    /// The ports of the current request. The server provides them for every render and server function call,
    /// so their absence is a wiring bug, reported as an internal error rather than a panic.
    pub fn current() -> Result<Self, ApiError> {
        leptos::prelude::use_context::<Self>().ok_or(ApiError::Internal)
    }
}
