//! The drift watch (`cluster/drift.rs` says what drift is): Berth's labelled objects are watched and held in
//! memory on every replica that runs the worker; the leader puts back what a tenant changed, grant by grant,
//! as soon as the watch reports a change in its namespace. Each correction is an audit event of the grant
//! naming the objects and fields, and a metric.
//!
//! A quiet cluster costs the watches and nothing else: a check compares in memory, and only a correction
//! calls the API server. Every ready grant is checked in full when this replica starts leading and every
//! `drift_full_check_seconds` (a watch that restarted may have missed a deletion); that too is in memory.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;

use super::worker::{Worker, grant_of};
use crate::cluster::drift::{self, Drift, LiveObjects};
use crate::cluster::manifests;
use crate::store::StoreError;
use crate::telemetry::error_chain;

/// Namespaces in which something changed, waiting for a check.
#[derive(Default)]
struct Pending {
    namespaces: Mutex<BTreeSet<String>>,
    added: Notify,
}

impl Pending {
    fn add(&self, namespaces: impl IntoIterator<Item = String>) {
        if let Ok(mut pending) = self.namespaces.lock() {
            pending.extend(namespaces);
        }
        self.added.notify_one();
    }

    fn take(&self) -> BTreeSet<String> {
        self.namespaces.lock().map(|mut pending| std::mem::take(&mut *pending)).unwrap_or_default()
    }
}

/// Aborts the task when dropped, so the watch stops with the drift watch.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Worker {
    /// Runs until the task is dropped, as described above.
    pub async fn watch_drift(self: Arc<Self>) {
        let (live, changes) = self.cluster.watch_grant_objects();
        let pending = Arc::new(Pending::default());
        let feed = pending.clone();
        // Polling the stream is what keeps the in-memory objects current, leader or not.
        let _watch = AbortOnDrop(tokio::spawn(async move {
            let mut changes = std::pin::pin!(changes);
            while let Some(namespace) = changes.next().await {
                feed.add([namespace]);
            }
        }));
        live.until_ready().await;
        tracing::info!(objects = live.len(), "drift watch: Berth's objects listed");
        let mut leading = self.leadership.subscribe();
        let mut full_check = tokio::time::interval(Duration::from_secs(self.config.drift_full_check_seconds));
        full_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let everything = tokio::select! {
                () = pending.added.notified() => false,
                _ = full_check.tick() => true,
                changed = leading.changed() => changed.is_ok() && *leading.borrow(),
            };
            self.metrics.set_watched_objects(live.len());
            if !self.leadership.is_leader() {
                pending.take();
                continue;
            }
            if everything {
                match self.store.ready_namespaces().await {
                    Ok(namespaces) => pending.add(namespaces),
                    Err(error) => tracing::warn!(error = %error_chain(&error), "drift watch: cannot list grants"),
                }
            }
            let mut due = pending.take().into_iter();
            while let Some(namespace) = due.next() {
                if let Err(error) = self.correct_drift(&live, &namespace).await {
                    // The database did not answer: this namespace and the rest wait for the next round.
                    tracing::warn!(%namespace, error = %error_chain(&error), "drift watch: cannot read the grant");
                    pending.add(std::iter::once(namespace).chain(due));
                    self.clock.sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }

    /// Puts back what drifted of the ready grant in `namespace` (none: nothing to do), records it in the
    /// grant's audit trail, and returns what was put back. An object the API server would not let Berth put
    /// back (it changed again meanwhile) is left to the next change the watch reports.
    pub async fn correct_drift(&self, live: &LiveObjects, namespace: &str) -> Result<Vec<Drift>, StoreError> {
        let Some(record) = self.store.ready_grant_in(namespace).await? else { return Ok(Vec::new()) };
        let profiles = &self.rules.config().quota_profiles;
        let Some(profile) = profiles.iter().find(|p| p.name == record.summary.quota_profile) else {
            return Ok(Vec::new());
        };
        let mut corrected = Vec::new();
        let objects = manifests::objects(&grant_of(&record, profile), &self.settings);
        for object in objects.iter().filter(|object| drift::is_watched(object, namespace)) {
            let Some(found) = drift::drift(object, live.state_of(object).as_ref()) else { continue };
            match self.cluster.correct(object, live).await {
                Ok(true) => {
                    self.metrics.drift_corrected(object.kind());
                    corrected.push(found);
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(object = %object.describe(), error = %error_chain(&error), "drift watch: cannot put an object back yet");
                }
            }
        }
        if !corrected.is_empty() {
            let note = format!(
                "Put back what was changed in the namespace: {}.",
                corrected.iter().map(Drift::describe).collect::<Vec<_>>().join("; ")
            );
            tracing::info!(request = %record.summary.id, %namespace, %note, "drift corrected");
            self.store.record_drift_correction(&record.summary.id, &note, self.clock.now()).await?;
        }
        Ok(corrected)
    }
}
