//! Facts about the running server, as the home page shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the server says about itself.
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
