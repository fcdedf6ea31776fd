//! What only admins do: the dashboard of every grant, the audit log, and deleting a namespace. (The audit
//! log's CSV and JSON exports are plain downloads: `server/src/audit_export.rs`.)
//!
//! The filters arrive as the text of the page's query string and are parsed by the same code as in the
//! browser ([`crate::admin::GrantFilter::from_query`], [`crate::admin::AuditFilter::from_query`]): a value that makes no sense is
//! dropped, never a decoding error.

use leptos::prelude::*;

use crate::admin::AuditEntry;
use crate::error::ApiError;
use crate::requests::{GrantWithCredentials, Page};

/// One page of every grant, filtered and sorted, each with its kubeconfigs.
#[server(endpoint = "admin/grants")]
pub async fn list_grants(
    #[server(default)] q: String,
    #[server(default)] state: String,
    #[server(default)] stage: String,
    #[server(default)] owner: String,
    #[server(default)] sort: String,
    #[server(default)] page: String,
) -> Result<Page<GrantWithCredentials>, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ListGrants)?;
    let values = [("q", q), ("state", state), ("stage", stage), ("owner", owner), ("sort", sort), ("page", page)];
    let filter = crate::admin::GrantFilter::from_query(|key| lookup(&values, key));
    crate::ports::Ports::current()?.admin.grants(&caller, filter).await.map_err(crate::error::with_status)
}

/// One page of the audit log, newest first.
#[server(endpoint = "admin/audit")]
pub async fn list_audit_events(
    #[server(default)] person: String,
    #[server(default)] namespace: String,
    #[server(default)] kind: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] page: String,
) -> Result<Page<AuditEntry>, ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::ReadAudit)?;
    let values =
        [("person", person), ("namespace", namespace), ("kind", kind), ("from", from), ("to", to), ("page", page)];
    let filter = crate::admin::AuditFilter::from_query(|key| lookup(&values, key));
    crate::ports::Ports::current()?.admin.audit(&caller, filter).await.map_err(crate::error::with_status)
}

/// Deletes a grant's namespace and everything in it, saying why; `confirm` is its name, typed again. Its
/// access is revoked first if it is still in force.
#[server(endpoint = "admin/delete_namespace")]
pub async fn delete_namespace(
    #[server(default)] id: String,
    #[server(default)] confirm: String,
    #[server(default)] reason: String,
) -> Result<(), ApiError> {
    let caller = crate::auth::require(crate::policy::UseCase::DeleteNamespace)?;
    crate::ports::Ports::current()?
        .admin
        .delete_namespace(&caller, &id, &confirm, &reason)
        .await
        .map_err(crate::error::with_status)
}

#[cfg(feature = "ssr")]
fn lookup(values: &[(&str, String)], key: &str) -> Option<String> {
    values.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
}
