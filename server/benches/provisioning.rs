//! Approval to ready, a kubeconfig download, and an approved change of a live grant, against the local control
//! plane with Berth's own credential: how long each takes and how many Kubernetes API calls it makes. Run by `scripts/figures.sh`
//! (or `cargo bench -p berth-server --bench provisioning` with LOCAL_CLUSTER_KUBECONFIG and
//! LOCAL_CLUSTER_BERTH_KUBECONFIG set, as for the tests).
//!
//! "Approval to ready" is one pass of the worker over a request just approved: the lease, the move to
//! provisioning, every object applied, progress recorded, marked ready (the wake-up after an approval is
//! immediate, so this is what a requester waits). API calls are counted by a layer around the client.

// Benchmarks read the wall clock and wait for real components; `berth_server::clock` is for the server.
#![allow(clippy::disallowed_methods)]
// Benchmark code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use app::auth::{Caller, Person, Role};
use app::requests::{Action, HelmMode, RequestState};
use berth_server::clock::Clock;
use berth_server::config::{Config, CredentialsConfig, ProvisioningConfig};
use berth_server::store::Store;
use berth_server::store::grants::{ChangeDecision, ChangedGrant, DecidedBy, NewChange};
use berth_server::store::requests::{NewRequest, Transition};
use berth_server::workflow::credentials::{CredentialsService, KubeconfigForm};
use berth_server::workflow::worker::{Outcome, Waker, Worker};
use chrono::Utc;

const SAMPLES: usize = 15;

#[tokio::main]
async fn main() {
    let (cluster, calls) = support::counted_berth_cluster().await;

    let dir = tempfile::tempdir().unwrap();
    let (store, alice) = support::store_with_alice(dir.path()).await;
    let worker = Worker::standalone(store.clone(), cluster.clone(), &Config::default(), Clock::system()).unwrap();
    let config = Config::default();
    let rules =
        berth_server::workflow::validation::Rules::new(&config.requests, &config.policy, &config.cluster).unwrap();
    let settings = berth_server::cluster::manifests::Settings::of(&config.cluster);
    let members = std::sync::Arc::new(berth_server::workflow::members::MembersService {
        store: store.clone(),
        policy: Default::default(),
        cluster: cluster.clone(),
        rules,
        settings: settings.clone(),
        worker: Waker::default(),
        clock: Clock::system(),
    });
    let credentials = CredentialsService {
        store: store.clone(),
        policy: Default::default(),
        cluster: cluster.clone(),
        config: CredentialsConfig::default(),
        settings,
        members,
        worker: Waker::default(),
        clock: Clock::system(),
    };
    let caller = Caller {
        person: Person { id: alice.clone(), display_name: "Alice Anders".into(), email: None, groups: Vec::new() },
        role: Role::Developer,
    };

    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
    let mut namespaces = Vec::new();
    for helm_mode in [HelmMode::NoTiller, HelmMode::Tiller] {
        let (mut times, mut api_calls) = (Vec::new(), Vec::new());
        let (mut issue_times, mut issue_calls) = (Vec::new(), Vec::new());
        for n in 0..SAMPLES {
            let namespace = format!("bench-{run}-{}-{n}", helm_mode.as_str());
            let id = approved(&store, &alice, &namespace, helm_mode).await;

            calls.store(0, Ordering::Relaxed);
            let started = Instant::now();
            let outcomes = worker.run_once().await.unwrap();
            times.push(started.elapsed());
            api_calls.push(calls.load(Ordering::Relaxed));
            assert_eq!(outcomes, [(id.clone(), Outcome::Ready)]);

            calls.store(0, Ordering::Relaxed);
            let form = KubeconfigForm {
                purpose: "personal".into(),
                name: String::new(),
                lifetime_hours: "8".into(),
                lifetime_minutes: String::new(),
            };
            let started = Instant::now();
            credentials.issue(&caller, &id, &form).await.unwrap();
            issue_times.push(started.elapsed());
            issue_calls.push(calls.load(Ordering::Relaxed));
            namespaces.push(namespace);
        }
        let mode = if helm_mode == HelmMode::Tiller { "Tiller" } else { "Helm 3" };
        println!(
            "FIGURE approval to ready ({mode}): median {} ms, p90 {} ms, max {} ms over {SAMPLES} grants; {} API calls each",
            ms(percentile(&mut times, 50)),
            ms(percentile(&mut times, 90)),
            ms(percentile(&mut times, 100)),
            only(&api_calls),
        );
        println!(
            "FIGURE kubeconfig download ({mode}): median {} ms, p90 {} ms; {} API calls with Berth's credential \
             (anchor Secret, TokenRequest) + 6 with the new kubeconfig's own client (its check)",
            ms(percentile(&mut issue_times, 50)),
            ms(percentile(&mut issue_times, 90)),
            only(&issue_calls),
        );
    }

    // Approved changes of live grants, applied by the worker: a larger profile (small to medium), and Tiller to
    // Helm 3; how long the worker's pass takes and how many API calls it makes.
    for (from_mode, to_profile, to_mode, what) in [
        (HelmMode::NoTiller, "medium", HelmMode::NoTiller, "quota profile small to medium"),
        (HelmMode::Tiller, "small", HelmMode::NoTiller, "Tiller to Helm 3"),
    ] {
        let (mut times, mut api_calls) = (Vec::new(), Vec::new());
        for n in 0..SAMPLES {
            let namespace = format!("bench-{run}-change-{}-{n}", from_mode.as_str());
            let id = approved(&store, &alice, &namespace, from_mode).await;
            assert_eq!(worker.run_once().await.unwrap(), [(id.clone(), Outcome::Ready)]);
            namespaces.push(namespace);
            changed(&store, &id, to_profile, to_mode).await;
            calls.store(0, Ordering::Relaxed);
            let started = Instant::now();
            assert_eq!(worker.apply_changes_due().await.unwrap(), [id]);
            times.push(started.elapsed());
            api_calls.push(calls.load(Ordering::Relaxed));
        }
        println!(
            "FIGURE change applied by the worker ({what}): median {} ms, p90 {} ms over {SAMPLES} grants; {} API \
             calls each",
            ms(percentile(&mut times, 50)),
            ms(percentile(&mut times, 90)),
            only(&api_calls),
        );
    }

    // A burst: many approvals at once (an operator migrating a team, say), until every grant is ready, one
    // grant at a time and `provisioning.concurrency` at a time.
    let burst: usize = std::env::var("PROVISIONING_BURST").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    for concurrency in [1, ProvisioningConfig::default().concurrency] {
        for n in 0..burst {
            let namespace = format!("burst-{run}-c{concurrency}-{n}");
            approved(&store, &alice, &namespace, HelmMode::NoTiller).await;
            namespaces.push(namespace);
        }
        let config =
            Config { provisioning: ProvisioningConfig { concurrency, ..Default::default() }, ..Config::default() };
        let worker = Worker::standalone(store.clone(), cluster.clone(), &config, Clock::system()).unwrap();
        calls.store(0, Ordering::Relaxed);
        let started = Instant::now();
        let outcomes = worker.run_once().await.unwrap();
        let took = started.elapsed();
        assert_eq!(outcomes.len(), burst);
        assert!(outcomes.iter().all(|(_, outcome)| *outcome == Outcome::Ready), "every grant of the burst is ready");
        println!(
            "FIGURE {burst} approvals at once until all are ready (Helm 3, {concurrency} at a time): {:.1} s, \
             {:.1} ms per grant; {} API calls",
            took.as_secs_f64(),
            took.as_secs_f64() * 1000.0 / burst as f64,
            calls.load(Ordering::Relaxed),
        );
    }

    // Clean up as an admin (Berth's own credential may not delete identities wholesale).
    let admin = support::env_path("LOCAL_CLUSTER_KUBECONFIG");
    for namespace in &namespaces {
        let _ = std::process::Command::new("kubectl")
            .args(["--kubeconfig", &admin, "delete", "namespace", namespace, "--wait=false"])
            .output();
    }
}

/// The ready grant `id` changed to `profile` and `helm_mode` in the database, as an approved change leaves it.
async fn changed(store: &Store, id: &str, profile: &str, helm_mode: HelmMode) {
    let record = store.request(id).await.unwrap().unwrap();
    let change = NewChange {
        record: &record,
        days: None,
        quota_profile: Some(profile).filter(|profile| *profile != record.summary.quota_profile),
        helm_mode: Some(helm_mode).filter(|mode| *mode != record.summary.helm_mode),
        reason: "benchmark",
        at: Utc::now(),
    };
    assert!(store.ask_change(&change).await.unwrap());
    let asked = store.request(id).await.unwrap().unwrap();
    let after = ChangedGrant { expires_at: asked.summary.expires_at, quota_profile: profile, helm_mode };
    let decision = ChangeDecision {
        record: &asked,
        decided_by: DecidedBy::Rule("benchmark"),
        approved: Some(after),
        reason: None,
        at: Utc::now(),
    };
    assert!(store.decide_change(&decision).await.unwrap());
}

/// A request for `namespace` by `alice`, submitted and approved in the database (as the approval page would).
async fn approved(store: &Store, alice: &str, namespace: &str, helm_mode: HelmMode) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let request = NewRequest {
        id: &id,
        namespace,
        purpose: "benchmark",
        stage: "test",
        helm_mode,
        quota_profile: "small",
        lifetime_days: 30,
        requester_id: alice,
        team: None,
        approved_by_rule: None,
        at: Utc::now(),
    };
    store.submit_request(&request).await.unwrap();
    let approve = Transition {
        request_id: &id,
        version: 1,
        from: RequestState::Pending,
        to: RequestState::Approved,
        action: Action::Approve,
        actor_id: Some(alice),
        reason: None,
        at: Utc::now(),
        expires_at: None,
    };
    assert!(store.apply(&approve).await.unwrap());
    id
}

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// The count, which must be the same for every sample.
fn only(counts: &[u64]) -> String {
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    if min == max { min.to_string() } else { format!("{min}–{max}") }
}
