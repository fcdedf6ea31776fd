//! What `/metrics` reads from the database at each scrape: requests by state, and the reconciler's queue.
//! Read from the database rather than counted in memory so every replica reports the same figures.

use app::requests::RequestState;
use chrono::{DateTime, Utc};

use super::{Result, Store, on_pool};

impl Store {
    /// How many requests are in each state (states with none are left out), from the counts the triggers keep.
    pub async fn requests_by_state(&self) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, pool => sqlx::query_as::<_, (String, i64)>(
            "SELECT state, CAST(SUM(n) AS BIGINT) FROM request_counts GROUP BY state HAVING SUM(n) > 0 ORDER BY state",
        )
        .fetch_all(pool)
        .await)?)
    }

    /// The reconciler's work due as of `now`: requests to provision (approved, or provisioning with a retry
    /// due and no live lease), grants to revoke, namespaces to delete, and anchors of revoked kubeconfigs
    /// still to delete. It grows when no replica leads, or the cluster refuses.
    pub async fn reconcile_queue_depth(&self, now: DateTime<Utc>) -> Result<i64> {
        Ok(on_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "SELECT
                 (SELECT COUNT(*) FROM requests
                   WHERE (state = $1 OR (state = $2 AND (next_attempt_at IS NULL OR next_attempt_at <= $4)) OR state = $3)
                     AND (lease_until IS NULL OR lease_until < $4))
               + (SELECT COUNT(*) FROM requests
                   WHERE namespace_delete_requested_at IS NOT NULL AND namespace_deleted_at IS NULL)
               + (SELECT COUNT(*) FROM credentials WHERE revoked_at IS NOT NULL AND anchor_deleted_at IS NULL)",
        )
        .bind(RequestState::Approved.as_str())
        .bind(RequestState::Provisioning.as_str())
        .bind(RequestState::Revoking.as_str())
        .bind(now)
        .fetch_one(pool)
        .await)?)
    }
}

#[cfg(test)]
mod tests {
    use app::auth::Role;
    use app::requests::{Action, RequestState};

    use crate::store::testing::{at, moved, person, ready, submitted};

    #[tokio::test]
    async fn requests_are_counted_by_state_and_due_work_is_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            submitted(&store, "team-a", &alice).await;
            let pending = submitted(&store, "team-b", &alice).await;
            moved(&store, &pending, Action::Approve, RequestState::Approved, 2).await;
            ready(&store, "team-c", &alice).await;
            let mut counts = store.requests_by_state().await.unwrap();
            counts.sort();
            let want = [("approved", 1), ("pending", 1), ("ready", 1)].map(|(s, n)| (s.to_string(), n));
            assert_eq!(counts, want, "{}", store.backend());
            assert_eq!(
                store.reconcile_queue_depth(at(5)).await.unwrap(),
                1,
                "the approved request waits for the worker"
            );
        }
    }
}
