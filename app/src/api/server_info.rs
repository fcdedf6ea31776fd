//! What the server says about itself: shown on the home page, and the first end-to-end round trip.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::system::ServerInfo;

/// Open to visitors who have not signed in: it holds nothing secret, and the status card shows it to them.
#[server(endpoint = "server_info")]
pub async fn get_server_info() -> Result<ServerInfo, ApiError> {
    crate::ports::Ports::current()?.system.server_info().await
}
