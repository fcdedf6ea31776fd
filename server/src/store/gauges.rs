//! What `/metrics` reads from the database at each scrape: requests by state, and the reconciler's queue.
//! Read from the database rather than counted in memory so every replica reports the same figures.

use app::requests::RequestState;
use chrono::{DateTime, Utc};

use super::{Result, Store, on_pool};

impl Store {
    /// How many requests are in each state (states with none are left out).
    pub async fn requests_by_state(&self) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, pool => sqlx::query_as::<_, (String, i64)>(
            "SELECT state, COUNT(*) FROM requests GROUP BY state ORDER BY state",
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
