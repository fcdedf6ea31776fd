//! Provisioning: each approved request is leased, moved to provisioning, and every object of its grant
//! applied with server-side apply (the namespace first, then all the others at once: they depend only on the
//! namespace); its progress is recorded and it is marked ready once every object exists. An error the cluster
//! gives for an object itself fails it with the API server's message; a transient one is retried with
//! exponential backoff, up to a limit.

use std::time::Instant;

use app::requests::RequestState;
use app::requests::lifecycle::Action;
use chrono::TimeDelta;
use futures_util::StreamExt;
use tokio::task::JoinSet;

use super::{BATCH, Outcome, Stop, Worker, grant_of};
use crate::cluster::manifests::{self, Object};
use crate::cluster::{ClusterError, NamespaceClaim};
use crate::config::ProvisioningConfig;
use crate::notify::Notice;
use crate::store::StoreError;
use crate::store::requests::RequestRecord;

impl Worker {
    /// One pass: works through every request due now, `provisioning.concurrency` at a time (each request is
    /// leased, so no two attempts ever work on the same one). Returns each one's outcome.
    pub async fn run_once(&self) -> Result<Vec<(String, Outcome)>, StoreError> {
        let concurrency = self.config.concurrency.max(1);
        // Enough rows per query to keep every slot busy between two queries.
        let batch = BATCH.max(u32::try_from(4 * concurrency).unwrap_or(u32::MAX));
        let mut outcomes = Vec::new();
        loop {
            let due = self.store.due_for_provisioning(self.clock.now(), batch).await?;
            if due.is_empty() {
                return Ok(outcomes);
            }
            let attempts = futures_util::stream::iter(due).map(|record| async move {
                let id = record.summary.id.clone();
                (id, self.attempt(record).await)
            });
            let round: Vec<(String, Outcome)> = attempts.buffer_unordered(concurrency).collect().await;
            // Only a recorded outcome takes the request out of the due list; without one, another round would
            // find the same requests (and spin while the database is down).
            let progressed = round
                .iter()
                .any(|(_, outcome)| matches!(outcome, Outcome::Ready | Outcome::Failed(_) | Outcome::Retrying(_)));
            outcomes.extend(round);
            // Nothing recorded this round (held by others, or the database is down): leave the rest to the
            // next pass.
            if !progressed {
                return Ok(outcomes);
            }
        }
    }

    /// One attempt at one request, from wherever it stands.
    async fn attempt(&self, record: RequestRecord) -> Outcome {
        let id = record.summary.id.clone();
        let started = Instant::now();
        match self.provision(record.clone()).await {
            Ok(()) => {
                self.metrics.provisioned(started.elapsed());
                Outcome::Ready
            }
            Err(Stop::Changed) => Outcome::Skipped,
            Err(Stop::Failed(message)) => {
                tracing::warn!(request = %id, namespace = %record.summary.namespace, error = %message, "provisioning failed");
                self.metrics.provisioning_failed("failed");
                self.fail(&id, &message).await;
                Outcome::Failed(message)
            }
            Err(Stop::Transient(message)) => {
                let outcome = self.retry_later(&id, message).await;
                self.metrics.provisioning_failed(if matches!(outcome, Outcome::Failed(_)) {
                    "failed"
                } else {
                    "retrying"
                });
                outcome
            }
            Err(Stop::Store(error)) => {
                tracing::error!(request = %id, error = %crate::telemetry::error_chain(&error), "provisioning: database error");
                Outcome::Deferred
            }
        }
    }

    async fn provision(&self, record: RequestRecord) -> Result<(), Stop> {
        let lease = self.claim(&record).await?;
        let mut record = record;
        if record.summary.state == RequestState::Approved {
            record = self.transition(&record, Action::StartProvisioning, None).await?;
        }
        let summary = &record.summary;
        // A rule changed since the approval (a name reserved, Tiller switched off) wins: nothing is created.
        self.rules
            .still_allowed(&summary.namespace, summary.team.as_deref(), summary.helm_mode)
            .map_err(Stop::Failed)?;
        let profiles = &self.rules.config().quota_profiles;
        let profile = profiles.iter().find(|p| p.name == summary.quota_profile).ok_or_else(|| {
            Stop::Failed(format!(
                "The quota profile '{}' is no longer in Berth's configuration; an admin must add it back and \
                 retry, or revoke the request.",
                summary.quota_profile
            ))
        })?;
        let objects = manifests::objects(&grant_of(&record, profile), &self.settings);
        self.apply_all(&record, objects, lease).await?;

        let ready_at = self.clock.now();
        let expires_at = ready_at + TimeDelta::days(i64::from(summary.lifetime_days));
        let ready = self.transition_at(&record, Action::MarkReady, None, ready_at, Some(expires_at)).await?;
        tracing::info!(request = %ready.summary.id, namespace = %ready.summary.namespace, "grant ready");
        self.notifier.send(&Notice::Ready(ready.summary));
        Ok(())
    }

    /// Applies the namespace, then every other object concurrently (they all live in it, or in the
    /// identities namespace, and refer to each other only by name). Records progress after each.
    async fn apply_all(&self, record: &RequestRecord, objects: Vec<Object>, lease: TimeDelta) -> Result<(), Stop> {
        let (id, version) = (record.summary.id.as_str(), record.version);
        let total = u32::try_from(objects.len()).unwrap_or(u32::MAX);
        let mut objects = objects.into_iter();
        let Some(namespace) = objects.next() else { return Ok(()) };
        let Object::Namespace(typed) = &namespace else {
            return Err(Stop::Failed("internal error: a grant's first object is its namespace".to_string()));
        };
        match self.cluster.claim_namespace(typed, id).await.map_err(|error| stop(&namespace, &error))? {
            NamespaceClaim::Created | NamespaceClaim::Reapplied => {}
            NamespaceClaim::Foreign => {
                return Err(Stop::Failed(format!(
                    "A namespace '{}' already exists in the cluster and was not created for this request, so \
                     Berth left it alone. Once it is deleted (or the request denied), an admin can retry.",
                    record.summary.namespace
                )));
            }
            NamespaceClaim::Terminating => {
                return Err(Stop::Transient(format!("{} is still being deleted", namespace.describe())));
            }
        }
        let mut applied = 1;
        if !self.store.record_progress(id, version, applied, total, self.clock.now() + lease).await? {
            return Err(Stop::Changed);
        }
        let mut pending = JoinSet::new();
        for object in objects {
            let cluster = self.cluster.clone();
            pending.spawn(async move {
                let result = cluster.apply(&object).await;
                result.map_err(|error| stop(&object, &error))
            });
        }
        let mut first_stop = None;
        while let Some(joined) = pending.join_next().await {
            match joined {
                Ok(Ok(_)) => {
                    applied += 1;
                    if !self.store.record_progress(id, version, applied, total, self.clock.now() + lease).await? {
                        return Err(Stop::Changed);
                    }
                }
                // A refusal outranks a transient error: trying again would not help.
                Ok(Err(stop)) => match (&first_stop, &stop) {
                    (None, _) | (Some(Stop::Transient(_)), Stop::Failed(_)) => first_stop = Some(stop),
                    _ => {}
                },
                Err(panicked) => first_stop = Some(Stop::Transient(format!("internal error: {panicked}"))),
            }
        }
        first_stop.map_or(Ok(()), Err)
    }

    async fn fail(&self, id: &str, message: &str) {
        let outcome = async {
            let record = self.store.request(id).await?.ok_or(Stop::Changed)?;
            let failed = self.transition(&record, Action::MarkFailed, Some(message)).await?;
            self.notifier.send(&Notice::Failed(failed.summary));
            Ok::<(), Stop>(())
        };
        if let Err(Stop::Store(error)) = outcome.await {
            tracing::error!(request = %id, error = %crate::telemetry::error_chain(&error), "cannot record a failure");
        }
    }

    /// Schedules the next attempt after a transient error, or fails the request after the last one.
    async fn retry_later(&self, id: &str, message: String) -> Outcome {
        let record = match self.store.request(id).await {
            Ok(Some(record)) => record,
            _ => return Outcome::Retrying(message),
        };
        let attempts = record.attempts + 1;
        if attempts >= self.config.max_attempts {
            let message = format!("Gave up after {attempts} attempts: {message}");
            self.fail(id, &message).await;
            return Outcome::Failed(message);
        }
        let delay = backoff(&self.config, attempts);
        let next = self.clock.now() + delay;
        let shown = format!(
            "Attempt {attempts} of {}: {message}. Trying again at {}.",
            self.config.max_attempts,
            next.format("%H:%M:%S UTC")
        );
        tracing::warn!(request = %id, attempts, error = %message, "provisioning will be retried");
        if let Err(error) = self.store.schedule_retry(id, record.version, attempts, &shown, next).await {
            tracing::error!(request = %id, error = %crate::telemetry::error_chain(&error), "cannot schedule a retry");
        }
        Outcome::Retrying(shown)
    }
}

/// The wait before attempt `attempts + 1`: the initial backoff doubled per attempt, capped.
pub fn backoff(config: &ProvisioningConfig, attempts: u32) -> TimeDelta {
    let initial = i64::try_from(config.initial_backoff_ms).unwrap_or(i64::MAX);
    let cap = i64::try_from(config.max_backoff_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let factor = 1_i64.checked_shl(attempts.saturating_sub(1).min(30)).unwrap_or(i64::MAX);
    TimeDelta::milliseconds(initial.saturating_mul(factor).min(cap))
}

/// Sorts a cluster error on `object` into "fail now, with the API server's message" or "try again".
fn stop(object: &Object, error: &ClusterError) -> Stop {
    if error.is_transient() {
        let detail = match error.refusal() {
            Some((code, message)) => format!("the API server answered {code} ({message})"),
            None => format!("the API server did not answer ({})", crate::telemetry::error_chain(error)),
        };
        return Stop::Transient(format!("{}: {detail}", object.describe()));
    }
    let (code, message) = error.refusal().unwrap_or((0, ""));
    Stop::Failed(format!("The cluster refused {} ({code}): {message}", object.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_the_initial_wait_up_to_its_cap() {
        let config = ProvisioningConfig { initial_backoff_ms: 1_000, max_backoff_seconds: 60, ..Default::default() };
        let waits: Vec<i64> = (1..=8).map(|n| backoff(&config, n).num_seconds()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(&config, 1_000).num_seconds(), 60, "no overflow however many attempts");
    }
}
