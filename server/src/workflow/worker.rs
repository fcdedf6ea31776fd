//! The background worker that reconciles grants with the cluster: it provisions approved requests (DESIGN.md,
//! "What the portal creates"), lapses requests nobody decided in time, warns of and starts expiries, takes the
//! access of revoked and expired grants away, deletes the namespaces admins asked to delete (after their access
//! is gone: the same pass, right after the revocations), and deletes the anchors of kubeconfigs whose
//! revocation the cluster did not let Berth finish at once. The drift watch (`drift.rs`) is its other half.
//!
//! Provisioning: for each approved request it takes a lease, moves it to provisioning, applies every object of the grant
//! with server-side apply (the namespace first, then all the others at once: they depend only on the
//! namespace), records its progress, and marks it ready once every object exists (each apply answered with
//! the stored object). An error the cluster gives for an object itself (invalid, forbidden) fails the request
//! with the API server's message for an admin to retry; a transient one (no answer, 429, 5xx) is retried with
//! exponential backoff, up to a limit.
//!
//! It survives a crash at any point: the state and the lease are in the database, applying is idempotent,
//! and every change of state is a versioned transition, so a request killed mid-way is taken up again when
//! its lease runs out and converges to the same objects, marked ready exactly once. Revocation is the same:
//! lease, idempotent deletes, one versioned transition at the end; it is retried until it completes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::requests::RequestState;
use app::requests::lifecycle::{self, Action};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::cluster::manifests::{self, Grant, Object, Settings};
use crate::cluster::{Cluster, ClusterError, NamespaceClaim, NamespaceDeleteOutcome};
use crate::config::{ProvisioningConfig, QuotaProfile};
use crate::metrics::Metrics;
use crate::notify::{Notice, Notifier};
use crate::store::requests::{RequestRecord, Transition};
use crate::store::{Store, StoreError};
use crate::workflow::leader::Leadership;
use crate::workflow::validation::Rules;

/// How many requests one pass of the worker takes from the database.
const BATCH: u32 = 20;

/// Wakes the worker at once (after an approval or a retry), so nobody waits for its next poll.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        // Stores a permit when the worker is busy, so a wake during a pass is not lost.
        self.0.notify_one();
    }
}

pub struct Worker {
    pub store: Store,
    pub cluster: Cluster,
    pub settings: Settings,
    /// What may be requested (the quota profiles, names, Tiller), as the configuration says now.
    pub rules: Rules,
    pub config: ProvisioningConfig,
    pub notifier: Notifier,
    pub waker: Waker,
    /// Only the leader works ([`Self::run`]); the one-pass methods below work whoever calls them.
    pub leadership: Arc<Leadership>,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
}

/// How one attempt at a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ready,
    Failed(String),
    /// A transient error; tried again later.
    Retrying(String),
    /// The database did not answer; taken up again by a later pass (once any lease taken runs out).
    Deferred,
    /// Another worker holds it, or someone changed it meanwhile (a revocation): left alone.
    Skipped,
}

/// Why an attempt stopped before the grant was ready.
enum Stop {
    Failed(String),
    Transient(String),
    /// The request changed under the worker (its version moved on).
    Changed,
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Stop::Store(error)
    }
}

impl Worker {
    /// A worker of its own over `store` and `cluster`, configured by `config`, with its own notifier, waker,
    /// leadership and metrics: for tools, tests and benchmarks that drive its one-pass methods. (The server
    /// shares those parts with its services; `Berth::build` wires them.)
    pub fn standalone(
        store: Store,
        cluster: Cluster,
        config: &crate::config::Config,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        Ok(Self {
            settings: Settings::of(&config.cluster),
            rules: Rules::new(&config.requests, &config.cluster)?,
            config: config.provisioning.clone(),
            notifier: Notifier::start(&config.notifications, &config.public_url, clock.clone())?,
            waker: Waker::default(),
            leadership: Leadership::new(store.clone(), &config.provisioning, metrics.clone(), clock.clone()),
            metrics,
            clock,
            store,
            cluster,
        })
    }

    /// Runs until the task is dropped: while this replica leads, a pass over due work whenever woken, and
    /// at least every `poll_seconds` (for requests another replica approved, and retries that came due).
    pub async fn run(self: Arc<Self>) {
        let poll = Duration::from_secs(self.config.poll_seconds);
        loop {
            self.leadership.until_leading().await;
            self.pass().await;
            tokio::select! {
                () = self.waker.0.notified() => {}
                () = self.clock.sleep(poll) => {}
            }
        }
    }

    /// Everything due now: provisioning, expiries, revocations, namespace deletions, withdrawn anchors.
    async fn pass(&self) {
        if let Err(error) = self.run_once().await {
            tracing::error!(error = %crate::telemetry::error_chain(&error), "provisioning: cannot read due requests");
        }
        if let Err(error) = self.expire_due(self.clock.now()).await {
            tracing::error!(error = %crate::telemetry::error_chain(&error), "expiry: cannot read grants");
        }
        if let Err(error) = self.lapse_due(self.clock.now()).await {
            tracing::error!(error = %crate::telemetry::error_chain(&error), "cannot read pending requests");
        }
        if let Err(error) = self.revoke_due().await {
            tracing::error!(error = %crate::telemetry::error_chain(&error), "revocation: cannot read due requests");
        }
        if let Err(error) = self.delete_namespaces_due().await {
            tracing::error!(error = %crate::telemetry::error_chain(&error), "cannot read namespaces to delete");
        }
        if let Err(error) = self.withdraw_revoked().await {
            tracing::error!(error = %crate::telemetry::error_chain(&error), "cannot read revoked credentials");
        }
    }

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

    /// As of `now` (a parameter, so tests can move the clock): warns the owners of grants ending within
    /// `expiry_warning_hours`, once each, and starts the revocation of grants whose lifetime has ended (the
    /// next revocation pass finishes them as expired). Returns (warned, expired) request ids.
    pub async fn expire_due(&self, now: DateTime<Utc>) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut warned = Vec::new();
        let warn_until = now + TimeDelta::hours(i64::from(self.config.expiry_warning_hours));
        for record in self.store.to_warn_of_expiry(warn_until, BATCH).await? {
            if self.store.mark_expiry_warned(&record.summary.id, now).await? {
                tracing::info!(request = %record.summary.id, expires_at = ?record.summary.expires_at, "owner warned of expiry");
                self.notifier.send(&Notice::ExpiringSoon(record.summary.clone()));
                warned.push(record.summary.id);
            }
        }
        let mut expired = Vec::new();
        for record in self.store.expired_by(now, BATCH).await? {
            let ended =
                record.summary.expires_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
            let reason = format!("The grant's lifetime ended on {ended}.");
            match self.transition_at(&record, Action::Expire, Some(&reason), now, None).await {
                Ok(expiring) => {
                    self.notifier.send(&Notice::Expired(expiring.summary));
                    expired.push(record.summary.id);
                }
                Err(Stop::Store(error)) => return Err(error),
                // Someone revoked or changed it meanwhile: that decision stands.
                Err(_) => {}
            }
        }
        if !expired.is_empty() {
            self.waker.wake();
        }
        Ok((warned, expired))
    }

    /// As of `now`: lapses the requests nobody decided within `requests.pending_lapse_days`, freeing their
    /// names, each with its audit event and a notice. Returns their ids.
    pub async fn lapse_due(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let days = self.rules.config().pending_lapse_days;
        let mut lapsed = Vec::new();
        for record in self.store.pending_since_before(now - TimeDelta::days(i64::from(days)), BATCH).await? {
            let reason = format!("Nobody decided this request within {days} days; its name is free again.");
            match self.transition_at(&record, Action::Lapse, Some(&reason), now, None).await {
                Ok(done) => {
                    tracing::info!(request = %done.summary.id, namespace = %done.summary.namespace, "request lapsed");
                    self.notifier.send(&Notice::Lapsed { request: done.summary, days });
                    lapsed.push(record.summary.id);
                }
                Err(Stop::Store(error)) => return Err(error),
                // Decided or cancelled meanwhile: that stands.
                Err(_) => {}
            }
        }
        Ok(lapsed)
    }

    /// Takes away the access of every grant being revoked (or expired), then marks it revoked (or expired)
    /// and its credentials with it. Returns the ids it finished.
    pub async fn revoke_due(&self) -> Result<Vec<String>, StoreError> {
        let mut finished = Vec::new();
        for record in self.store.due_for_revocation(self.clock.now(), BATCH).await? {
            let id = record.summary.id.clone();
            let started = Instant::now();
            match self.revoke(record).await {
                Ok(()) => {
                    self.metrics.revoked(started.elapsed());
                    finished.push(id);
                }
                Err(Stop::Store(error)) => return Err(error),
                Err(Stop::Changed) => {}
                // Retried by the next pass, once the lease runs out: a revocation is never given up.
                Err(Stop::Failed(message) | Stop::Transient(message)) => {
                    self.metrics.revocation_failed();
                    tracing::warn!(request = %id, error = %message, "revocation will be retried");
                }
            }
        }
        Ok(finished)
    }

    async fn revoke(&self, record: RequestRecord) -> Result<(), Stop> {
        self.claim(&record).await?;
        let summary = &record.summary;
        // Revoking needs the grant's names only, which do not depend on its quota profile.
        let profile = self
            .rules
            .config()
            .quota_profiles
            .first()
            .ok_or_else(|| Stop::Failed("no quota profile configured".to_string()))?;
        let revoked = self.cluster.revoke_grant(&grant_of(&record, profile), &self.settings.identities_namespace).await;
        let scope = revoked.map_err(|error| {
            Stop::Transient(format!("revoking {}: {}", summary.namespace, crate::telemetry::error_chain(&error)))
        })?;
        // Said in the history when the namespace was not this grant's (or is gone): why nothing was done there.
        let note = scope.note(&summary.namespace);
        // Expiry and revocation end the same way, in their own words.
        let expired = self
            .store
            .events(&summary.id)
            .await?
            .iter()
            .rev()
            .find(|e| e.to == RequestState::Revoking)
            .is_some_and(|e| e.action == Action::Expire);
        let (action, why) = if expired {
            (Action::FinishExpiry, "the grant expired")
        } else {
            (Action::FinishRevocation, "the grant was revoked")
        };
        self.store.revoke_credentials_of(&summary.id, why, self.clock.now()).await?;
        let done = self.transition(&record, action, note.as_deref()).await?;
        tracing::info!(request = %done.summary.id, namespace = %done.summary.namespace, state = done.summary.state.as_str(), "access removed");
        Ok(())
    }

    /// Deletes the namespaces admins asked to delete, once their grants' access is gone (a revocation
    /// started with the deletion finishes first, in [`Self::revoke_due`]). Idempotent, so two replicas
    /// doing it at once is harmless; the first to record it writes the audit record. Returns the ids done.
    pub async fn delete_namespaces_due(&self) -> Result<Vec<String>, StoreError> {
        let mut done = Vec::new();
        for record in self.store.namespaces_to_delete(BATCH).await? {
            let summary = &record.summary;
            let note = match self.cluster.delete_granted_namespace(&summary.namespace, &summary.id).await {
                Ok(NamespaceDeleteOutcome::Deleted) => "the namespace and everything in it are being deleted",
                Ok(NamespaceDeleteOutcome::Gone) => "the namespace was already gone",
                Ok(NamespaceDeleteOutcome::Foreign) => {
                    "a namespace of that name exists but Berth did not create it for this request, so it was left alone"
                }
                Err(error) => {
                    tracing::warn!(request = %summary.id, namespace = %summary.namespace, error = %crate::telemetry::error_chain(&error), "cannot delete a namespace yet");
                    continue;
                }
            };
            if self.store.mark_namespace_deleted(&summary.id, note, self.clock.now()).await? {
                tracing::info!(request = %summary.id, namespace = %summary.namespace, note, "namespace deletion done");
                done.push(summary.id.clone());
            }
        }
        Ok(done)
    }

    /// Deletes the anchor Secrets of credentials revoked while the cluster did not answer (a revocation is
    /// recorded before its anchor is deleted, so none is forgotten). Returns how many it deleted.
    pub async fn withdraw_revoked(&self) -> Result<usize, StoreError> {
        let mut deleted = 0;
        for id in self.store.anchors_to_delete(BATCH).await? {
            match self.cluster.delete_anchor(&self.settings.identities_namespace, &id).await {
                Ok(()) => {
                    self.store.mark_anchor_deleted(&id, self.clock.now()).await?;
                    deleted += 1;
                }
                Err(error) => {
                    tracing::warn!(credential = %id, error = %crate::telemetry::error_chain(&error), "cannot delete a revoked credential's anchor yet");
                    break;
                }
            }
        }
        Ok(deleted)
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

    /// Takes the lease on `record` for one lease period, which it returns (renewed as the work goes on).
    async fn claim(&self, record: &RequestRecord) -> Result<TimeDelta, Stop> {
        let lease = TimeDelta::seconds(i64::try_from(self.config.lease_seconds).unwrap_or(30));
        let now = self.clock.now();
        if !self.store.claim(record, now, now + lease).await? {
            return Err(Stop::Changed);
        }
        Ok(lease)
    }

    async fn provision(&self, record: RequestRecord) -> Result<(), Stop> {
        let lease = self.claim(&record).await?;
        let mut record = record;
        if record.summary.state == RequestState::Approved {
            record = self.transition(&record, Action::StartProvisioning, None).await?;
        }
        let summary = &record.summary;
        // A rule changed since the approval (a name reserved, Tiller switched off) wins: nothing is created.
        self.rules.still_allowed(&summary.namespace, summary.helm_mode).map_err(Stop::Failed)?;
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

    /// Moves `record` along `action` as Berth itself, now; the record as it is afterwards.
    async fn transition(
        &self,
        record: &RequestRecord,
        action: Action,
        reason: Option<&str>,
    ) -> Result<RequestRecord, Stop> {
        self.transition_at(record, action, reason, self.clock.now(), None).await
    }

    async fn transition_at(
        &self,
        record: &RequestRecord,
        action: Action,
        reason: Option<&str>,
        at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<RequestRecord, Stop> {
        let from = record.summary.state;
        let to = lifecycle::next(from, action).map_err(|_| Stop::Changed)?;
        let transition = Transition {
            request_id: &record.summary.id,
            version: record.version,
            from,
            to,
            action,
            actor_id: None,
            reason,
            at,
            expires_at,
        };
        if !self.store.apply(&transition).await? {
            return Err(Stop::Changed);
        }
        self.store.request(&record.summary.id).await?.ok_or(Stop::Changed)
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

/// The grant `record` asks for, with its quota `profile`.
pub(crate) fn grant_of<'a>(record: &'a RequestRecord, profile: &'a QuotaProfile) -> Grant<'a> {
    Grant {
        request_id: &record.summary.id,
        namespace: &record.summary.namespace,
        owner_id: &record.requester_id,
        helm_mode: record.summary.helm_mode,
        profile,
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
