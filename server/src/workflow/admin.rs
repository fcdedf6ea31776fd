//! What only admins do: implements [`app::ports::AdminPort`]. The server function has passed the policy's
//! gate; each method asks the policy again, since this is where the data is.

use app::admin::{AuditEntry, AuditFilter, EVENTS_PER_PAGE, GRANTS_PER_PAGE, GrantFilter};
use app::auth::Caller;
use app::error::{ApiError, FieldProblem};
use app::model::{Reason, RequestId};
use app::policy::{Policy, Target, UseCase};
use app::ports::AdminPort;
use app::requests::lifecycle::{self, Action};
use app::requests::{GrantWithCredentials, Page, field};

use super::requests::target;
use super::worker::Waker;
use crate::clock::Clock;
use crate::store::Store;

pub struct AdminService {
    pub store: Store,
    pub policy: Policy,
    /// Wakes the worker after a namespace deletion is asked for.
    pub worker: Waker,
    pub clock: Clock,
}

/// The offset of `page`'s first row (pages are 1-based; 0 counts as 1).
fn offset(page: u32, size: u32) -> (u32, u64) {
    let page = page.max(1);
    (page, u64::from(page - 1) * u64::from(size))
}

#[async_trait::async_trait]
impl AdminPort for AdminService {
    async fn grants(&self, caller: &Caller, filter: GrantFilter) -> Result<Page<GrantWithCredentials>, ApiError> {
        self.policy.check(caller, UseCase::ListGrants, Target::Nothing)?;
        let (number, skip) = offset(filter.page, GRANTS_PER_PAGE);
        let slice = self.store.grants(&filter, GRANTS_PER_PAGE, skip).await?;
        let ids: Vec<String> = slice.items.iter().map(|r| r.summary.id.clone()).collect();
        let mut credentials = self.store.credentials_of_grants(&ids).await?;
        Ok(Page {
            items: slice
                .items
                .into_iter()
                .map(|record| GrantWithCredentials {
                    credentials: credentials.remove(&record.summary.id).unwrap_or_default(),
                    request: record.summary,
                })
                .collect(),
            number,
            size: GRANTS_PER_PAGE,
            total: slice.total,
        })
    }

    async fn audit(&self, caller: &Caller, filter: AuditFilter) -> Result<Page<AuditEntry>, ApiError> {
        self.policy.check(caller, UseCase::ReadAudit, Target::Nothing)?;
        let (number, skip) = offset(filter.page, EVENTS_PER_PAGE);
        let slice = self.store.audit_events(&filter, EVENTS_PER_PAGE, skip).await?;
        Ok(Page { items: slice.items, number, size: EVENTS_PER_PAGE, total: slice.total })
    }

    async fn delete_namespace(&self, caller: &Caller, id: &str, confirm: &str, reason: &str) -> Result<(), ApiError> {
        let id = RequestId::parse(id)?;
        let record = self.store.request(id.as_str()).await?.ok_or(ApiError::NotFound)?;
        let namespace = &record.summary.namespace;
        let mut problems = Vec::new();
        if confirm.trim() != namespace {
            problems.push(FieldProblem::new(
                field::CONFIRM,
                format!("Type the namespace's name, {namespace}, to confirm that it and everything in it goes."),
            ));
        }
        let reason = Reason::parse_into(reason, "Say why, so the owner knows what happened.", &mut problems);
        let Some(reason) = reason.filter(|_| problems.is_empty()) else { return Err(ApiError::Invalid(problems)) };
        let reason = reason.as_str();
        self.policy.check(caller, UseCase::DeleteNamespace, target(&record, false))?;
        // Access first: a grant still in force is revoked in the same step, and the worker deletes the
        // namespace once the identity, its bindings and its kubeconfigs are gone.
        let revoke = lifecycle::next(record.summary.state, Action::Revoke).is_ok();
        if !self.store.ask_namespace_deletion(&record, &caller.person.id, reason, revoke, self.clock.now()).await? {
            return Err(ApiError::Conflict(
                "This request changed meanwhile; reload the page and try again.".to_string(),
            ));
        }
        tracing::info!(request = %record.summary.id, namespace = %namespace, revoke, actor = %caller.person.id, "namespace deletion asked for");
        self.worker.wake();
        Ok(())
    }
}
