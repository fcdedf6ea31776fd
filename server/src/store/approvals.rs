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
