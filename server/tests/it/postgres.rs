//! The same server on PostgreSQL, the production database: sessions (tower-sessions' PostgreSQL store) and
//! the users table, through a whole sign-in and sign-out, and data that survives a restart.
//!
//! Needs `TEST_POSTGRES_URL` (a superuser URL; `scripts/test.sh` starts a throw-away server); each test
//! creates a database of its own.

use app::admin::UserSummary;
use app::auth::{Role, SessionView};
use sqlx::Connection;

use crate::support::{Browser, TestServer};

const POSTGRES_ENV: &str = "TEST_POSTGRES_URL";

/// A new, empty database on the test server; its URL.
pub(crate) async fn fresh_database() -> String {
    let admin = crate::support::service(POSTGRES_ENV, "postgres");
    let name = format!("berth_test_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

async fn start_on(dir: &tempfile::TempDir, url: &str) -> TestServer {
    let url = url.to_string();
    TestServer::start_with(dir, move |config| config.database.url = url).await
}

#[tokio::test]
async fn sign_in_sessions_and_users_work_on_postgresql() {
    let url = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(&dir, &url).await;

    let carol = Browser::new();
    let answer = carol.sign_in(&server, "carol", "/admin").await;
    assert_eq!(answer.headers()["location"], "/admin");
    assert!(matches!(carol.session(&server).await, SessionView::SignedIn(_, Role::Admin)));
    let alice = Browser::new();
    alice.sign_in(&server, "alice", "/").await;
    alice.sign_in(&server, "alice", "/").await;

    let users: Vec<UserSummary> = carol.call(&server, "users").await.json().await.unwrap();
    let mut subjects: Vec<_> = users.iter().map(|u| u.subject.as_str()).collect();
    subjects.sort();
    assert_eq!(subjects, ["alice", "carol"], "one row per person however often they sign in");

    let out = carol.http.post(server.url("/auth/logout")).header("origin", &server.base).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(carol.session(&server).await, SessionView::Anonymous);
    assert!(matches!(alice.session(&server).await, SessionView::SignedIn(_, Role::Developer)), "others unaffected");
    server.stop().await;

    // Sessions live in the database, not the process: a restarted server (another port; cookies ignore ports)
    // still knows alice, as another replica would.
    let restarted = start_on(&dir, &url).await;
    assert!(matches!(alice.session(&restarted).await, SessionView::SignedIn(_, Role::Developer)));
    restarted.stop().await;
}
