//! What happens to a ready grant besides its lifecycle: extensions (asked by its owner, decided by an
//! approver), the admin's deletion of its namespace, and the owner's view of their access.
//!
//! Each change is guarded by the request's version, like a transition, and bumps it: an extension approved
//! while the worker is about to expire the grant makes the worker's expiry fail (the approval stands), and
//! two approvers deciding one extension record exactly one decision.

use app::requests::{Action, RequestState};
use chrono::{DateTime, Utc};

use super::requests::{RequestRecord, RequestRow, SELECT_REQUESTS, Slice};
use super::{NewEvent, Result, Store, append_event, on_pool};

/// The decision on an extension, as the workflow made it from the request it read.
#[derive(Debug, Clone)]
pub struct ExtensionDecision<'a> {
    pub record: &'a RequestRecord,
    pub actor_id: &'a str,
    /// `Some`: approved, and the grant now ends then. `None`: denied.
    pub new_expires_at: Option<DateTime<Utc>>,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Records the owner's ask for `days` more on a ready grant without a pending ask. `false`: the grant
    /// changed meanwhile, or already has an ask (nothing written).
    pub async fn ask_extension(
        &self,
        record: &RequestRecord,
        days: u32,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let detail = format!("{days} more days: {reason}");
        let asked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE requests SET extension_days = $1, extension_reason = $2, extension_requested_at = $3,
                        version = version + 1, updated_at = $3
                 WHERE id = $4 AND version = $5 AND state = $6 AND extension_requested_at IS NULL",
            )
            .bind(i32::try_from(days).unwrap_or(i32::MAX))
            .bind(reason)
            .bind(at)
            .bind(&record.summary.id)
            .bind(record.version)
            .bind(RequestState::Ready.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            let event = NewEvent::record(&record.summary.id, Some(&record.requester_id), Action::RequestExtension, at)
                .reason(Some(&detail));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(asked)
    }

    /// Approves (the grant ends later, and its owner will be warned again before the new end) or denies the
    /// pending extension. `false`: someone decided first, or the grant changed (nothing written).
    pub async fn decide_extension(&self, decision: &ExtensionDecision<'_>) -> Result<bool> {
        let record = decision.record;
        let action = if decision.new_expires_at.is_some() { Action::ApproveExtension } else { Action::DenyExtension };
        let detail = match (decision.new_expires_at, decision.reason) {
            (Some(ends), _) => Some(format!("now ends {}", ends.format("%Y-%m-%d %H:%M UTC"))),
            (None, reason) => reason.map(str::to_string),
        };
        let decided = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE requests SET expires_at = COALESCE($1, expires_at),
                        expiry_warned_at = CASE WHEN $1 IS NULL THEN expiry_warned_at ELSE NULL END,
                        extension_days = NULL, extension_reason = NULL, extension_requested_at = NULL,
                        version = version + 1, updated_at = $2
                 WHERE id = $3 AND version = $4 AND state = $5 AND extension_requested_at IS NOT NULL",
            )
            .bind(decision.new_expires_at)
            .bind(decision.at)
            .bind(&record.summary.id)
            .bind(record.version)
            .bind(RequestState::Ready.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            let event = NewEvent::record(&record.summary.id, Some(decision.actor_id), action, decision.at)
                .reason(detail.as_deref());
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(decided)
    }

    /// Ready grants with a pending extension, oldest ask first.
    pub async fn pending_extensions(&self, limit: u32) -> Result<Slice<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS} WHERE r.extension_requested_at IS NOT NULL AND r.state = $1
             ORDER BY r.extension_requested_at, r.id LIMIT $2"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Ready.as_str()).bind(i64::from(limit)).fetch_all(pool).await)?;
        let total: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE extension_requested_at IS NOT NULL AND state = $1",
        )
        .bind(RequestState::Ready.as_str())
        .fetch_one(pool)
        .await)?;
        Ok(Slice {
            items: rows.into_iter().map(RequestRecord::try_from).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// Records an admin's deletion of the grant's namespace, and with `revoke` (its access is still in
    /// force) starts the grant's revocation in the same transaction, so the worker removes the access first
    /// and the namespace after. `false`: the request changed meanwhile, or its deletion was already asked
    /// for (nothing written).
    pub async fn ask_namespace_deletion(
        &self,
        record: &RequestRecord,
        actor_id: &str,
        reason: &str,
        revoke: bool,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let from = record.summary.state;
        let to = if revoke { RequestState::Revoking } else { from };
        let asked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE requests SET namespace_delete_requested_at = $1, state = $2, version = version + 1,
                        updated_at = $1, next_attempt_at = NULL, lease_until = NULL
                 WHERE id = $3 AND version = $4 AND state = $5 AND namespace_delete_requested_at IS NULL",
            )
            .bind(at)
            .bind(to.as_str())
            .bind(&record.summary.id)
            .bind(record.version)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            if revoke {
                let event = NewEvent::record(&record.summary.id, Some(actor_id), Action::Revoke, at)
                    .moved(Some(from), to)
                    .reason(Some(reason));
                append_event!(&mut *tx, &event).await?;
            }
            let event = NewEvent::record(&record.summary.id, Some(actor_id), Action::DeleteNamespace, at)
                .reason(Some(reason));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(asked)
    }

    /// Grants whose namespace is to be deleted and whose access is gone (revoked or expired), oldest ask
    /// first.
    pub async fn namespaces_to_delete(&self, limit: u32) -> Result<Vec<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS}
             WHERE r.namespace_delete_requested_at IS NOT NULL AND r.namespace_deleted_at IS NULL
               AND r.state IN ($1, $2)
             ORDER BY r.namespace_delete_requested_at, r.id LIMIT $3"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Revoked.as_str())
            .bind(RequestState::Expired.as_str())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// Records that the worker deleted the namespace (or found it gone), once; `note` says how it went.
    /// `false`: another replica recorded it first.
    pub async fn mark_namespace_deleted(&self, id: &str, note: &str, at: DateTime<Utc>) -> Result<bool> {
        let marked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE requests SET namespace_deleted_at = $1, updated_at = $1
                 WHERE id = $2 AND namespace_delete_requested_at IS NOT NULL AND namespace_deleted_at IS NULL",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            let event = NewEvent::record(id, None, Action::NamespaceDeleted, at).reason(Some(note));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(marked)
    }

    /// `requester_id`'s grants that give access now or soon (approved, provisioning, ready, failed,
    /// revoking), ending soonest first (those not ready yet last).
    pub async fn access_of(&self, requester_id: &str) -> Result<Vec<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS}
             WHERE r.requester_id = $1 AND r.state IN ('approved', 'provisioning', 'ready', 'failed', 'revoking')
             ORDER BY CASE WHEN r.expires_at IS NULL THEN 1 ELSE 0 END, r.expires_at, r.created_at, r.id"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(requester_id).fetch_all(pool).await)?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use app::auth::Role;
    use app::requests::{Action, RequestState};
    use chrono::TimeDelta;

    use super::ExtensionDecision;
    use crate::store::testing::{at, moved, person, ready};

    #[tokio::test]
    async fn an_extension_is_asked_once_and_approving_it_moves_the_end() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            let bob = person(&store, "bob", Role::Approver).await;
            let grant = ready(&store, "team-a", &alice).await;
            assert!(store.ask_extension(&grant, 14, "longer project", at(10)).await.unwrap());
            assert!(!store.ask_extension(&grant, 14, "again", at(11)).await.unwrap(), "the version moved on");
            let asked = store.request(&grant.summary.id).await.unwrap().unwrap();
            assert_eq!(asked.summary.extension.as_ref().map(|e| e.days), Some(14), "{}", store.backend());
            assert_eq!(store.pending_extensions(10).await.unwrap().total, 1);

            let ends = asked.summary.expires_at.unwrap() + TimeDelta::days(14);
            let decision = ExtensionDecision {
                record: &asked,
                actor_id: &bob,
                new_expires_at: Some(ends),
                reason: None,
                at: at(12),
            };
            assert!(store.decide_extension(&decision).await.unwrap());
            assert!(!store.decide_extension(&decision).await.unwrap(), "decided once");
            let extended = store.request(&grant.summary.id).await.unwrap().unwrap();
            assert_eq!((extended.summary.expires_at, extended.summary.extension), (Some(ends), None));
            assert_eq!(store.pending_extensions(10).await.unwrap().total, 0);
        }
    }

    #[tokio::test]
    async fn a_namespace_is_deleted_once_its_access_is_gone_and_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            let carol = person(&store, "carol", Role::Admin).await;
            let grant = ready(&store, "team-a", &alice).await;
            assert!(store.ask_namespace_deletion(&grant, &carol, "project over", true, at(10)).await.unwrap());
            let revoking = store.request(&grant.summary.id).await.unwrap().unwrap();
            assert_eq!(revoking.summary.state, RequestState::Revoking, "{}: revoked in the same step", store.backend());
            assert!(store.namespaces_to_delete(10).await.unwrap().is_empty(), "not while its access remains");

            let revoked = moved(&store, &revoking, Action::FinishRevocation, RequestState::Revoked, 11).await;
            let due = store.namespaces_to_delete(10).await.unwrap();
            assert_eq!(due.iter().map(|r| r.summary.id.as_str()).collect::<Vec<_>>(), [revoked.summary.id.as_str()]);
            assert!(store.mark_namespace_deleted(&revoked.summary.id, "deleted", at(12)).await.unwrap());
            assert!(!store.mark_namespace_deleted(&revoked.summary.id, "deleted", at(13)).await.unwrap());
            let actions: Vec<Action> =
                store.events(&revoked.summary.id).await.unwrap().iter().map(|e| e.action).collect();
            assert_eq!(
                &actions[actions.len() - 4..],
                [Action::Revoke, Action::DeleteNamespace, Action::FinishRevocation, Action::NamespaceDeleted],
                "{}",
                store.backend()
            );
            assert!(store.access_of(&alice).await.unwrap().is_empty(), "a revoked grant gives no access");
        }
    }
}
