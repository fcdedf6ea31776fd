//! Two `berth` processes on different ports sharing one PostgreSQL database and the local control plane, as
//! two replicas behind a load balancer: a session started on one is good on the other, only one of them
//! reconciles, and when that one is killed in the middle of provisioning the other finishes the work, once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::auth::{Role, SessionView};
use app::requests::{Action, RequestState};
use berth_server::config::DatabaseConfig;
use berth_server::store::Store;
use tokio::net::TcpListener;
use tokio::process::Child;

use crate::binary::{berth, free_port, wait_ready};
use crate::cluster::unique;
use crate::grants::{approved, expected_objects, objects_of, wait_for, wait_for_within};
use crate::postgres::fresh_database;
use crate::support::{Browser, DEV_IDP_CLIENT_SECRET, TestServer, berth_kubeconfig, client, dev_idp_url};

/// One replica: the process, its public server, its metrics listener, and its log (printed if the test fails).
struct Replica {
    process: Child,
    server: TestServer,
    metrics: String,
    log: PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {} ---\n{}", self.log.display(), std::fs::read_to_string(&self.log).unwrap_or_default());
        }
    }
}

/// Starts replica `name` on `database`, reaching the cluster through `kubeconfig`, with the worker on and
/// polling every second (the leader lease and the request leases keep their defaults: 15 s).
async fn replica(dir: &Path, name: &str, database: &str, kubeconfig: &Path) -> Replica {
    let (port, metrics_port) = (free_port(), free_port());
    let log = dir.join(format!("{name}.log"));
    let mut command = berth(&[
        ("BERTH_LISTEN", format!("127.0.0.1:{port}")),
        ("BERTH_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("BERTH_METRICS__LISTEN", format!("127.0.0.1:{metrics_port}")),
        ("BERTH_DATABASE__URL", database.to_string()),
        ("BERTH_SITE_ROOT", crate::support::public_dir().display().to_string()),
        ("BERTH_AUTH__ISSUER_URL", dev_idp_url()),
        ("BERTH_AUTH__CLIENT_SECRET", DEV_IDP_CLIENT_SECRET.to_string()),
        ("BERTH_CLUSTER__KUBECONFIG", kubeconfig.display().to_string()),
        ("BERTH_PROVISIONING__ENABLED", "true".to_string()),
        ("BERTH_PROVISIONING__POLL_SECONDS", "1".to_string()),
        ("BERTH_LOG__FILTER", "warn,berth_server::workflow=info".to_string()),
    ]);
    let output = std::fs::File::create(&log).unwrap();
    command.stdout(output.try_clone().unwrap()).stderr(output);
    let mut process = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base, &mut process).await;
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    Replica { process, server: TestServer::at(base), metrics, log }
}

/// Stops `replica` as Kubernetes does (SIGTERM) and waits for it to exit.
async fn terminate(mut replica: Replica) {
    let pid = replica.process.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = replica.process.wait().await.unwrap();
    assert!(status.success(), "clean exit: {status}");
}

impl Replica {
    /// Whether this replica's worker leads, from its `/metrics`.
    async fn leads(&self) -> bool {
        let text = client().get(&self.metrics).send().await.unwrap().text().await.unwrap();
        let line = text.lines().find(|line| line.starts_with("berth_leader ")).expect("berth_leader in /metrics");
        line == "berth_leader 1"
    }

    async fn until_leading(&self, within: Duration) -> Duration {
        let started = Instant::now();
        crate::support::eventually(within, "this replica leading", || async {
            if self.leads().await { Ok(()) } else { Err("berth_leader 0".to_string()) }
        })
        .await;
        started.elapsed()
    }
}

/// A TCP listener that accepts connections and never answers: an API server that hangs (the fault the real
/// one will not produce on demand). A replica pointed at it blocks in its first call to the cluster.
async fn hanging_api_server(dir: &Path) -> PathBuf {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    let real = std::fs::read_to_string(berth_kubeconfig()).unwrap();
    let server_line = real.lines().find(|line| line.trim_start().starts_with("server:")).unwrap();
    let hanging = real.replace(server_line, &format!("    server: https://{address}"));
    let path = dir.join("hanging.kubeconfig");
    std::fs::write(&path, hanging).unwrap();
    path
}

#[tokio::test]
async fn a_session_from_one_replica_works_on_the_other_and_one_replica_leads() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database().await;
    let a = replica(dir.path(), "a", &database, &berth_kubeconfig()).await;
    a.until_leading(Duration::from_secs(10)).await;
    let b = replica(dir.path(), "b", &database, &berth_kubeconfig()).await;

    // Signed in through a, acting on b: the session is in the shared database (cookies ignore ports).
    let alice = Browser::signed_in(&a.server, "alice").await;
    let cookie = alice.cookie_header(&b.server);
    assert!(cookie.contains("berth_session=") && cookie == alice.cookie_header(&a.server), "{cookie}");
    assert!(matches!(alice.session(&b.server).await, SessionView::SignedIn(_, Role::Developer)));
    let namespace = unique("replicas");
    let id = approved(&b.server, &alice, &namespace, "none").await;
    // Only a reconciles (b was never woken into leading), and the grant gets ready.
    wait_for(&alice, &b.server, &id, RequestState::Ready).await;
    assert!(a.leads().await && !b.leads().await, "exactly one leader");

    // Signing out on b ends the session on a too, once a's memory of the record is older than its bound.
    let out = alice.http.post(b.server.url("/auth/logout")).header("origin", &b.server.base).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let signed_out = Instant::now();
    let bound = berth_server::store::sessions::RECENT_FOR + Duration::from_secs(1);
    while alice.session(&a.server).await != SessionView::Anonymous {
        assert!(signed_out.elapsed() < bound, "a still honours the session {bound:?} after the sign-out on b");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "FIGURE sign-out on one replica → session refused on the other in {:.1} s",
        signed_out.elapsed().as_secs_f64()
    );

    // A clean stop hands the lease back: b leads at its next try (every 5 s), not a whole lease later.
    terminate(a).await;
    let took_over = b.until_leading(Duration::from_secs(10)).await;
    println!("FIGURE failover: leader stopped (SIGTERM) → other replica leads in {:.1} s", took_over.as_secs_f64());
    terminate(b).await;
}

#[tokio::test]
async fn when_the_leader_dies_mid_provisioning_the_other_replica_finishes_the_grant_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database().await;
    // a leads, and its calls to the cluster hang: it takes the approved request and stays in provisioning.
    let mut a = replica(dir.path(), "a", &database, &hanging_api_server(dir.path()).await).await;
    a.until_leading(Duration::from_secs(10)).await;
    let b = replica(dir.path(), "b", &database, &berth_kubeconfig()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!b.leads().await, "b stands by while a's lease is live");

    let alice = Browser::signed_in(&b.server, "alice").await;
    let namespace = unique("failover");
    let id = approved(&b.server, &alice, &namespace, "tiller").await;
    // The leader takes the request up.
    wait_for_within(&alice, &b.server, &id, RequestState::Provisioning, Duration::from_secs(15)).await;

    // SIGKILL: no lease handed back, nothing finished.
    a.process.start_kill().unwrap();
    let killed = Instant::now();
    let _ = a.process.wait().await;
    let took_over = b.until_leading(Duration::from_secs(30)).await;
    // Ready at most 30 s after the leader died.
    let left = Duration::from_secs(30).saturating_sub(killed.elapsed());
    wait_for_within(&alice, &b.server, &id, RequestState::Ready, left).await;
    let ready = killed.elapsed();
    println!("FIGURE failover: leader killed → other replica leads in {:.1} s", took_over.as_secs_f64());
    println!("FIGURE failover: leader killed mid-provisioning → grant ready in {:.1} s", ready.as_secs_f64());

    // Nothing lost: every object is there. Nothing done twice: one start, one ready in the audit trail.
    assert_eq!(objects_of(&id), expected_objects(&namespace, true));
    let store = Store::open(&DatabaseConfig { url: database, max_connections: 1 }).await.unwrap();
    let events = store.events(&id).await.unwrap();
    let count = |action: Action| events.iter().filter(|event| event.action == action).count();
    assert_eq!((count(Action::StartProvisioning), count(Action::MarkReady)), (1, 1), "{events:?}");
}
