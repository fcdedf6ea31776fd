//! The people who have signed in to Berth, for admins.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::error::ApiError;

/// One person who has signed in at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub display_name: String,
    pub email: Option<String>,
    /// The identity provider's subject, unique per issuer.
    pub subject: String,
    /// The role their groups granted at their last sign-in; `None`: no access.
    pub role: Option<Role>,
    pub first_sign_in_at: DateTime<Utc>,
    pub last_sign_in_at: DateTime<Utc>,
}

/// Admins only. Most recent sign-in first.
#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserSummary>, ApiError> {
    crate::auth::require(crate::policy::UseCase::ListUsers)?;
    crate::ports::Ports::current()?.users.list_users().await
}
