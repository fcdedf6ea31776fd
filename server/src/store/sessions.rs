//! The session store on whichever database is open: `tower-sessions-sqlx-store`'s SQLite or PostgreSQL
//! store, behind one type so the session layer does not depend on the backend.

use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Debug, Clone)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

#[async_trait::async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.create(record).await,
            Self::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.save(record).await,
            Self::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(store) => store.load(id).await,
            Self::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete(id).await,
            Self::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete_expired().await,
            Self::Postgres(store) => store.delete_expired().await,
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
