//! What the provisioning worker keeps on a request besides its state: its lease, its progress through the
//! grant's objects, and the retries after transient errors.
//!
//! A worker claims a request with a lease (a conditional update: only if nobody holds it or the holder's
//! lease ran out) and renews it with every progress update, so two replicas never provision one request at
//! once and a crashed worker's request is taken over when its lease ends. Every write is guarded by the
//! version the worker read: an admin's action meanwhile (a revocation) makes the worker's next write fail,
//! and it stops.

use app::requests::RequestState;
use chrono::{DateTime, Utc};

use super::requests::{RequestRecord, RequestRow, SELECT_REQUESTS};
use super::{Result, StageFilter, Store, on_pool};

impl Store {
    /// Requests the worker should work on now, oldest change first: approved ones, and provisioning ones
    /// whose retry is due and that no live lease holds (a worker crashed, or its retry came up).
    pub async fn due_for_provisioning(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS}
             WHERE r.state IN ($1, $2)
               AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $3)
               AND (r.lease_until IS NULL OR r.lease_until < $3)
             ORDER BY r.updated_at, r.id LIMIT $4"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Approved.as_str())
            .bind(RequestState::Provisioning.as_str())
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// Requests whose access is being taken away (revoked or expired) that no live lease holds.
    pub async fn due_for_revocation(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS}
             WHERE r.state = $1 AND (r.lease_until IS NULL OR r.lease_until < $2)
             ORDER BY r.updated_at, r.id LIMIT $3"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Revoking.as_str())
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// Ready grants ending at or before `until` whose owner has not been warned yet.
    pub async fn to_warn_of_expiry(&self, until: DateTime<Utc>, limit: u32) -> Result<Vec<RequestRecord>> {
        let query = format!(
            "{SELECT_REQUESTS}
             WHERE r.state = $1 AND r.expires_at <= $2 AND r.expiry_warned_at IS NULL
             ORDER BY r.expires_at, r.id LIMIT $3"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Ready.as_str())
            .bind(until)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// Records the expiry warning, once: `false` if it was already given (by another replica).
    pub async fn mark_expiry_warned(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let updated = on_pool!(self, pool => sqlx::query(
            "UPDATE requests SET expiry_warned_at = $1 WHERE id = $2 AND expiry_warned_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(updated == 1)
    }

    /// Ready grants whose lifetime has ended by `now`.
    pub async fn expired_by(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<RequestRecord>> {
        let query =
            format!("{SELECT_REQUESTS} WHERE r.state = $1 AND r.expires_at <= $2 ORDER BY r.expires_at, r.id LIMIT $3");
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(RequestState::Ready.as_str())
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// Takes the lease on `record` until `until`, if it is still at the version read and nobody else holds
    /// a live lease. `false`: another worker has it, or it changed.
    pub async fn claim(&self, record: &RequestRecord, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool> {
        let updated = on_pool!(self, pool => sqlx::query(
            "UPDATE requests SET lease_until = $1
             WHERE id = $2 AND version = $3 AND (lease_until IS NULL OR lease_until < $4)",
        )
        .bind(until)
        .bind(&record.summary.id)
        .bind(record.version)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(updated == 1)
    }

    /// Records how many of the grant's objects are applied and renews the lease. `false`: the request
    /// changed meanwhile (revoked, say), and the worker must stop.
    pub async fn record_progress(
        &self,
        id: &str,
        version: i64,
        applied: u32,
        total: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let updated = on_pool!(self, pool => sqlx::query(
            "UPDATE requests SET objects_applied = $1, objects_total = $2, lease_until = $3
             WHERE id = $4 AND version = $5",
        )
        .bind(i32::try_from(applied).unwrap_or(i32::MAX))
        .bind(i32::try_from(total).unwrap_or(i32::MAX))
        .bind(lease_until)
        .bind(id)
        .bind(version)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(updated == 1)
    }

    /// After a transient error: counts the attempt, keeps the error to show, releases the lease and sets
    /// when the next attempt is due.
    pub async fn schedule_retry(
        &self,
        id: &str,
        version: i64,
        attempts: u32,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool> {
        let updated = on_pool!(self, pool => sqlx::query(
            "UPDATE requests SET attempts = $1, last_error = $2, next_attempt_at = $3, lease_until = NULL
             WHERE id = $4 AND version = $5",
        )
        .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .bind(version)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(updated == 1)
    }

    /// Requests still waiting for a decision that were submitted before `submitted_before`, oldest first.
    pub async fn pending_since_before(
        &self,
        submitted_before: DateTime<Utc>,
        stages: StageFilter<'_>,
        limit: u32,
    ) -> Result<Vec<RequestRecord>> {
        let rows = on_pool!(self, pool => {
            let mut select = sqlx::QueryBuilder::new(SELECT_REQUESTS);
            select.push(" WHERE r.state = ").push_bind(RequestState::Pending.as_str());
            select.push(" AND r.created_at < ").push_bind(submitted_before);
            stages.push_to(&mut select);
            select.push(" ORDER BY r.created_at, r.id LIMIT ").push_bind(i64::from(limit));
            select.build_query_as::<RequestRow>().fetch_all(pool).await
        })?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// The ready grant of `namespace`, if there is one (at most one request holds a name at a time).
    pub async fn ready_grant_in(&self, namespace: &str) -> Result<Option<RequestRecord>> {
        let query = format!("{SELECT_REQUESTS} WHERE r.namespace = $1 AND r.state = $2");
        let row = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(namespace)
            .bind(RequestState::Ready.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(RequestRecord::try_from).transpose()
    }

    /// The namespaces of every ready grant: what the drift watch checks in full.
    pub async fn ready_namespaces(&self) -> Result<Vec<String>> {
        let namespaces = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT namespace FROM requests WHERE state = $1 ORDER BY namespace",
        )
        .bind(RequestState::Ready.as_str())
        .fetch_all(pool)
        .await)?;
        Ok(namespaces)
    }

    /// Records in the grant's audit trail that Berth put back what was changed (`note` names the objects and
    /// fields).
    pub async fn record_drift_correction(&self, request_id: &str, note: &str, at: DateTime<Utc>) -> Result<()> {
        let event =
            super::NewEvent::record(request_id, None, app::requests::Action::CorrectDrift, at).reason(Some(note));
        on_pool!(self, pool => super::append_event!(pool, &event).await.map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use app::auth::Role;
    use app::requests::{Action, RequestState};
    use chrono::TimeDelta;

    use crate::store::StageFilter;
    use crate::store::testing::{at, moved, person, ready, submitted};

    #[tokio::test]
    async fn an_approved_request_is_due_until_leased_and_a_retry_waits_for_its_time() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            let pending = submitted(&store, "team-a", &alice).await;
            let approved = moved(&store, &pending, Action::Approve, RequestState::Approved, 2).await;
            let due = store.due_for_provisioning(at(3), 10).await.unwrap();
            assert_eq!(due.len(), 1, "{}", store.backend());
            assert!(store.claim(&approved, at(3), at(4)).await.unwrap());
            assert!(!store.claim(&approved, at(3), at(4)).await.unwrap(), "leased to one worker at a time");
            assert!(store.due_for_provisioning(at(3), 10).await.unwrap().is_empty(), "leased: not due");
            let leased = store.request(&approved.summary.id).await.unwrap().unwrap();
            assert!(store.record_progress(&leased.summary.id, leased.version, 3, 7, at(5)).await.unwrap());
            assert!(
                store.schedule_retry(&leased.summary.id, leased.version, 1, "API server busy", at(9)).await.unwrap()
            );
            assert!(store.due_for_provisioning(at(8), 10).await.unwrap().is_empty(), "before its retry time");
            assert_eq!(store.due_for_provisioning(at(9), 10).await.unwrap().len(), 1);
            let retrying = store.request(&approved.summary.id).await.unwrap().unwrap();
            assert_eq!(retrying.summary.last_error.as_deref(), Some("API server busy"));
        }
    }

    #[tokio::test]
    async fn a_grant_is_warned_of_its_end_once_and_expires_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            let grant = ready(&store, "team-a", &alice).await;
            let ends = grant.summary.expires_at.unwrap();
            // The worker asks for grants ending before now + the warning time.
            assert!(store.to_warn_of_expiry(ends - TimeDelta::seconds(1), 10).await.unwrap().is_empty());
            assert_eq!(store.to_warn_of_expiry(ends, 10).await.unwrap().len(), 1);
            assert!(store.mark_expiry_warned(&grant.summary.id, at(20)).await.unwrap());
            assert!(!store.mark_expiry_warned(&grant.summary.id, at(21)).await.unwrap(), "warned once");
            assert!(store.to_warn_of_expiry(ends, 10).await.unwrap().is_empty());
            assert!(store.expired_by(ends - TimeDelta::seconds(1), 10).await.unwrap().is_empty());
            assert_eq!(store.expired_by(ends, 10).await.unwrap().len(), 1, "{}", store.backend());
            assert_eq!(store.ready_grant_in("team-a").await.unwrap().map(|r| r.summary.id), Some(grant.summary.id));
            assert_eq!(store.ready_namespaces().await.unwrap(), ["team-a"]);
        }
    }

    #[tokio::test]
    async fn a_request_nobody_decided_is_found_once_its_time_is_up() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            submitted(&store, "team-a", &alice).await;
            assert!(
                store.pending_since_before(at(1), StageFilter::All, 10).await.unwrap().is_empty(),
                "{}",
                store.backend()
            );
            assert_eq!(store.pending_since_before(at(2), StageFilter::All, 10).await.unwrap().len(), 1);
        }
    }
}
