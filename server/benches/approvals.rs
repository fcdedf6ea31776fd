//! How long the Approvals page takes to render with 10,000 requests in the database (SQLite), and that it
//! paginates. Run by `scripts/figures.sh` (or `cargo bench -p berth-server --bench approvals` with the local
//! control plane and the development identity provider running, as for the tests).
//!
//! Measures the whole server-side render of `/approvals` as a signed-in approver's browser gets it (session
//! lookup, the pending query with its count, and the HTML), the first and the last page, and the server
//! function the hydrated page calls.

// Benchmarks read the wall clock and wait for real components; `berth_server::clock` is for the server.
#![allow(clippy::disallowed_methods)]
// Benchmark code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "common/seed.rs"]
mod seed;
#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;
#[path = "common/timing.rs"]
mod timing;

use std::time::Instant;

use berth_server::Berth;
use berth_server::store::queue::{Decider, QueueQuery, Window};
use support::{Browser, TestServer, config_in, dev_idp_url};
use timing::{report, sample};

const REQUESTS: usize = 10_000;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = config_in(dir.path(), listener.local_addr().unwrap());
    let berth = Berth::build(&config).await.unwrap();
    let store = berth.store().clone();
    let server = TestServer::serve(listener, berth).await;
    let bob = Browser::signed_in(&server, "bob").await;

    let seeding = Instant::now();
    seed::pending_requests(&store, &dev_idp_url(), REQUESTS).await;
    println!("seeded {REQUESTS} pending requests in {:.1} s", seeding.elapsed().as_secs_f64());

    // The last page as its Previous/Next links reach it (keyset), and as a bookmark of its number has it.
    let page_399: serde_json::Value =
        bob.call_with(&server, "requests/pending", &[("page", "399")]).await.json().await.unwrap();
    let before_last = page_399["items"][24]["request"]["id"].as_str().unwrap().to_string();
    let keyset = format!("/approvals?after={before_last}&page=400");
    for (label, path) in [
        ("first page", "/approvals"),
        ("last page, keyset", keyset.as_str()),
        ("last page, by number", "/approvals?page=400"),
    ] {
        let url = server.url(path);
        let html = bob.get(&url).await.text().await.unwrap();
        assert!(html.contains(&format!("of 400 · {REQUESTS} pending")), "paginated: {label}");
        let cards = html.matches("data-testid=\"request\"").count();
        assert_eq!(cards, 25, "{label}: one page of 25, not all {REQUESTS}");
        let timings = sample(|| async { bob.get(&url).await.bytes().await.unwrap().len() }).await;
        report(&format!("Approvals page ({label}) with {REQUESTS} requests, server-rendered"), &timings, html.len());
    }
    let timings = sample(|| async {
        bob.call_with(&server, "requests/pending", &[("page", "1")]).await.bytes().await.unwrap().len()
    })
    .await;
    report("list_pending_requests server function, page 1", &timings, 0);

    // The page's one statement alone (no session, no HTML, no HTTP): how much of a render is the database's.
    // As bob reads it: what he may still decide, his own requests and approvals left out.
    let decider =
        Some(Decider { person: "bob's id, which owns none of them", includes_own: false, closed_stages: &[] });
    let statement = QueueQuery { pending: Window::First(25), changes: 25, mine_of: None, decider };
    let timings = sample(|| async { store.queue(statement).await.unwrap().pending.len() }).await;
    let median_us = timings[timings.len() / 2].as_secs_f64() * 1e6;
    println!("FIGURE Approvals page's statement alone (Store::queue, page 1 and its counts): median {median_us:.0} µs");
    server.stop().await;
}
