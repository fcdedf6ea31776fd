//! The session store on whichever database is open: `tower-sessions-sqlx-store`'s SQLite or PostgreSQL
//! store, behind one type so the session layer does not depend on the backend, with the records read in the
//! last few seconds kept in memory.
//!
//! Why the memory: every page view loads its session, and that SELECT was a third of a page's statements.
//! Writes go through to the database and to the memory at once, so this replica never serves a record older
//! than its own last write. What another replica does reaches this one within [`RECENT_FOR`]: a sign-out there
//! (the record deleted) still lets this replica answer that cookie for up to that long. Roles are read at
//! sign-in, so no role change waits on it; kubeconfig revocation does not involve sessions at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// How long a record read from (or written to) the database is served from memory.
pub const RECENT_FOR: Duration = Duration::from_secs(5);
/// At most this many records are kept; past it, the memory is emptied (the database still has them all).
const RECENT_CAPACITY: usize = 10_000;

#[derive(Debug, Clone)]
enum DatabaseSessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

#[derive(Debug, Clone)]
pub struct SessionBackend {
    database: DatabaseSessions,
    recent: Arc<Mutex<HashMap<Id, (Record, Instant)>>>,
}

impl SessionBackend {
    pub fn sqlite(store: SqliteStore) -> Self {
        Self { database: DatabaseSessions::Sqlite(store), recent: Arc::default() }
    }

    pub fn postgres(store: PostgresStore) -> Self {
        Self { database: DatabaseSessions::Postgres(store), recent: Arc::default() }
    }

    fn remember(&self, record: &Record) {
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() >= RECENT_CAPACITY {
            recent.clear();
        }
        recent.insert(record.id, (record.clone(), Instant::now()));
    }

    fn forget(&self, id: &Id) {
        self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }

    /// The record of `id` if it was read or written less than [`RECENT_FOR`] ago and has not expired.
    fn recently_seen(&self, id: &Id) -> Option<Record> {
        let recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (record, seen) = recent.get(id)?;
        let fresh = seen.elapsed() < RECENT_FOR && record.expiry_date > time::OffsetDateTime::now_utc();
        fresh.then(|| record.clone())
    }
}

#[async_trait::async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.database {
            DatabaseSessions::Sqlite(store) => store.create(record).await,
            DatabaseSessions::Postgres(store) => store.create(record).await,
        }?;
        self.remember(record);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // Forgotten first: if the write fails, the next load reads the database rather than this record.
        self.forget(&record.id);
        match &self.database {
            DatabaseSessions::Sqlite(store) => store.save(record).await,
            DatabaseSessions::Postgres(store) => store.save(record).await,
        }?;
        self.remember(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.recently_seen(id) {
            return Ok(Some(record));
        }
        let loaded = match &self.database {
            DatabaseSessions::Sqlite(store) => store.load(id).await,
            DatabaseSessions::Postgres(store) => store.load(id).await,
        }?;
        match &loaded {
            Some(record) => self.remember(record),
            None => self.forget(id),
        }
        Ok(loaded)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.forget(id);
        match &self.database {
            DatabaseSessions::Sqlite(store) => store.delete(id).await,
            DatabaseSessions::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.database {
            DatabaseSessions::Sqlite(store) => store.delete_expired().await,
            DatabaseSessions::Postgres(store) => store.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::{ExpiredDeletion, SessionStore};

    #[tokio::test]
    async fn a_session_is_kept_until_deleted_or_expired() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let sessions = store.session_store().await.unwrap();
            let expiry = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
            let mut record = Record { id: Id::default(), data: Default::default(), expiry_date: expiry };
            record.data.insert("user".into(), serde_json::json!("u1"));
            sessions.create(&mut record).await.unwrap();
            let loaded = sessions.load(&record.id).await.unwrap().expect("kept");
            assert_eq!(loaded.data["user"], "u1", "{}", store.backend());

            let mut gone = Record {
                id: Id::default(),
                data: Default::default(),
                expiry_date: time::OffsetDateTime::now_utc() - time::Duration::seconds(1),
            };
            sessions.create(&mut gone).await.unwrap();
            sessions.delete_expired().await.unwrap();
            assert!(sessions.load(&gone.id).await.unwrap().is_none(), "{}: expired sessions go", store.backend());
            sessions.delete(&record.id).await.unwrap();
            assert!(
                sessions.load(&record.id).await.unwrap().is_none(),
                "{}: a deleted session is gone",
                store.backend()
            );
        }
    }
}
