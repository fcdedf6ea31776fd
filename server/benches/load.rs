//! Load on loopback from a second process: `oha` against one Berth replica (the release binary, SQLite with
//! 10,000 pending requests, signed in as an approver) and, in the same run, against two yardsticks served by
//! this program re-run as a child: a minimal axum handler (`"ok"`), and axum answering the very bytes Berth
//! answered for each page (same headers that matter, same compression layer), so the ratios say what
//! Berth's own work costs on this machine. CPU time per request is the processes' own (user + system, from
//! `/proc`) over the answers counted. Also the SQL statements per page view (Berth's
//! `berth_sql_statements_total`, less what the replica runs by itself meanwhile) and the replica's memory:
//! at rest, and its peak under the load.
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
    if let Some(at) = args.iter().position(|a| a == BASELINE_FLAG) {
        let port = args[at + 1].parse().unwrap();
        return yardsticks(port, &args[at + 2..]);
    }
    tokio::runtime::Runtime::new().unwrap().block_on(run());
}

/// The yardsticks: axum answering a fixed string at `/`, and each of `pages` (path=file of its HTML) with the
/// bytes Berth answered, through Berth's own compression layer.
fn yardsticks(port: u16, pages: &[String]) {
    tokio::runtime::Runtime::new().unwrap().block_on(async move {
        let mut app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        for page in pages {
            let (path, file) = page.split_once('=').unwrap();
            let html = axum::body::Bytes::from(std::fs::read(file).unwrap());
            let answer = move || {
                let html = html.clone();
                async move {
                    (
                        [
                            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
                            (axum::http::header::CACHE_CONTROL, "private, no-store"),
                        ],
                        html,
                    )
                }
            };
            app = app.route(path, axum::routing::get(answer));
        }
        let app = app.layer(berth_server::edge::assets::compression());
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

/// CPU time the process has used so far (user + system), from /proc/PID/stat (in clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th, stime
    // the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

struct Figures {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    success_rate: f64,
    cpu_per_request: Duration,
}

/// Runs oha against `url` with `extra` arguments while `pid` serves it; its JSON summary and `pid`'s CPU time
/// per answer.
fn oha(url: &str, extra: &[String], pid: u32) -> Figures {
    let seconds = std::env::var("LOAD_SECONDS").unwrap_or_else(|_| "10".into());
    let connections = std::env::var("LOAD_CONNECTIONS").unwrap_or_else(|_| "16".into());
    let cpu_before = cpu_time(pid);
    let output = Command::new(std::env::var("OHA").unwrap_or_else(|_| "oha".into()))
        .args(["--no-tui", "--output-format", "json", "-z", &format!("{seconds}s"), "-c", &connections])
        .args(extra)
        .arg(url)
        .output()
        .expect("oha runs (scripts/load.sh installs it)");
    let cpu = cpu_time(pid) - cpu_before;
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
        cpu_per_request: cpu / u32::try_from(total).unwrap_or(u32::MAX),
    }
}

/// `berth_sql_statements_total` as `/metrics` says it now.
async fn statements_so_far(metrics_url: &str) -> f64 {
    let text = reqwest::get(metrics_url).await.unwrap().text().await.unwrap();
    let line = text.lines().find(|line| line.starts_with("berth_sql_statements_total")).expect("the counter");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// SQL statements per view of `url`: `VIEWS` views one after another, less the statements the replica ran in
/// as long a time without views (its worker's polls, the scrapes themselves).
async fn statements_per_view(metrics_url: &str, browser: &Browser, url: &str) -> f64 {
    const VIEWS: u32 = 50;
    let before = statements_so_far(metrics_url).await;
    let started = Instant::now();
    for _ in 0..VIEWS {
        assert!(browser.get(url).await.status().is_success());
    }
    let took = started.elapsed();
    let during = statements_so_far(metrics_url).await - before;
    let before_idle = statements_so_far(metrics_url).await;
    tokio::time::sleep(took).await;
    let idle = statements_so_far(metrics_url).await - before_idle;
    ((during - idle) / f64::from(VIEWS)).max(0.0)
}

fn berth_replica(port: u16, metrics_port: u16, database: &str, dir: &Path) -> Child {
    let root = repo_root();
    let log = std::fs::File::create(dir.join("berth.log")).unwrap();
    Command::new(root.join("target/release/berth-server"))
        .env("BERTH_LISTEN", format!("127.0.0.1:{port}"))
        .env("BERTH_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("BERTH_DATABASE__URL", database)
        .env("BERTH_SITE_ROOT", root.join("target/site"))
        .env("BERTH_AUTH__ISSUER_URL", dev_idp_url())
        .env("BERTH_AUTH__CLIENT_ID", "berth")
        .env("BERTH_AUTH__CLIENT_SECRET", DEV_IDP_CLIENT_SECRET)
        .env("BERTH_CLUSTER__KUBECONFIG", berth_kubeconfig())
        .env("BERTH_LOG__FILTER", "warn")
        .env("BERTH_METRICS__LISTEN", format!("127.0.0.1:{metrics_port}"))
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

    let (port, metrics_port) = (free_port(), free_port());
    let mut berth = berth_replica(port, metrics_port, &database, dir.path());
    let server = TestServer::at(format!("http://127.0.0.1:{port}"));
    wait_until_answering(&server.url("/readyz")).await;
    let bob = Browser::signed_in(&server, "bob").await;
    let approvals = bob.get(&server.url("/approvals")).await.text().await.unwrap();
    assert!(approvals.contains(&format!("{REQUESTS} pending")), "the Approvals page shows the 10,000");
    let home = bob.get(&server.url("/")).await.text().await.unwrap();
    assert!(home.contains(&format!("{REQUESTS} requests and 0 changes waiting")), "the home page counts them");
    // A deep page, as its Next link finds it: after the last request of the page before.
    let page_399: serde_json::Value =
        bob.call_with(&server, "requests/pending", &[("page", "399")]).await.json().await.unwrap();
    let before_last = page_399["items"][24]["request"]["id"].as_str().unwrap().to_string();
    let last_page = format!("/approvals?after={before_last}&page=400");
    let deep = bob.get(&server.url(&last_page)).await.text().await.unwrap();
    assert!(deep.contains("Page 400 of 400") && deep.matches("data-testid=\"request\"").count() == 25, "page 400");

    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let mut statements = Vec::new();
    for (label, path) in
        [("home, signed in", "/"), ("Approvals, page 1", "/approvals"), ("Approvals, page 400", &last_page)]
    {
        statements.push((label, statements_per_view(&metrics_url, &bob, &server.url(path)).await));
    }

    // The yardsticks answer the pages' very bytes.
    let (approvals_file, home_file) = (dir.path().join("approvals.html"), dir.path().join("home.html"));
    std::fs::write(&approvals_file, &approvals).unwrap();
    std::fs::write(&home_file, &home).unwrap();
    let baseline_port = free_port();
    let mut baseline = Command::new(std::env::current_exe().unwrap())
        .args([BASELINE_FLAG, &baseline_port.to_string()])
        .arg(format!("/approvals={}", approvals_file.display()))
        .arg(format!("/home={}", home_file.display()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let baseline_url = format!("http://127.0.0.1:{baseline_port}");
    wait_until_answering(&format!("{baseline_url}/")).await;

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
    let yardstick = baseline.id();
    let minimal = oha(&format!("{baseline_url}/"), &[], yardstick);
    let same_home = oha(&format!("{baseline_url}/home"), &html, yardstick);
    let same_approvals = oha(&format!("{baseline_url}/approvals"), &html, yardstick);
    let rows = [
        ("minimal axum handler (`GET /` → \"ok\")", None, &minimal),
        ("axum answering the home page's bytes", None, &same_home),
        ("axum answering the Approvals page's bytes", None, &same_approvals),
        ("home page, signed in (`GET /`)", Some(&same_home), &oha(&server.url("/"), &html, pid)),
        ("Approvals page 1, 10,000 pending", Some(&same_approvals), &oha(&server.url("/approvals"), &html, pid)),
        ("Approvals page 400 (keyset)", Some(&same_approvals), &oha(&server.url(&last_page), &html, pid)),
        (
            "server function `requests/pending` (page 1 of 400)",
            None,
            &oha(&server.url("/api/requests/pending"), &call, pid),
        ),
    ];
    let peak_kib = memory_kib(pid, "VmHWM:");

    println!("| target | requests/s | p50 | p99 | 200s | CPU per request | vs minimal axum | vs same bytes |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, same_bytes, figures) in &rows {
        let versus = same_bytes
            .map_or("–".to_string(), |same| format!("{:.2}", figures.requests_per_second / same.requests_per_second));
        println!(
            "| {label} | {:.0} | {:.2} ms | {:.2} ms | {:.1}% | {:.3} ms | {:.3} | {versus} |",
            figures.requests_per_second,
            figures.p50_ms,
            figures.p99_ms,
            figures.success_rate * 100.0,
            figures.cpu_per_request.as_secs_f64() * 1000.0,
            figures.requests_per_second / minimal.requests_per_second,
        );
    }
    println!("\n| page view (bob, an approver) | SQL statements, the session's included | HTML bytes |");
    println!("|---|---|---|");
    for ((label, per_view), bytes) in statements.iter().zip([home.len(), approvals.len(), deep.len()]) {
        println!("| {label} | {per_view:.1} | {bytes} |");
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
    for (label, _, figures) in &rows {
        assert!(figures.success_rate > 0.999, "{label}: answers other than 200");
    }
}
