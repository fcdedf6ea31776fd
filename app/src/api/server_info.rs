//! What the server says about itself: the admins' server page.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::system::ServerInfo;

/// For admins: the version and uptime tell an attacker which weaknesses to try, and nobody else needs them.
#[server(endpoint = "server_info")]
pub async fn get_server_info() -> Result<ServerInfo, ApiError> {
    crate::auth::require(crate::policy::UseCase::ViewServerStatus)?;
    crate::ports::Ports::current()?.system.server_info().await
}
