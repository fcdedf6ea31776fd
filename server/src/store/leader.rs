//! The leader lease: which replica's worker reconciles. One conditional upsert takes or renews it (only if
//! this replica holds it already, or its holder let it run out), so two replicas never both hold it at one
//! moment of the database's history. Times come from the replicas' clocks, which must agree to well within
//! the lease (NTP does).

use chrono::{DateTime, Utc};

use super::{Result, Store, on_pool};

/// Who holds the lease, and in which term (a count of the changes of holder).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaderLease {
    pub holder: String,
    pub term: i64,
}

impl Store {
    /// Takes or renews lease `name` for `holder` until `until`. `Some`: `holder` now holds it (with its
    /// term, which moves on whenever the holder changes); `None`: another holder's lease is still live.
    pub async fn acquire_leader_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<LeaderLease>> {
        let lease = on_pool!(self, pool => sqlx::query_as::<_, LeaderLease>(
            "INSERT INTO leader_leases (name, holder, term, acquired_at, expires_at) VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (name) DO UPDATE SET
                 term = CASE WHEN leader_leases.holder = excluded.holder THEN leader_leases.term
                             ELSE leader_leases.term + 1 END,
                 acquired_at = CASE WHEN leader_leases.holder = excluded.holder THEN leader_leases.acquired_at
                                    ELSE excluded.acquired_at END,
                 holder = excluded.holder,
                 expires_at = excluded.expires_at
             WHERE leader_leases.holder = excluded.holder OR leader_leases.expires_at <= $3
             RETURNING holder, term",
        )
        .bind(name)
        .bind(holder)
        .bind(now)
        .bind(until)
        .fetch_optional(pool)
        .await)?;
        Ok(lease)
    }

    /// Hands lease `name` back if `holder` has it, so another replica takes over at its next try instead
    /// of waiting for the lease to run out.
    pub async fn release_leader_lease(&self, name: &str, holder: &str) -> Result<()> {
        // Ended rather than deleted, so the term keeps counting.
        on_pool!(self, pool => sqlx::query(
            "UPDATE leader_leases SET expires_at = acquired_at WHERE name = $1 AND holder = $2",
        )
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_until_its_lease_runs_out_or_is_handed_back() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let backend = store.backend();
            let t0 = crate::clock::Clock::system().now();
            let lease = TimeDelta::seconds(15);
            let a = store.acquire_leader_lease("reconciler", "a", t0, t0 + lease).await.unwrap();
            assert_eq!(a, Some(LeaderLease { holder: "a".into(), term: 1 }), "{backend}: the first taker holds it");
            let b = store.acquire_leader_lease("reconciler", "b", t0, t0 + lease).await.unwrap();
            assert_eq!(b, None, "{backend}: not while a's lease is live");
            let renewed = store.acquire_leader_lease("reconciler", "a", t0 + lease / 2, t0 + lease * 2).await;
            assert_eq!(renewed.unwrap().map(|l| l.term), Some(1), "{backend}: a renews in its own term");
            let early = t0 + lease + TimeDelta::seconds(1);
            assert_eq!(store.acquire_leader_lease("reconciler", "b", early, early + lease).await.unwrap(), None);

            let after = t0 + lease * 2 + TimeDelta::seconds(1);
            let b = store.acquire_leader_lease("reconciler", "b", after, after + lease).await.unwrap();
            assert_eq!(b, Some(LeaderLease { holder: "b".into(), term: 2 }), "{backend}: b takes the lapsed lease");
            assert_eq!(store.acquire_leader_lease("reconciler", "a", after, after + lease).await.unwrap(), None);

            store.release_leader_lease("reconciler", "a").await.unwrap();
            assert!(
                store.acquire_leader_lease("reconciler", "a", after, after + lease).await.unwrap().is_none(),
                "{backend}: only the holder can hand it back"
            );
            store.release_leader_lease("reconciler", "b").await.unwrap();
            let a = store.acquire_leader_lease("reconciler", "a", after, after + lease).await.unwrap();
            assert_eq!(a, Some(LeaderLease { holder: "a".into(), term: 3 }), "{backend}: handed back, taken at once");
        }
    }
}
