//! The background worker that reconciles grants with the cluster: it provisions approved requests (DESIGN.md,
//! "What the portal creates"), lapses requests nobody decided in time, warns of and starts expiries, takes the
//! access of revoked and expired grants away, deletes the namespaces admins asked to delete (after their access
//! is gone: the same pass, right after the revocations), and deletes the anchors of kubeconfigs whose
//! revocation the cluster did not let Berth finish at once. The drift watch (`drift.rs`) is its other half.
//!
//! Each of these is a [`Job`] with one entry point, [`Worker::reconcile`], and a module of its own
//! (`provision`, `lifetime`, `revoke`); they share this module's context (the store, the cluster, the clock,
//! the configuration) and its versioned transitions.
//!
//! It survives a crash at any point: the state and the lease are in the database, applying is idempotent,
//! and every change of state is a versioned transition, so a request killed mid-way is taken up again when
//! its lease runs out and converges to the same objects, marked ready exactly once. Revocation is the same:
//! lease, idempotent deletes, one versioned transition at the end; it is retried until it completes.

use std::sync::Arc;
use std::time::Duration;

use app::requests::lifecycle::{self, Action};
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::cluster::manifests::{Grant, GrantRef, Settings};
use crate::config::{ProvisioningConfig, QuotaProfile};
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::store::requests::{RequestRecord, Transition};
use crate::store::{Store, StoreError};
use crate::workflow::leader::Leadership;
use crate::workflow::validation::Rules;

mod change;
mod lifetime;
mod provision;
mod revoke;

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

/// The worker's jobs, each a reconciler of one concern (the drift watch, `drift.rs`, is the other half).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Approved requests become ready grants (`provision.rs`).
    Provision,
    /// Owners are warned before their grant ends; at its end its revocation starts (`lifetime.rs`).
    Expire,
    /// Requests nobody decided in time lapse (`lifetime.rs`).
    Lapse,
    /// Revoked and expired grants lose their access (`revoke.rs`).
    Revoke,
    /// Namespaces admins asked to delete go, once their access is gone (`revoke.rs`).
    DeleteNamespaces,
    /// The anchors of kubeconfigs revoked while the cluster did not answer are deleted (`revoke.rs`).
    WithdrawAnchors,
    /// Approved changes of a grant's quota profile or Helm mode reach the cluster (`change.rs`).
    ApplyChanges,
}

impl Job {
    /// In the order of a pass: a revocation an expiry started, and a namespace deletion after a revocation,
    /// finish in the same pass.
    pub const ALL: [Job; 7] = [
        Job::Provision,
        Job::ApplyChanges,
        Job::Expire,
        Job::Lapse,
        Job::Revoke,
        Job::DeleteNamespaces,
        Job::WithdrawAnchors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Provision => "provision",
            Job::Expire => "expire",
            Job::Lapse => "lapse",
            Job::Revoke => "revoke",
            Job::DeleteNamespaces => "delete_namespaces",
            Job::WithdrawAnchors => "withdraw_anchors",
            Job::ApplyChanges => "apply_changes",
        }
    }
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
            rules: Rules::new(&config.requests, &config.policy, &config.cluster)?,
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

    /// Every job once, in [`Job::ALL`]'s order, as of now. A job whose database read fails is logged and left
    /// to the next pass; the others still run.
    async fn pass(&self) {
        let now = self.clock.now();
        for job in Job::ALL {
            if let Err(error) = self.reconcile(job, now).await {
                tracing::error!(job = job.name(), error = %crate::telemetry::error_chain(&error), "a job of the worker cannot read its work");
            }
        }
    }

    /// Runs `job` once, as of `now`: what is due is brought to where it must be. Returns how many records
    /// it acted on. The one entry point of every job (each lives in a module of its own below). Provisioning
    /// and revocation, which take a while per record, read the clock again as they go.
    pub async fn reconcile(&self, job: Job, now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(match job {
            Job::Provision => self.run_once().await?.len(),
            Job::Expire => {
                let (warned, expired) = self.expire_due(now).await?;
                warned.len() + expired.len()
            }
            Job::Lapse => self.lapse_due(now).await?.len(),
            Job::Revoke => self.revoke_due().await?.len(),
            Job::DeleteNamespaces => self.delete_namespaces_due().await?.len(),
            Job::WithdrawAnchors => self.withdraw_revoked().await?,
            Job::ApplyChanges => self.apply_changes_due().await?.len(),
        })
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
}

/// The grant `record` asks for, with its quota `profile`.
pub(crate) fn grant_of<'a>(record: &'a RequestRecord, profile: &'a QuotaProfile) -> Grant<'a> {
    Grant { of: grant_ref(record), profile }
}

/// The grant `record` asks for, as its identities and its revocation know it.
pub(crate) fn grant_ref(record: &RequestRecord) -> GrantRef<'_> {
    GrantRef {
        request_id: &record.summary.id,
        namespace: &record.summary.namespace,
        owner_id: &record.requester_id,
        owner_hint: record.summary.requester.email.as_deref().unwrap_or(&record.summary.requester.display_name),
        helm_mode: record.summary.helm_mode,
    }
}
