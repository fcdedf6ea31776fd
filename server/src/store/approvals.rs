//! Approvals of pending requests, one row per person (the `approvals` table).
//!
//! Whether an approval completes the request is the decision policy's to say (`app::policy::approvals`),
//! from the approvals read after the request; [`Store::add_approval`] records it only if the request is
//! still at the version read, and moves the version, so an approval that raced another is refused and
//! judged again with both in view. Exactly one approval completes a request.

use std::collections::HashMap;

use app::requests::{Action, RequestState};
use chrono::{DateTime, Utc};

use super::requests::RequestRecord;
use super::users::{groups_from_column, groups_to_column};
use super::{NewEvent, Result, Store, append_event, on_pool};

/// An approval as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedApproval {
    pub person_id: String,
    pub display_name: String,
    /// The groups the person had when they approved, of those the stage's policy named then.
    pub groups: Vec<String>,
    pub at: DateTime<Utc>,
}

/// An approval about to be recorded.
#[derive(Debug, Clone)]
pub struct NewApproval<'a> {
    /// The request as read, before the approvals that were judged with it.
    pub record: &'a RequestRecord,
    pub person_id: &'a str,
    pub groups: &'a [String],
    /// The policy found every seat filled with this approval: the request moves to approved with it.
    pub completes: bool,
    pub at: DateTime<Utc>,
}

impl Store {
    /// The approvals of each of `request_ids`, in the order they were given.
    pub async fn approvals_of(&self, request_ids: &[&str]) -> Result<HashMap<String, Vec<RecordedApproval>>> {
        let mut approvals: HashMap<String, Vec<RecordedApproval>> = HashMap::new();
        if request_ids.is_empty() {
            return Ok(approvals);
        }
        type Row = (String, String, String, String, DateTime<Utc>);
        let rows: Vec<Row> = on_pool!(self, pool => {
            let mut select = sqlx::QueryBuilder::new(
                "SELECT a.request_id, a.person_id, u.display_name, a.groups, a.at
                 FROM approvals a JOIN users u ON u.id = a.person_id
                 WHERE a.request_id IN (",
            );
            let mut ids = select.separated(", ");
            for id in request_ids {
                ids.push_bind(*id);
            }
            select.push(") ORDER BY a.at, a.person_id");
            select.build_query_as().fetch_all(pool).await
        })?;
        for (request_id, person_id, display_name, groups, at) in rows {
            let groups = groups_from_column(&groups)?;
            approvals.entry(request_id).or_default().push(RecordedApproval { person_id, display_name, groups, at });
        }
        Ok(approvals)
    }

    /// Records `approval` and its audit event, and with the approval that completes the request its move to
    /// approved, in one transaction; only if the request is still pending at the version read. `false`: it
    /// had moved on (another approval, a denial, a cancellation), and nothing was written.
    pub async fn add_approval(&self, approval: &NewApproval<'_>) -> Result<bool> {
        let record = approval.record;
        let to = if approval.completes { RequestState::Approved } else { RequestState::Pending };
        let applied = on_pool!(self, pool => async {
            // The UPDATE first, as in `Store::apply`: it takes the row (SQLite: the write lock) before anything
            // is read or written.
            let mut tx = pool.begin().await?;
            let mut update = sqlx::QueryBuilder::new("UPDATE requests SET version = version + 1, updated_at = ");
            update.push_bind(approval.at);
            if approval.completes {
                update.push(", state = ").push_bind(to.as_str());
                update.push(", decided_by = ").push_bind(approval.person_id);
                update.push(", decided_at = ").push_bind(approval.at);
                update.push(", decision_reason = NULL, next_attempt_at = NULL, lease_until = NULL");
            }
            update.push(" WHERE id = ").push_bind(&record.summary.id);
            update.push(" AND version = ").push_bind(record.version);
            update.push(" AND state = ").push_bind(RequestState::Pending.as_str());
            if update.build().execute(&mut *tx).await?.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            sqlx::query("INSERT INTO approvals (request_id, person_id, groups, at) VALUES ($1, $2, $3, $4)")
                .bind(&record.summary.id)
                .bind(approval.person_id)
                .bind(groups_to_column(approval.groups))
                .bind(approval.at)
                .execute(&mut *tx)
                .await?;
            if approval.completes {
                // Decided: its approvals are history, which the audit log keeps.
                sqlx::query("DELETE FROM approvals WHERE request_id = $1")
                    .bind(&record.summary.id)
                    .execute(&mut *tx)
                    .await?;
            }
            let event = NewEvent::record(&record.summary.id, Some(approval.person_id), Action::Approve, approval.at)
                .moved(Some(RequestState::Pending), to);
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use app::auth::Role;
    use app::requests::RequestState;

    use super::NewApproval;
    use crate::store::testing::{at, person, submitted_for};

    #[tokio::test]
    async fn an_approval_is_kept_only_at_the_version_read_and_the_last_one_approves_the_request() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let backend = store.backend();
            let (alice, bob, erin) = (
                person(&store, "alice", Role::Developer).await,
                person(&store, "bob", Role::Approver).await,
                person(&store, "erin", Role::Approver).await,
            );
            let read = submitted_for(&store, "shop-prod", "production", &alice).await;
            let groups = ["berth-approvers".to_string()];
            let first = NewApproval { record: &read, person_id: &bob, groups: &groups, completes: false, at: at(2) };
            assert!(store.add_approval(&first).await.unwrap(), "{backend}");
            let now = store.request(&read.summary.id).await.unwrap().unwrap();
            assert_eq!((now.summary.state, now.version), (RequestState::Pending, read.version + 1), "{backend}");

            // Judged on the request as it was before bob's approval: refused, nothing written.
            let stale = NewApproval { person_id: &erin, completes: true, at: at(3), ..first.clone() };
            assert!(!store.add_approval(&stale).await.unwrap(), "{backend}: the version moved");
            let given = store.approvals_of(&[now.summary.id.as_str()]).await.unwrap();
            let given = &given[&now.summary.id];
            assert_eq!(given.len(), 1, "{backend}");
            assert_eq!((given[0].display_name.as_str(), given[0].groups.as_slice()), ("bob", &groups[..]));

            let platform = ["platform-approvers".to_string()];
            let last = NewApproval { record: &now, groups: &platform, ..stale };
            assert!(store.add_approval(&last).await.unwrap(), "{backend}");
            let approved = store.request(&read.summary.id).await.unwrap().unwrap();
            assert_eq!(approved.summary.state, RequestState::Approved, "{backend}");
            let decision = approved.summary.decision.expect("decided");
            assert_eq!(decision.by.display_name, "erin", "{backend}: the approval that completed it");
            let events = store.events(&read.summary.id).await.unwrap();
            let moves: Vec<_> = events.iter().map(|event| (event.actor.clone(), event.to)).collect();
            assert_eq!(
                moves,
                [
                    (Some("alice".to_string()), RequestState::Pending),
                    (Some("bob".to_string()), RequestState::Pending),
                    (Some("erin".to_string()), RequestState::Approved),
                ],
                "{backend}"
            );
        }
    }

    #[tokio::test]
    async fn two_approvals_racing_for_the_last_seat_end_in_one_transition() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let backend = store.backend();
            let alice = person(&store, "alice", Role::Developer).await;
            let bob = person(&store, "bob", Role::Approver).await;
            let frank = person(&store, "frank", Role::Approver).await;
            let read = submitted_for(&store, "shop-prod", "production", &alice).await;
            let groups = ["berth-approvers".to_string()];
            let approval =
                |person_id| NewApproval { record: &read, person_id, groups: &groups, completes: true, at: at(2) };
            let (bob_approval, frank_approval) = (approval(&bob), approval(&frank));
            let (a, b) = tokio::join!(store.add_approval(&bob_approval), store.add_approval(&frank_approval));
            let recorded = [a.unwrap(), b.unwrap()];
            assert_eq!(recorded.iter().filter(|kept| **kept).count(), 1, "{backend}: {recorded:?}");
            let events = store.events(&read.summary.id).await.unwrap();
            let approvals = events.iter().filter(|event| event.to == RequestState::Approved).count();
            assert_eq!(approvals, 1, "{backend}: one transition");
        }
    }
}
