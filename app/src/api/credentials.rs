//! Kubeconfigs handed out. (Downloading one is a plain form post to `/requests/{id}/kubeconfig`, answered
//! with the file; see `server/src/downloads.rs`.)

use leptos::prelude::*;

use crate::error::ApiError;

/// Revokes a kubeconfig, saying why: its owner may revoke their own, an admin any. Its anchor Secret is
/// deleted, and the API server refuses the token within seconds.
#[server(endpoint = "credentials/revoke")]
pub async fn revoke_credential(
    #[server(default)] id: String,
    #[server(default)] reason: String,
) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::RevokeCredential)?;
    crate::ports::Ports::current()?.credentials.revoke(&caller, &id, &reason).await.map_err(crate::error::with_status)
}
