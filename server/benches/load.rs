//! Load on loopback from a second process: `oha` against one Berth replica (the release binary, SQLite with
//! 10,000 pending requests, signed in as an approver) and, in the same run, against a minimal axum handler
//! (this program re-run as a child), so the ratio says what Berth's own work costs on this machine. Also the
//! replica's memory: at rest, and its peak under the load.
//!
//! Run by `scripts/load.sh`, which builds the release binary, installs oha and starts the local control
//! plane and the development identity provider. Settings: `LOAD_SECONDS` (per target, default 10),
//! `LOAD_CONNECTIONS` (default 16).
//!
//! The replica's rate limits are raised for the run: all the load comes from one session and one address,
//! which the defaults would (rightly) answer with 429 after a few hundred calls.

// Benchmarks read the wall clock and wait for real components; `berth_server::clock` is for the server.
#![allow(clippy::disallowed_methods)]
// Benchmark code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "common/seed.rs"]
mod seed;
#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_server::config::DatabaseConfig;
use berth_server::store::Store;
use support::{Browser, DEV_IDP_CLIENT_SECRET, TestServer, berth_kubeconfig, dev_idp_url};

const REQUESTS: usize = 10_000;
const BASELINE_FLAG: &str = "--minimal-axum-handler";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(port) = args.iter().position(|a| a == BASELINE_FLAG).and_then(|i| args.get(i + 1)) {
        return minimal_axum_handler(port.parse().unwrap());
    }
    tokio::runtime::Runtime::new().unwrap().block_on(run());
}

/// The yardstick: axum answering a fixed string on one route, nothing else.
fn minimal_axum_handler(port: u16) {
    tokio::runtime::Runtime::new().unwrap().block_on(async move {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

async fn wait_until_answering(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(url).await.is_err() {
        assert!(Instant::now() < deadline, "{url} not answering within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A value from /proc/PID/status in KiB (VmRSS: now; VmHWM: the peak so far).
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

struct Figures {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    success_rate: f64,
}

/// Runs oha against `url` with `extra` arguments; its JSON summary.
fn oha(url: &str, extra: &[String]) -> Figures {
    let seconds = std::env::var("LOAD_SECONDS").unwrap_or_else(|_| "10".into());
    let connections = std::env::var("LOAD_CONNECTIONS").unwrap_or_else(|_| "16".into());
    let output = Command::new(std::env::var("OHA").unwrap_or_else(|_| "oha".into()))
        .args(["--no-tui", "--output-format", "json", "-z", &format!("{seconds}s"), "-c", &connections])
        .args(extra)
        .arg(url)
        .output()
        .expect("oha runs (scripts/load.sh installs it)");
    assert!(output.status.success(), "oha: {}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let statuses = json["statusCodeDistribution"].as_object().cloned().unwrap_or_default();
    let total: u64 = statuses.values().filter_map(serde_json::Value::as_u64).sum();
    let ok = statuses.get("200").and_then(serde_json::Value::as_u64).unwrap_or(0);
    assert!(total > 0, "no answers from {url}: {json}");
    Figures {
        requests_per_second: json["summary"]["requestsPerSec"].as_f64().unwrap(),
        p50_ms: json["latencyPercentiles"]["p50"].as_f64().unwrap() * 1000.0,
        p99_ms: json["latencyPercentiles"]["p99"].as_f64().unwrap() * 1000.0,
        success_rate: ok as f64 / total as f64,
    }
}

fn berth_replica(port: u16, database: &str, dir: &Path) -> Child {
    let root = repo_root();
    let log = std::fs::File::create(dir.join("berth.log")).unwrap();
    Command::new(root.join("target/release/berth"))
        .env("BERTH_LISTEN", format!("127.0.0.1:{port}"))
        .env("BERTH_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("BERTH_DATABASE__URL", database)
        .env("BERTH_SITE_ROOT", root.join("target/site"))
        .env("BERTH_AUTH__ISSUER_URL", dev_idp_url())
        .env("BERTH_AUTH__CLIENT_ID", "berth")
        .env("BERTH_AUTH__CLIENT_SECRET", DEV_IDP_CLIENT_SECRET)
        .env("BERTH_CLUSTER__KUBECONFIG", berth_kubeconfig())
        .env("BERTH_LOG__FILTER", "warn")
        .env("BERTH_HTTP__RATE_LIMITS__SERVER_FUNCTIONS_PER_SESSION_PER_MINUTE", "100000000")
        .env("BERTH_HTTP__RATE_LIMITS__SERVER_FUNCTIONS_PER_ADDRESS_PER_MINUTE", "100000000")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("berth.db").display());
    // Migrated and seeded before the replica starts (as an installation that has been busy).
    let store = Store::open(&DatabaseConfig { url: database.clone(), max_connections: 2 }).await.unwrap();
    seed::pending_requests(&store, &dev_idp_url(), REQUESTS).await;
    store.close().await;

    let port = free_port();
    let mut berth = berth_replica(port, &database, dir.path());
    let server = TestServer::at(format!("http://127.0.0.1:{port}"));
    wait_until_answering(&server.url("/readyz")).await;
    let bob = Browser::signed_in(&server, "bob").await;
    let approvals = bob.get(&server.url("/approvals")).await.text().await.unwrap();
    assert!(approvals.contains(&format!("{REQUESTS} pending")), "the Approvals page shows the 10,000");

    let baseline_port = free_port();
    let mut baseline = Command::new(std::env::current_exe().unwrap())
        .args([BASELINE_FLAG, &baseline_port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let baseline_url = format!("http://127.0.0.1:{baseline_port}/");
    wait_until_answering(&baseline_url).await;

    let pid = berth.id();
    let rest_kib = memory_kib(pid, "VmRSS:");
    let strings = |args: &[&str]| args.iter().map(|arg| (*arg).to_string()).collect::<Vec<_>>();
    let cookie = format!("Cookie: {}", bob.cookie_header(&server));
    let origin = format!("Origin: {}", server.base);
    let html = strings(&["-H", &cookie, "-H", "Accept: text/html"]);
    let call = strings(&[
        "-H",
        &cookie,
        "-m",
        "POST",
        "-H",
        &origin,
        "-H",
        "Accept: application/json",
        "-T",
        "application/x-www-form-urlencoded",
        "-d",
        "page=1",
    ]);
    let targets: [(&str, String, Vec<String>); 4] = [
        ("minimal axum handler (`GET /` → \"ok\")", baseline_url.clone(), vec![]),
        ("home page, signed in (`GET /`)", server.url("/"), html.clone()),
        ("Approvals page, 10,000 pending (`GET /approvals`)", server.url("/approvals"), html),
        ("server function `requests/pending` (page 1 of 400)", server.url("/api/requests/pending"), call),
    ];
    let mut rows = Vec::new();
    for (label, url, extra) in &targets {
        rows.push((label, oha(url, extra)));
    }
    let peak_kib = memory_kib(pid, "VmHWM:");
    let baseline_rps = rows[0].1.requests_per_second;

    println!("| target | requests/s | p50 | p99 | 200s | vs minimal axum |");
    println!("|---|---|---|---|---|---|");
    for (label, figures) in &rows {
        println!(
            "| {label} | {:.0} | {:.2} ms | {:.2} ms | {:.1}% | {:.3} |",
            figures.requests_per_second,
            figures.p50_ms,
            figures.p99_ms,
            figures.success_rate * 100.0,
            figures.requests_per_second / baseline_rps
        );
    }
    println!(
        "\nBerth replica memory (RSS): {:.1} MiB at rest (signed in, 10,000 requests), {:.1} MiB peak under the load",
        rest_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    for child in [&mut baseline, &mut berth] {
        let _ = child.kill();
        let _ = child.wait();
    }
    for (label, figures) in &rows {
        assert!(figures.success_rate > 0.999, "{label}: answers other than 200");
    }
}
