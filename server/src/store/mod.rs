//! The database: a connection pool, the embedded migrations, and the queries.
//!
//! SQLite by default; the file and its folder are created at first start. Write-ahead logging lets page
//! renders read while the worker writes, and a busy timeout turns brief lock contention into a short wait
//! instead of an error.

pub mod users;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

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
}

/// What identifies this installation of Berth; created with the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub async fn open(config: &DatabaseConfig) -> Result<Self> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Answers whether the database can run a query now; used by `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// This installation's identity, created on first call and the same ever after (also when several
    /// servers start at once: the insert is a no-op for all but the first).
    pub async fn installation(&self, new_id: &str, now: DateTime<Utc>) -> Result<Installation> {
        sqlx::query(
            "INSERT INTO installation (singleton, id, created_at) VALUES (1, ?, ?) ON CONFLICT (singleton) DO NOTHING",
        )
        .bind(new_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let (id, created_at) =
            sqlx::query_as::<_, (String, DateTime<Utc>)>("SELECT id, created_at FROM installation WHERE singleton = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(Installation { id, created_at })
    }

    /// The session store on the same database. Its table is created here (the crate's own migration, which is
    /// idempotent) so that sessions and data share one schema lifecycle.
    pub async fn session_store(&self) -> Result<tower_sessions_sqlx_store::SqliteStore> {
        let store = tower_sessions_sqlx_store::SqliteStore::new(self.pool.clone());
        store.migrate().await?;
        Ok(store)
    }

    /// Closes the pool, waiting for open connections to finish; called at shutdown so the WAL is checkpointed.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
