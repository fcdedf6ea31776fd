//! What happens to a ready grant besides its lifecycle: changes (more time, another quota profile, Helm 3
//! instead of Tiller; asked by its owner, decided by the decision policy, applied by the worker), the admin's
//! deletion of its namespace, and the owner's view of their access.
//!
//! Each change is guarded by the request's version, like a transition, and bumps it: a change approved
//! while the worker is about to expire the grant makes the worker's expiry fail (the approval stands), and
//! two approvers deciding one change record exactly one decision.

use app::requests::{Action, ChangeAsk, HelmMode, RequestState};
use chrono::{DateTime, Utc};

use super::requests::{RequestRecord, RequestRow, SELECT_REQUESTS, Slice, change_from_column};
use super::{NewEvent, Result, Store, append_event, on_pool};

/// Who decided a change: a person, or the decision policy's rule that approves it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy<'a> {
    Person(&'a str),
    Rule(&'a str),
}

/// A change of a ready grant as its owner asked for it, about to be recorded.
#[derive(Debug, Clone)]
pub struct NewChange<'a> {
    pub record: &'a RequestRecord,
    pub days: Option<u32>,
    pub quota_profile: Option<&'a str>,
    pub helm_mode: Option<HelmMode>,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

/// The decision on a pending change, as the workflow made it from the request it read.
#[derive(Debug, Clone)]
pub struct ChangeDecision<'a> {
    pub record: &'a RequestRecord,
    pub decided_by: DecidedBy<'a>,
    /// `Some`: approved, and this is the grant afterwards. `None`: refused.
    pub approved: Option<ChangedGrant<'a>>,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// A grant after an approved change.
#[derive(Debug, Clone)]
pub struct ChangedGrant<'a> {
    pub expires_at: Option<DateTime<Utc>>,
    pub quota_profile: &'a str,
    pub helm_mode: HelmMode,
}

impl Store {
    /// Records the owner's ask for a change of a ready grant without a pending one, and starts its approvals
    /// afresh. `false`: the grant changed meanwhile, or already has an ask (nothing written).
    pub async fn ask_change(&self, change: &NewChange<'_>) -> Result<bool> {
        let record = change.record;
        let asked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE requests SET change_days = $1, change_quota_profile = $2, change_helm_mode = $3,
                        change_reason = $4, change_requested_at = $5, version = version + 1, updated_at = $5
                 WHERE id = $6 AND version = $7 AND state = $8 AND change_requested_at IS NULL",
            )
            .bind(change.days.map(|days| i32::try_from(days).unwrap_or(i32::MAX)))
            .bind(change.quota_profile)
            .bind(change.helm_mode.map(HelmMode::as_str))
            .bind(change.reason)
            .bind(change.at)
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
            sqlx::query("DELETE FROM approvals WHERE request_id = $1").bind(&record.summary.id).execute(&mut *tx).await?;
            let asked = ChangeAsk {
                days: change.days,
                quota_profile: change.quota_profile.map(str::to_string),
                helm_mode: change.helm_mode,
                reason: String::new(),
                at: change.at,
            };
            let detail = format!("{}: {}", asked.summary(), change.reason);
            let event = NewEvent::record(&record.summary.id, Some(&record.requester_id), Action::AskChange, change.at)
                .reason(Some(&detail));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(asked)
    }

    /// Approves (the grant takes its new end, profile and Helm mode; an end moved is warned about again, and a
    /// new profile or Helm mode waits for the worker in `applying_change_from`) or refuses the pending change,
    /// and clears its approvals. `false`: someone decided first, or the grant changed (nothing written).
    pub async fn decide_change(&self, decision: &ChangeDecision<'_>) -> Result<bool> {
        let record = decision.record;
        let action = if decision.approved.is_some() { Action::ApproveChange } else { Action::DenyChange };
        let detail = match (&decision.approved, decision.reason) {
            (Some(after), _) => Some(changed_in_words(record, after)),
            (None, reason) => reason.map(str::to_string),
        };
        let before = &record.summary;
        let moves_cluster = decision
            .approved
            .as_ref()
            .is_some_and(|after| after.quota_profile != before.quota_profile || after.helm_mode != before.helm_mode);
        let from = moves_cluster.then(|| change_from_column(&before.quota_profile, before.helm_mode));
        let decided = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let mut update = sqlx::QueryBuilder::new("UPDATE requests SET ");
            if let Some(after) = &decision.approved {
                update.push("expires_at = ").push_bind(after.expires_at);
                if after.expires_at != before.expires_at {
                    update.push(", expiry_warned_at = NULL");
                }
                update.push(", quota_profile = ").push_bind(after.quota_profile);
                update.push(", helm_mode = ").push_bind(after.helm_mode.as_str());
                // A change approved before the last one was applied keeps the older starting point.
                update.push(", applying_change_from = COALESCE(applying_change_from, ").push_bind(from.clone()).push("), ");
            }
            update.push("change_days = NULL, change_quota_profile = NULL, change_helm_mode = NULL, change_reason = NULL,
                         change_requested_at = NULL, version = version + 1, updated_at = ");
            update.push_bind(decision.at);
            update.push(" WHERE id = ").push_bind(&record.summary.id);
            update.push(" AND version = ").push_bind(record.version);
            update.push(" AND state = ").push_bind(RequestState::Ready.as_str());
            update.push(" AND change_requested_at IS NOT NULL");
            if update.build().execute(&mut *tx).await?.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            sqlx::query("DELETE FROM approvals WHERE request_id = $1").bind(&record.summary.id).execute(&mut *tx).await?;
            let event = match decision.decided_by {
                DecidedBy::Person(id) => NewEvent::record(&record.summary.id, Some(id), action, decision.at),
                DecidedBy::Rule(rule) => NewEvent::record(&record.summary.id, None, action, decision.at).by_rule(rule),
            }
            .reason(detail.as_deref());
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(decided)
    }

    /// Records one approval of a pending change that does not yet complete it (more are needed), guarded by
    /// the version like a request's. `false`: the grant changed meanwhile (nothing written).
    pub async fn add_change_approval(
        &self,
        record: &RequestRecord,
        person_id: &str,
        groups: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let added = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE requests SET version = version + 1, updated_at = $1
                 WHERE id = $2 AND version = $3 AND state = $4 AND change_requested_at IS NOT NULL",
            )
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
            sqlx::query("INSERT INTO approvals (request_id, person_id, groups, at) VALUES ($1, $2, $3, $4)")
                .bind(&record.summary.id)
                .bind(person_id)
                .bind(super::users::groups_to_column(groups))
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let event = NewEvent::record(&record.summary.id, Some(person_id), Action::ApproveChange, at)
                .reason(Some("One of the approvals the change needs."));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(added)
    }

    /// Ready grants with a pending change, oldest ask first.
    pub async fn pending_changes(&self, limit: u32) -> Result<Slice<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS} WHERE r.change_requested_at IS NOT NULL AND r.state = $1
             ORDER BY r.change_requested_at, r.id LIMIT $2"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Ready.as_str()).bind(i64::from(limit)).fetch_all(pool).await)?;
        let total: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE change_requested_at IS NOT NULL AND state = $1",
        )
        .bind(RequestState::Ready.as_str())
        .fetch_one(pool)
        .await)?;
        Ok(Slice {
            items: rows.into_iter().map(RequestRecord::try_from).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// Ready grants with an approved change of profile or Helm mode the worker has yet to apply.
    pub async fn changes_to_apply(&self, limit: u32) -> Result<Vec<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS} WHERE r.applying_change_from IS NOT NULL AND r.state = $1 ORDER BY r.updated_at, r.id
             LIMIT $2"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Ready.as_str()).bind(i64::from(limit)).fetch_all(pool).await)?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// Records that the worker applied the change it read in `record` (`note` says what it did). `false`:
    /// another change was approved meanwhile (its starting point stays, and the worker applies again).
    pub async fn mark_change_applied(&self, record: &RequestRecord, note: &str, at: DateTime<Utc>) -> Result<bool> {
        let Some((profile, helm_mode)) = &record.applying_change_from else { return Ok(false) };
        let marked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE requests SET applying_change_from = NULL, updated_at = $1
                 WHERE id = $2 AND applying_change_from = $3 AND quota_profile = $4 AND helm_mode = $5",
            )
            .bind(at)
            .bind(&record.summary.id)
            .bind(change_from_column(profile, *helm_mode))
            .bind(&record.summary.quota_profile)
            .bind(record.summary.helm_mode.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            let event = NewEvent::record(&record.summary.id, None, Action::ApplyChange, at).reason(Some(note));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(marked)
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

    /// The grants `person_id` requested or is a member of (added, or in one of `teams`, their team groups)
    /// that give access now or soon (approved, provisioning, ready, failed, revoking), ending soonest first
    /// (those not ready yet last).
    pub async fn access_of(&self, person_id: &str, teams: &[String]) -> Result<Vec<RequestRecord>> {
        let by_team =
            super::placeholders(2, teams.len()).map(|list| format!(" OR r.team IN ({list})")).unwrap_or_default();
        let query = format!(
            "{SELECT_REQUESTS}
             WHERE (r.requester_id = $1 OR r.id IN (SELECT request_id FROM grant_members WHERE person_id = $1){by_team})
               AND r.state IN ('approved', 'provisioning', 'ready', 'failed', 'revoking')
             ORDER BY CASE WHEN r.expires_at IS NULL THEN 1 ELSE 0 END, r.expires_at, r.created_at, r.id"
        );
        let rows = on_pool!(self, pool => {
            let mut select = sqlx::query_as::<_, RequestRow>(&query).bind(person_id);
            for team in teams {
                select = select.bind(team.as_str());
            }
            select.fetch_all(pool).await
        })?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }
}

/// What an approved change does, for the audit log: "now ends 2027-01-31 09:00 UTC, quota profile medium".
fn changed_in_words(record: &RequestRecord, after: &ChangedGrant<'_>) -> String {
    let before = &record.summary;
    let mut parts = Vec::new();
    if let Some(ends) = after.expires_at.filter(|ends| Some(*ends) != before.expires_at) {
        parts.push(format!("now ends {}", ends.format("%Y-%m-%d %H:%M UTC")));
    }
    if after.quota_profile != before.quota_profile {
        parts.push(format!("quota profile {} instead of {}", after.quota_profile, before.quota_profile));
    }
    if after.helm_mode != before.helm_mode {
        parts.push(format!("{} instead of {}", after.helm_mode.label(), before.helm_mode.label()));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use app::auth::Role;
    use app::requests::{Action, RequestState};
    use chrono::TimeDelta;

    use app::requests::HelmMode;

    use super::{ChangeDecision, ChangedGrant, DecidedBy, NewChange};
    use crate::store::Store;
    use crate::store::requests::RequestRecord;
    use crate::store::testing::{at, moved, person, ready};

    /// alice asks for `days` more and `profile` on her ready grant; read back.
    async fn asked(store: &Store, grant: &RequestRecord, days: Option<u32>, profile: Option<&str>) -> RequestRecord {
        let change = NewChange {
            record: grant,
            days,
            quota_profile: profile,
            helm_mode: None,
            reason: "longer project",
            at: at(10),
        };
        assert!(store.ask_change(&change).await.unwrap());
        assert!(!store.ask_change(&change).await.unwrap(), "the version moved on");
        store.request(&grant.summary.id).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_change_is_asked_once_and_approving_it_moves_the_end_and_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let backend = store.backend();
            let alice = person(&store, "alice", Role::Developer).await;
            let bob = person(&store, "bob", Role::Approver).await;
            let grant = ready(&store, "team-a", &alice).await;
            let asked = asked(&store, &grant, Some(14), Some("medium")).await;
            let change = asked.summary.change.clone().expect("asked");
            assert_eq!((change.days, change.quota_profile.as_deref()), (Some(14), Some("medium")), "{backend}");
            assert_eq!(store.pending_changes(10).await.unwrap().total, 1);

            let ends = asked.summary.expires_at.unwrap() + TimeDelta::days(14);
            let after = ChangedGrant { expires_at: Some(ends), quota_profile: "medium", helm_mode: HelmMode::NoTiller };
            let decision = ChangeDecision {
                record: &asked,
                decided_by: DecidedBy::Person(&bob),
                approved: Some(after),
                reason: None,
                at: at(12),
            };
            assert!(store.decide_change(&decision).await.unwrap());
            assert!(!store.decide_change(&decision).await.unwrap(), "decided once");
            let changed = store.request(&grant.summary.id).await.unwrap().unwrap();
            assert_eq!((changed.summary.expires_at, changed.summary.change), (Some(ends), None), "{backend}");
            assert_eq!(changed.summary.quota_profile, "medium");
            assert_eq!(changed.applying_change_from, Some(("small".to_string(), HelmMode::NoTiller)), "{backend}");
            assert_eq!(store.pending_changes(10).await.unwrap().total, 0);

            let due = store.changes_to_apply(10).await.unwrap();
            assert_eq!(due.len(), 1, "{backend}: the worker has a profile to apply");
            assert!(store.mark_change_applied(&due[0], "applied", at(13)).await.unwrap());
            assert!(!store.mark_change_applied(&due[0], "applied", at(14)).await.unwrap(), "once");
            assert!(store.changes_to_apply(10).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn an_approval_of_a_change_is_kept_at_the_version_read_and_a_refusal_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let backend = store.backend();
            let alice = person(&store, "alice", Role::Developer).await;
            let bob = person(&store, "bob", Role::Approver).await;
            let grant = ready(&store, "team-a", &alice).await;
            let asked = asked(&store, &grant, None, Some("large")).await;
            let groups = ["berth-approvers".to_string()];
            assert!(store.add_change_approval(&asked, &bob, &groups, at(11)).await.unwrap());
            assert!(!store.add_change_approval(&asked, &bob, &groups, at(11)).await.unwrap(), "stale version");
            let halfway = store.request(&grant.summary.id).await.unwrap().unwrap();
            assert_eq!(store.approvals_of(&[halfway.summary.id.as_str()]).await.unwrap()[&halfway.summary.id].len(), 1);
            let refusal = ChangeDecision {
                record: &halfway,
                decided_by: DecidedBy::Rule("nobody"),
                approved: None,
                reason: Some("Not now"),
                at: at(12),
            };
            assert!(store.decide_change(&refusal).await.unwrap());
            let after = store.request(&grant.summary.id).await.unwrap().unwrap();
            assert_eq!((after.summary.quota_profile.as_str(), after.summary.change), ("small", None), "{backend}");
            assert!(after.applying_change_from.is_none());
            assert!(store.approvals_of(&[after.summary.id.as_str()]).await.unwrap().is_empty(), "approvals cleared");
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
            assert!(store.access_of(&alice, &[]).await.unwrap().is_empty(), "a revoked grant gives no access");
        }
    }
}
