//! A grant's members and robots: its owner (the requester) or an admin adds and removes them. Each gets an
//! identity of their own in the cluster; removing one takes exactly their access away.

use leptos::prelude::*;

use crate::error::ApiError;

/// Adds a person, by the email address they sign in with, as a member of a ready grant: they see it,
/// download their own kubeconfigs and ask for changes.
#[server(endpoint = "members/add")]
pub async fn add_member(#[server(default)] id: String, #[server(default)] email: String) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ManageAccess)?;
    crate::ports::Ports::current()?.members.add_member(&caller, &id, &email).await.map_err(crate::error::with_status)
}

/// Removes a member: their identity, its binding and every kubeconfig they downloaded for the grant are gone.
#[server(endpoint = "members/remove")]
pub async fn remove_member(#[server(default)] id: String, #[server(default)] person: String) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ManageAccess)?;
    crate::ports::Ports::current()?
        .members
        .remove_member(&caller, &id, &person)
        .await
        .map_err(crate::error::with_status)
}

/// Creates a robot on a ready grant: an identity of its own for a CI system, which outlives its creator.
#[server(endpoint = "robots/add")]
pub async fn add_robot(#[server(default)] id: String, #[server(default)] name: String) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ManageAccess)?;
    crate::ports::Ports::current()?.members.add_robot(&caller, &id, &name).await.map_err(crate::error::with_status)
}

/// Removes a robot: its identity, its binding and its kubeconfigs are gone; nobody else's.
#[server(endpoint = "robots/remove")]
pub async fn remove_robot(#[server(default)] id: String, #[server(default)] robot: String) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ManageAccess)?;
    crate::ports::Ports::current()?.members.remove_robot(&caller, &id, &robot).await.map_err(crate::error::with_status)
}

/// Revokes one of a robot's API tokens: Berth refuses it from then on.
#[server(endpoint = "robots/revoke_token")]
pub async fn revoke_robot_token(
    #[server(default)] id: String,
    #[server(default)] robot: String,
    #[server(default)] token: String,
) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ManageAccess)?;
    crate::ports::Ports::current()?
        .members
        .revoke_token(&caller, &id, &robot, &token)
        .await
        .map_err(crate::error::with_status)
}
