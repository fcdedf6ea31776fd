//! The database: a connection pool, the embedded migrations, and the queries.
//!
//! Two backends, chosen by the URL's scheme: SQLite (`sqlite:`, the embedded default; the file and its folder
//! are created at first start; write-ahead logging lets page renders read while others write, and a busy
//! timeout turns brief lock contention into a short wait) and PostgreSQL (`postgres:`, for several replicas).
//! Each has its own migrations folder (`migrations/sqlite`, `migrations/postgres`) with the same schema in
//! its dialect. Queries are written once in the SQL both understand (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`) and run on whichever pool is open, through [`on_pool!`]; the tests run them on both.

pub mod admin;
pub mod approvals;
pub mod credentials;
pub mod gauges;
pub mod grants;
pub mod leader;
pub mod members;
pub mod provisioning;
pub mod queue;
pub mod requests;
pub mod sessions;
#[cfg(test)]
pub(crate) mod testing;
pub mod tokens;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use app::requests::{Action, RequestState};
use chrono::{DateTime, Utc};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::config::DatabaseConfig;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database folder {path}")]
    CreateFolder { path: String, source: std::io::Error },
    #[error("cannot open the database")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply the database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    /// A value in the database that this version of Berth does not know (a newer version wrote it, or
    /// someone edited the table by hand).
    #[error("unexpected data in the database: {0}")]
    Corrupt(String),
}

/// What identifies this installation of Berth; created with the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool is open. The body is compiled once per backend, so a
/// query that does not type-check for one of them fails the build.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The placeholders of a list of `count` parameters numbered from `first`, for `IN (...)`: `$2, $3, $4`.
/// `None` for an empty list (`IN ()` is not SQL).
pub(crate) fn placeholders(first: usize, count: usize) -> Option<String> {
    (count > 0).then(|| (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "))
}

/// One line of a request's audit trail, as it is appended: by [`append_event!`], the one way every part of
/// the store writes to `audit_events`, always in the transaction of the change it records.
pub(crate) struct NewEvent<'a> {
    pub request_id: &'a str,
    /// `None`: Berth itself (the worker), or the rule in `actor_rule`.
    pub actor_id: Option<&'a str>,
    /// The decision policy's auto-approval rule that acted (its name), where no person did.
    pub actor_rule: Option<&'a str>,
    pub action: Action,
    /// A change of state, `(from, to)` (`from` is `None` for the submission); `None` for a record that changes
    /// no state (a download, a drift correction): the request's state at that moment is both.
    pub moved: Option<(Option<RequestState>, RequestState)>,
    pub credential_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl<'a> NewEvent<'a> {
    /// A record of `action` by `actor_id` on `request_id` at `at`, changing no state.
    pub fn record(request_id: &'a str, actor_id: Option<&'a str>, action: Action, at: DateTime<Utc>) -> Self {
        Self { request_id, actor_id, actor_rule: None, action, moved: None, credential_id: None, reason: None, at }
    }

    /// Done by the auto-approval rule named `rule`.
    pub fn by_rule(self, rule: &'a str) -> Self {
        Self { actor_id: None, actor_rule: Some(rule), ..self }
    }

    pub fn reason(self, reason: Option<&'a str>) -> Self {
        Self { reason, ..self }
    }

    pub fn credential(self, credential_id: &'a str) -> Self {
        Self { credential_id: Some(credential_id), ..self }
    }

    pub fn moved(self, from: Option<RequestState>, to: RequestState) -> Self {
        Self { moved: Some((from, to)), ..self }
    }
}

/// Which stages' requests a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageFilter<'a> {
    All,
    Only(&'a [String]),
    Except(&'a [String]),
}

impl StageFilter<'_> {
    /// Appends the condition on `r.stage` (`AND ...`), if any, binding each stage.
    pub(crate) fn push_to<'q, DB: sqlx::Database>(&self, query: &mut sqlx::QueryBuilder<'q, DB>)
    where
        String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let (stages, operator) = match self {
            StageFilter::All => return,
            StageFilter::Only(stages) => (*stages, "IN"),
            StageFilter::Except(stages) => (*stages, "NOT IN"),
        };
        if stages.is_empty() {
            // Nothing is in an empty list, and everything is outside it.
            if operator == "IN" {
                query.push(" AND 1 = 0");
            }
            return;
        }
        query.push(format!(" AND r.stage {operator} ("));
        let mut list = query.separated(", ");
        for stage in stages {
            list.push_bind(stage.clone());
        }
        query.push(")");
    }
}

/// Appends `$event` (a [`NewEvent`]) through `$executor`, a pool or `&mut *tx` of either backend; a future of
/// the query's result.
macro_rules! append_event {
    ($executor:expr, $event:expr) => {{
        let event: &$crate::store::NewEvent<'_> = $event;
        let executor = $executor;
        async move {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO audit_events (request_id, actor_id, actor_rule, action, from_state, to_state, reason, \
                 at, credential_id) SELECT id, ",
            );
            insert.push_bind(event.actor_id).push(", ").push_bind(event.actor_rule).push(", ");
            insert.push_bind(event.action.as_str()).push(", ");
            match event.moved {
                Some((from, to)) => {
                    insert.push_bind(from.map(|state| state.as_str())).push(", ").push_bind(to.as_str());
                }
                None => {
                    insert.push("state, state");
                }
            }
            insert.push(", ").push_bind(event.reason).push(", ").push_bind(event.at).push(", ");
            insert.push_bind(event.credential_id).push(" FROM requests WHERE id = ").push_bind(event.request_id);
            insert.build().execute(executor).await
        }
    }};
}
pub(crate) use append_event;

impl Store {
    /// Opens (creating a SQLite file if needed) the database and brings its schema up to date.
    pub async fn open(config: &DatabaseConfig) -> Result<Self> {
        let pool = if config.url.starts_with("postgres:") || config.url.starts_with("postgresql:") {
            let pool = open_postgres(config).await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            Pool::Sqlite(open_sqlite(config).await?)
        };
        Ok(Self { pool })
    }

    /// `sqlite` or `postgres`, for logs.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Answers whether the database can run a query now; used by `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// This installation's identity, created on first call and the same ever after (also when several
    /// servers start at once: the insert is a no-op for all but the first).
    pub async fn installation(&self, new_id: &str, now: DateTime<Utc>) -> Result<Installation> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO installation (singleton, id, created_at) VALUES (1, $1, $2) \
                 ON CONFLICT (singleton) DO NOTHING",
            )
            .bind(new_id)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })?;
        let (id, created_at) = on_pool!(self, pool => {
            sqlx::query_as::<_, (String, DateTime<Utc>)>("SELECT id, created_at FROM installation WHERE singleton = 1")
                .fetch_one(pool)
                .await
        })?;
        Ok(Installation { id, created_at })
    }

    /// The session store on the same database. Its table is created here (the crate's own migration, which is
    /// idempotent) so that sessions and data share one schema lifecycle.
    pub async fn session_store(&self) -> Result<sessions::SessionBackend> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                sessions::SessionBackend::sqlite(store)
            }
            Pool::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                store.migrate().await?;
                sessions::SessionBackend::postgres(store)
            }
        })
    }

    /// Closes the pool, waiting for open connections to finish; called at shutdown so the WAL is checkpointed.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

async fn open_sqlite(config: &DatabaseConfig) -> Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(&config.url)
        .map_err(StoreError::Connect)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    if let Some(folder) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .map_err(|source| StoreError::CreateFolder { path: folder.display().to_string(), source })?;
    }
    // NB: migrations run on a connection of their own, closed before the pool opens: a migration may edit a
    // table's definition in place (20261202000001_lapsed.sql), which a connection that had already read the
    // schema would not see.
    let mut migrating = SqliteConnection::connect_with(&options).await.map_err(StoreError::Connect)?;
    sqlx::migrate!("../migrations/sqlite").run(&mut migrating).await?;
    migrating.close().await.map_err(StoreError::Connect)?;
    SqlitePoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(StoreError::Connect)
}

async fn open_postgres(config: &DatabaseConfig) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(&config.url).map_err(StoreError::Connect)?;
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(StoreError::Connect)
}

/// Stores for tests that must hold on both backends: a SQLite file in `dir`, and a fresh database on the
/// PostgreSQL server named by `TEST_POSTGRES_URL` (`scripts/test.sh` starts one), or else the one
/// `scripts/fixtures.sh postgres` starts or reuses (plain `cargo test`).
#[cfg(test)]
pub(crate) async fn test_stores(dir: &std::path::Path) -> Vec<Store> {
    use sqlx::Connection as _;
    let sqlite = format!("sqlite://{}", dir.join("berth.db").display());
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        static FIXTURE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        FIXTURE
            .get_or_init(|| {
                let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fixtures.sh");
                let output = std::process::Command::new("bash")
                    .arg(script)
                    .arg("postgres")
                    .stderr(std::process::Stdio::inherit())
                    .output()
                    .expect("runs scripts/fixtures.sh");
                assert!(output.status.success(), "scripts/fixtures.sh postgres failed (see above)");
                String::from_utf8_lossy(&output.stdout).trim().to_string()
            })
            .clone()
    });
    let name = format!("berth_unit_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.expect("create database");
    let postgres = format!("{}/{name}", admin.rsplit_once('/').expect("URL with a database").0);
    let mut stores = Vec::new();
    for url in [sqlite, postgres] {
        stores.push(Store::open(&DatabaseConfig { url, max_connections: 2 }).await.expect("opens"));
    }
    stores
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{Pool, Store, test_stores};

    /// The shape of a database as both backends can describe it: each column with whether it may be empty,
    /// and each index Berth created (not those a primary key or a UNIQUE column makes by itself).
    async fn shape(store: &Store) -> BTreeSet<String> {
        let mut shape = BTreeSet::new();
        match &store.pool {
            Pool::Sqlite(pool) => {
                let columns: Vec<(String, String, bool, i64)> = sqlx::query_as(
                    "SELECT t.name, c.name, c.\"notnull\", c.pk FROM sqlite_master t, pragma_table_info(t.name) c
                     WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite_%' AND t.name <> '_sqlx_migrations'",
                )
                .fetch_all(pool)
                .await
                .unwrap();
                for (table, column, not_null, primary_key) in columns {
                    let nullable = if not_null || primary_key > 0 { "NOT NULL" } else { "NULL" };
                    shape.insert(format!("{table}.{column} {nullable}"));
                }
                let indexes: Vec<(String, String)> =
                    sqlx::query_as("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
                        .fetch_all(pool)
                        .await
                        .unwrap();
                shape.extend(indexes.into_iter().map(|(table, index)| format!("index {table}.{index}")));
            }
            Pool::Postgres(pool) => {
                let columns: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns
                     WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
                )
                .fetch_all(pool)
                .await
                .unwrap();
                for (table, column, nullable) in columns {
                    let nullable = if nullable == "NO" { "NOT NULL" } else { "NULL" };
                    shape.insert(format!("{table}.{column} {nullable}"));
                }
                let indexes: Vec<(String, String)> = sqlx::query_as(
                    "SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = 'public'
                     AND tablename <> '_sqlx_migrations' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
                )
                .fetch_all(pool)
                .await
                .unwrap();
                shape.extend(indexes.into_iter().map(|(table, index)| format!("index {table}.{index}")));
            }
        }
        shape
    }

    #[tokio::test]
    async fn both_migration_folders_make_the_same_tables_columns_and_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let stores = test_stores(dir.path()).await;
        let (sqlite, postgres) = (shape(&stores[0]).await, shape(&stores[1]).await);
        // 80 columns and 15 indexes today: the query sees them all.
        assert!(sqlite.len() > 75 && sqlite.iter().filter(|line| line.starts_with("index ")).count() >= 15);
        let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
        let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
        assert!(
            only_sqlite.is_empty() && only_postgres.is_empty(),
            "SQLite only: {only_sqlite:?}\nPostgreSQL only: {only_postgres:?}"
        );
    }

    #[tokio::test]
    async fn the_installation_id_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let now = crate::clock::Clock::system().now();
            let first = store.installation("first", now).await.unwrap();
            let second = store.installation("second", now).await.unwrap();
            assert_eq!((first.id.as_str(), second.id.as_str()), ("first", "first"), "{}", store.backend());
        }
    }
}
