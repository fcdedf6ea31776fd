//! Facts about the running server, as the admins' server page shows them.

use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// What the server says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Berth's version, from the workspace manifest.
    pub version: String,
    /// Identifies this installation; created with its database, stable across restarts.
    pub installation_id: String,
    /// When this server process started.
    pub started_at: Timestamp,
    /// When the server answered this call.
    pub answered_at: Timestamp,
    /// Seconds between the two.
    pub uptime_seconds: u64,
}
