//! How long the admin dashboard and the audit log take to render with 10,000 grants, 50,000 kubeconfigs and
//! their 90,000 audit events in the database (SQLite), and the query plans that keep them fast. Run by
//! `scripts/figures.sh` (or `cargo bench -p berth-server --bench dashboard` with the local control plane and
//! the development identity provider running, as for the tests).
//!
//! Measures the whole server-side render as a signed-in admin's browser gets it (session lookup, the page's
//! query and count, the kubeconfigs of its 25 grants, the HTML) for the default view, each sort, a search, a
//! filter and a deep page; the server function the hydrated page calls; the audit log; and a CSV export.

// Benchmarks read the wall clock and wait for real components; `berth_server::clock` is for the server.
#![allow(clippy::disallowed_methods)]
// Benchmark code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;
#[path = "common/timing.rs"]
mod timing;

use std::time::Instant;

use berth_server::Berth;
use chrono::{TimeDelta, Utc};
use sqlx::Connection as _;
use support::{Browser, TestServer, config_in};
use timing::{report, sample};

const GRANTS: usize = 10_000;
/// Seven in ten requests were granted; 7,000 grants hold these between them (seven or eight each).
const CREDENTIALS: usize = 50_000;
const OWNERS: usize = 200;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = config_in(dir.path(), listener.local_addr().unwrap());
    let server = TestServer::serve(listener, Berth::build(&config).await.unwrap()).await;
    let carol = Browser::signed_in(&server, "carol").await;

    let seeding = Instant::now();
    let mut db = sqlx::SqliteConnection::connect(&config.database.url).await.unwrap();
    seed(&mut db).await;
    println!(
        "seeded {GRANTS} grants of {OWNERS} owners, {} kubeconfigs and their audit events in {:.1} s",
        CREDENTIALS,
        seeding.elapsed().as_secs_f64()
    );
    sqlx::query("ANALYZE").execute(&mut db).await.unwrap();

    for (label, path, rows) in [
        ("default view: newest first", "/admin", 25),
        ("ending soonest", "/admin?sort=expires", 25),
        ("by owner", "/admin?sort=owner", 25),
        ("filtered: ready, stage production", "/admin?state=ready&stage=production", 25),
        ("searched: namespace part 'team-0042'", "/admin?q=team-0042", 10),
        ("one owner's grants", "/admin?owner=owner-007%40", 25),
        ("page 400 of 400", "/admin?page=400", 25),
    ] {
        let url = server.url(path);
        let html = carol.get(&url).await.text().await.unwrap();
        let found = html.matches("data-testid=\"grant\"").count();
        assert_eq!(found, rows, "{label}: {rows} rows on the page");
        let timings = sample(|| async { carol.get(&url).await.bytes().await.unwrap().len() }).await;
        report(&format!("Admin dashboard ({label}), server-rendered"), &timings, html.len());
    }
    let timings = sample(|| async {
        carol.call_with(&server, "admin/grants", &[("page", "1")]).await.bytes().await.unwrap().len()
    })
    .await;
    report("list_grants server function, page 1", &timings, 0);

    for (label, path) in [
        ("newest first", "/admin/audit"),
        ("one namespace", "/admin/audit?namespace=team-0042"),
        ("revocations of kubeconfigs", "/admin/audit?kind=revoke_credential"),
    ] {
        let url = server.url(path);
        let html = carol.get(&url).await.text().await.unwrap();
        assert!(html.contains("data-testid=\"audit-event\""), "{label}: events shown");
        let timings = sample(|| async { carol.get(&url).await.bytes().await.unwrap().len() }).await;
        report(&format!("Audit log ({label}), server-rendered"), &timings, html.len());
    }
    let export = server.url("/admin/audit/export.csv?kind=issue_credential");
    let started = Instant::now();
    let csv = carol.get(&export).await.text().await.unwrap();
    assert_eq!(csv.lines().count() - 1, CREDENTIALS, "every issue exported");
    println!(
        "FIGURE audit CSV export of {} kubeconfig issues: {:.0} ms, {:.1} MiB",
        csv.lines().count() - 1,
        started.elapsed().as_secs_f64() * 1000.0,
        csv.len() as f64 / 1024.0 / 1024.0
    );

    // The plans behind the figures: each should search an index, not scan and sort the table.
    for (label, sql) in [
        (
            "default view",
            "SELECT r.id FROM requests r JOIN users u ON u.id = r.requester_id ORDER BY r.created_at DESC, r.id DESC LIMIT 25",
        ),
        (
            "state filter",
            "SELECT r.id FROM requests r JOIN users u ON u.id = r.requester_id WHERE r.state = 'ready' ORDER BY r.created_at DESC, r.id DESC LIMIT 25",
        ),
        (
            "kubeconfigs of a page",
            "SELECT c.id FROM credentials c WHERE c.request_id IN ('a', 'b') ORDER BY c.issued_at DESC, c.id",
        ),
        (
            "audit log",
            "SELECT e.id FROM audit_events e JOIN requests r ON r.id = e.request_id ORDER BY e.at DESC, e.id DESC LIMIT 50",
        ),
        (
            "audit log of a namespace",
            "SELECT e.id FROM audit_events e JOIN requests r ON r.id = e.request_id WHERE e.request_id IN \
             (SELECT id FROM requests WHERE LOWER(namespace) LIKE '%team-0042%') ORDER BY e.at DESC, e.id DESC LIMIT 50",
        ),
    ] {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}")).fetch_all(&mut db).await.unwrap();
        let steps: Vec<String> = plan.into_iter().map(|(_, _, _, detail)| detail).collect();
        println!("PLAN {label}: {}", steps.join(" | "));
    }
    server.stop().await;
}

/// 10,000 requests in every state over a year, 50,000 kubeconfigs between the 7,000 granted ones (the first
/// of each revoked), with the audit events Berth would have written, in one transaction.
async fn seed(db: &mut sqlx::SqliteConnection) {
    let now = Utc::now();
    let mut tx = db.begin().await.unwrap();
    for n in 0..OWNERS {
        sqlx::query(
            "INSERT INTO users (id, issuer, subject, email, display_name, role, first_sign_in_at, last_sign_in_at)
             VALUES ($1, 'https://idp.example', $1, $2, $3, 'developer', $4, $4)",
        )
        .bind(format!("owner-{n:03}"))
        .bind(format!("owner-{n:03}@example.test"))
        .bind(format!("Owner {n:03}"))
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    let states = ["ready", "ready", "ready", "revoked", "expired", "pending", "denied", "failed", "cancelled", "ready"];
    let stages = ["test", "staging", "pre-production", "production"];
    let granted_total =
        GRANTS / states.len() * states.iter().filter(|s| !matches!(**s, "pending" | "denied" | "cancelled")).count();
    let (per_grant, with_one_more) = (CREDENTIALS / granted_total, CREDENTIALS % granted_total);
    let mut granted_so_far = 0;
    for n in 0..GRANTS {
        let id = format!("grant-{n:05}");
        let state = states[n % states.len()];
        let created = now - TimeDelta::minutes((GRANTS - n) as i64 * 50);
        let granted = !matches!(state, "pending" | "denied" | "cancelled");
        let expires = granted.then(|| created + TimeDelta::days(90));
        sqlx::query(
            "INSERT INTO requests (id, namespace, purpose, stage, helm_mode, quota_profile, lifetime_days,
                                   requester_id, state, created_at, updated_at, ready_at, expires_at)
             VALUES ($1, $2, 'Jenkins deploys the team''s services here', $3, $4, 'small', 90, $5, $6, $7, $7, $8, $9)",
        )
        .bind(&id)
        .bind(format!("team-{n:05}"))
        .bind(stages[n % stages.len()])
        .bind(if n % 3 == 0 { "tiller" } else { "none" })
        .bind(format!("owner-{:03}", n % OWNERS))
        .bind(state)
        .bind(created)
        .bind(granted.then_some(created))
        .bind(expires)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO audit_events (request_id, actor_id, action, from_state, to_state, reason, at)
             VALUES ($1, $2, 'submit', NULL, 'pending', NULL, $3), ($1, 'owner-000', 'approve', 'pending', 'approved', NULL, $3),
                    ($1, NULL, 'mark_ready', 'provisioning', 'ready', NULL, $3)",
        )
        .bind(&id)
        .bind(format!("owner-{:03}", n % OWNERS))
        .bind(created)
        .execute(&mut *tx)
        .await
        .unwrap();
        if !granted {
            continue;
        }
        let count = per_grant + usize::from(granted_so_far < with_one_more);
        granted_so_far += 1;
        for c in 0..count {
            let credential = format!("{id}-c{c}");
            let issued = created + TimeDelta::hours(c as i64);
            let revoked = (c == 0).then_some(issued + TimeDelta::hours(1));
            sqlx::query(
                "INSERT INTO credentials (id, request_id, owner_id, purpose, name, issued_at, expires_at, revoked_at,
                                          revoked_by, revoke_reason, anchor_deleted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8)",
            )
            .bind(&credential)
            .bind(&id)
            .bind(format!("owner-{:03}", n % OWNERS))
            .bind(if c % 2 == 0 { "personal" } else { "ci" })
            .bind(if c % 2 == 0 { "personal".to_string() } else { format!("jenkins-{c}") })
            .bind(issued)
            .bind(issued + TimeDelta::hours(8))
            .bind(revoked)
            .bind(revoked.map(|_| format!("owner-{:03}", n % OWNERS)))
            .bind(revoked.map(|_| "rotated"))
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO audit_events (request_id, actor_id, action, from_state, to_state, reason, at, credential_id)
                 VALUES ($1, $2, 'issue_credential', 'ready', 'ready', 'personal', $3, $4)",
            )
            .bind(&id)
            .bind(format!("owner-{:03}", n % OWNERS))
            .bind(issued)
            .bind(&credential)
            .execute(&mut *tx)
            .await
            .unwrap();
            if let Some(at) = revoked {
                sqlx::query(
                    "INSERT INTO audit_events (request_id, actor_id, action, from_state, to_state, reason, at, credential_id)
                     VALUES ($1, $2, 'revoke_credential', 'ready', 'ready', 'rotated', $3, $4)",
                )
                .bind(&id)
                .bind(format!("owner-{:03}", n % OWNERS))
                .bind(at)
                .bind(&credential)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
}
