//! The people who have signed in to Berth, for admins.

use leptos::prelude::*;

use crate::admin::UserSummary;
use crate::error::ApiError;

/// Admins only. Most recent sign-in first.
#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserSummary>, ApiError> {
    crate::auth::require(crate::policy::UseCase::ListUsers)?;
    crate::ports::Ports::current()?.users.list_users().await
}
