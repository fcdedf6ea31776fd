//! The server's answers about itself: implements [`app::ports::SystemPort`].

use app::error::ApiError;
use app::ports::SystemPort;
use app::system::ServerInfo;
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::store::Installation;

/// Berth's version, the same for every crate of the workspace.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct SystemService {
    pub installation: Installation,
    pub started_at: DateTime<Utc>,
    pub clock: Clock,
}

#[async_trait::async_trait]
impl SystemPort for SystemService {
    async fn server_info(&self) -> Result<ServerInfo, ApiError> {
        let now = self.clock.now();
        Ok(ServerInfo {
            version: VERSION.to_string(),
            installation_id: self.installation.id.clone(),
            started_at: self.started_at.into(),
            answered_at: now.into(),
            uptime_seconds: (now - self.started_at).num_seconds().max(0).unsigned_abs(),
        })
    }
}
