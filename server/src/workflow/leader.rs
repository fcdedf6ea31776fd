//! Leader election for the reconciler: of the replicas that run the worker, only the holder of the leader
//! lease (`store/leader.rs`) works, so every grant is reconciled by one replica at a time and the cluster
//! sees one writer.
//!
//! Each replica tries to take or renew the lease every `leader_renew_seconds`. The leader keeps it by
//! renewing; when it dies, its lease runs out after `leader_lease_seconds` and the next try of another
//! replica takes it. A replica that cannot reach the database stops leading at once (it cannot renew, and
//! another may take over when the lease runs out). On a clean stop the leader hands the lease back, so a
//! rolling update moves it without waiting.
//!
//! Safety does not rest on the lease alone: a leader paused past its lease (a long GC-free stall, a frozen
//! VM) may overlap briefly with the next one, and each request's own lease and versioned transitions
//! (`store/provisioning.rs`) still keep them from working on the same request or recording a step twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::ProvisioningConfig;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::telemetry::error_chain;

/// The lease's name: one reconciler per installation.
const LEASE: &str = "reconciler";

pub struct Leadership {
    store: Store,
    /// This replica, as the lease records it: unique per process.
    holder: String,
    lease: TimeDelta,
    renew: Duration,
    leading: watch::Sender<bool>,
    metrics: Arc<Metrics>,
    clock: Clock,
}

impl Leadership {
    pub fn new(store: Store, config: &ProvisioningConfig, metrics: Arc<Metrics>, clock: Clock) -> Arc<Self> {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "berth".to_string());
        Arc::new(Self {
            store,
            holder: format!("{host}/{}", uuid::Uuid::new_v4().simple()),
            lease: TimeDelta::seconds(i64::try_from(config.leader_lease_seconds).unwrap_or(15)),
            renew: Duration::from_secs(config.leader_renew_seconds),
            leading: watch::Sender::new(false),
            metrics,
            clock,
        })
    }

    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Follows whether this replica leads.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Completes once this replica leads (at once if it does).
    pub async fn until_leading(&self) {
        let mut leading = self.leading.subscribe();
        // `wait_for` fails only when the sender is gone, and `self` holds it.
        let _ = leading.wait_for(|leading| *leading).await;
    }

    /// Takes or renews the lease every `renew` until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.renew);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.try_once().await;
        }
    }

    /// One try: take or renew the lease. Returns whether this replica leads afterwards.
    pub async fn try_once(&self) -> bool {
        let now = self.clock.now();
        let leading = match self.store.acquire_leader_lease(LEASE, &self.holder, now, now + self.lease).await {
            Ok(Some(lease)) => {
                if !self.is_leader() {
                    tracing::info!(holder = %self.holder, term = lease.term, "this replica now leads the reconciler");
                }
                true
            }
            Ok(None) => {
                if self.is_leader() {
                    tracing::warn!(holder = %self.holder, "another replica took the reconciler's lease");
                }
                false
            }
            Err(error) => {
                if self.is_leader() {
                    tracing::error!(error = %error_chain(&error), "cannot renew the reconciler's lease: stepping down");
                }
                false
            }
        };
        self.leading.send_if_modified(|was| std::mem::replace(was, leading) != leading);
        self.metrics.set_leader(leading);
        leading
    }

    /// Stops leading and hands the lease back (on a clean stop).
    pub async fn release(&self) {
        let was_leading = self.leading.send_replace(false);
        self.metrics.set_leader(false);
        if was_leading {
            match self.store.release_leader_lease(LEASE, &self.holder).await {
                Ok(()) => tracing::info!(holder = %self.holder, "handed the reconciler's lease back"),
                Err(error) => tracing::warn!(error = %error_chain(&error), "cannot hand the lease back; it runs out"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseConfig;

    #[tokio::test]
    async fn one_replica_leads_a_released_lease_moves_on_and_a_lost_database_means_stepping_down() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("berth.db").display());
        let store = Store::open(&DatabaseConfig { url, max_connections: 2 }).await.unwrap();
        let config = ProvisioningConfig::default();
        let (a, b) = (
            Leadership::new(store.clone(), &config, Metrics::new(), Clock::system()),
            Leadership::new(store.clone(), &config, Metrics::new(), Clock::system()),
        );

        assert!(a.try_once().await && a.is_leader());
        assert!(!b.try_once().await && !b.is_leader(), "one leader at a time");
        assert!(a.try_once().await, "the leader renews");
        a.until_leading().await; // at once: it leads

        a.release().await;
        assert!(!a.is_leader());
        assert!(b.try_once().await, "a handed-back lease is taken at the next try");

        store.close().await;
        assert!(!b.try_once().await && !b.is_leader(), "no database, no leading");
    }
}
