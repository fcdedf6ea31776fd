//! What the server says about itself: shown on the home page, and the first end-to-end round trip.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Berth's version, from the workspace manifest.
    pub version: String,
    /// Identifies this installation; created with its database, stable across restarts.
    pub installation_id: String,
    /// When this server process started.
    pub started_at: DateTime<Utc>,
    /// When the server answered this call.
    pub answered_at: DateTime<Utc>,
}

/// Open to visitors who have not signed in: it holds nothing secret, and the status card shows it to them.
#[server(endpoint = "server_info")]
pub async fn get_server_info() -> Result<ServerInfo, ApiError> {
    crate::ports::Ports::current()?.system.server_info().await
}
