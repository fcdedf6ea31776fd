//! My access: what the signed-in person can reach now, and for how long.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::requests::MyAccess;

#[server(endpoint = "access")]
pub async fn get_my_access() -> Result<MyAccess, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ListOwnAccess)?;
    crate::ports::Ports::current()?.requests.my_access(&caller).await.map_err(crate::error::with_status)
}
