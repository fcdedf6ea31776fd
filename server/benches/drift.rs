//! The drift watch at scale, against the local control plane with Berth's own credential: what a quiet
//! cluster with many ready grants costs. Run by `scripts/figures.sh` (or `cargo bench -p berth-server --bench
//! drift` with LOCAL_CLUSTER_KUBECONFIG and LOCAL_CLUSTER_BERTH_KUBECONFIG set, as for the tests);
//! `DRIFT_BENCH_GRANTS` sets how many grants (default 1,000).
//!
//! It provisions the grants (Helm 3 mode), records them ready in a SQLite database, starts the watches and
//! prints: the API calls and time to list Berth's objects, the memory the watch caches take (the process's
//! resident memory before and after), the API calls and time of a full check of every grant (in memory), and
//! the API calls over a quiet minute. API calls are counted by a layer around the client.

// Benchmarks read the wall clock and wait for real components; `berth_server::clock` is for the server.
#![allow(clippy::disallowed_methods)]
// Benchmark code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::requests::{Action, HelmMode, RequestState};
use berth_server::clock::Clock;
use berth_server::cluster::manifests::{self, Grant, GrantRef, Settings};
use berth_server::config::{Config, RequestsConfig};
use berth_server::store::requests::{NewRequest, Transition};
use berth_server::workflow::worker::Worker;
use chrono::Utc;
use futures_util::StreamExt;

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|line| line.strip_prefix("VmRSS:")).unwrap().trim().trim_end_matches(" kB").parse().unwrap()
}

#[tokio::main]
async fn main() {
    let grants: usize = std::env::var("DRIFT_BENCH_GRANTS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let (cluster, calls) = support::counted_berth_cluster().await;

    let dir = tempfile::tempdir().unwrap();
    let (store, alice) = support::store_with_alice(dir.path()).await;
    let requests = RequestsConfig::default();
    let profile = requests.quota_profiles[0].clone();

    // The grants: in the database as ready, in the cluster as Berth provisions them.
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
    let started = Instant::now();
    let mut seeded = Vec::new();
    for n in 0..grants {
        let id = uuid::Uuid::new_v4().to_string();
        let namespace = format!("drift-{run}-{n}");
        let now = Utc::now();
        let new = NewRequest {
            id: &id,
            namespace: &namespace,
            purpose: "benchmark",
            stage: "test",
            helm_mode: HelmMode::NoTiller,
            quota_profile: &profile.name,
            lifetime_days: 30,
            requester_id: &alice,
            team: None,
            approved_by_rule: None,
            at: now,
        };
        store.submit_request(&new).await.unwrap();
        let steps = [
            (RequestState::Pending, RequestState::Approved, Action::Approve),
            (RequestState::Approved, RequestState::Provisioning, Action::StartProvisioning),
            (RequestState::Provisioning, RequestState::Ready, Action::MarkReady),
        ];
        for (version, (from, to, action)) in (1..).zip(steps) {
            let step = Transition {
                request_id: &id,
                version,
                from,
                to,
                action,
                actor_id: None,
                reason: None,
                at: now,
                expires_at: Some(now + chrono::TimeDelta::days(30)),
            };
            assert!(store.apply(&step).await.unwrap());
        }
        seeded.push((id, namespace));
    }
    let settings = Settings::default();
    futures_util::stream::iter(&seeded)
        .for_each_concurrent(16, |(id, namespace)| {
            let (cluster, profile, settings, alice) = (&cluster, &profile, &settings, &alice);
            async move {
                let grant = Grant {
                    of: GrantRef {
                        request_id: id,
                        namespace,
                        owner_id: alice,
                        owner_hint: "alice@example.com",
                        helm_mode: HelmMode::NoTiller,
                    },
                    profile,
                };
                for object in manifests::objects(&grant, settings) {
                    cluster.apply(&object).await.unwrap();
                }
            }
        })
        .await;
    println!("(seeded {grants} ready grants in {:.0} s)", started.elapsed().as_secs_f64());

    let config = Config { requests, ..Config::default() };
    let worker = Worker::standalone(store.clone(), cluster.clone(), &config, Clock::system()).unwrap();

    // Listing: the watches start, and their caches fill.
    let rss_before = rss_kib();
    calls.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let (live, changes) = cluster.watch_grant_objects();
    let changed = Arc::new(AtomicU64::new(0));
    let seen = changed.clone();
    tokio::spawn(async move {
        let mut changes = std::pin::pin!(changes);
        while changes.next().await.is_some() {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
    live.until_ready().await;
    let listed = started.elapsed();
    let list_calls = calls.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kib();
    println!(
        "FIGURE drift watch start at {grants} grants: {} objects listed in {} ms with {list_calls} API calls (a paged list, 500 a page, and a watch per kind)",
        live.len(),
        listed.as_millis(),
    );
    println!(
        "FIGURE drift watch caches at {grants} grants: {:.1} MiB resident ({} objects)",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        live.len()
    );

    // A full check of every grant, as the leader does when it starts leading and every 10 minutes.
    calls.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let mut corrected = 0;
    for namespace in store.ready_namespaces().await.unwrap() {
        corrected += worker.correct_drift(&live, &namespace).await.unwrap().len();
    }
    println!(
        "FIGURE drift full check at {grants} quiet grants: {} ms, {} API calls, {corrected} corrections",
        started.elapsed().as_millis(),
        calls.load(Ordering::Relaxed),
    );

    // A quiet minute: the watches stay open and nothing else is asked.
    calls.store(0, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(60)).await;
    println!(
        "FIGURE drift watch at {grants} quiet grants: {} API calls per minute (the open watches aside)",
        calls.load(Ordering::Relaxed)
    );

    // Clean up as an admin (the namespaces, and the identities in Berth's namespace).
    let admin = support::env_path("LOCAL_CLUSTER_KUBECONFIG");
    for (_, namespace) in &seeded {
        let _ = std::process::Command::new("kubectl")
            .args(["--kubeconfig", &admin, "delete", "namespace", namespace, "--wait=false"])
            .output();
    }
    let _ = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &admin,
            "delete",
            "serviceaccounts",
            "-n",
            "berth-identities",
            "-l",
            "app.kubernetes.io/managed-by=berth",
        ])
        .output();
}
