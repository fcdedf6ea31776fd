//! The metadata of every kubeconfig handed out. The token itself is never stored: what is here says who has
//! a credential for which grant until when, and lets an admin revoke it (its anchor Secret is named after
//! the id).

use app::requests::credentials::{CredentialPurpose, CredentialSummary};
use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, on_pool};

/// A credential about to be recorded.
#[derive(Debug, Clone)]
pub struct NewCredential<'a> {
    pub id: &'a str,
    pub request_id: &'a str,
    pub owner_id: &'a str,
    pub purpose: CredentialPurpose,
    pub name: &'a str,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: String,
    purpose: String,
    name: String,
    owner: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<CredentialRow> for CredentialSummary {
    type Error = StoreError;

    fn try_from(row: CredentialRow) -> Result<Self> {
        Ok(CredentialSummary {
            purpose: CredentialPurpose::parse(&row.purpose)
                .ok_or_else(|| StoreError::Corrupt(format!("credentials.purpose holds {:?}", row.purpose)))?,
            id: row.id,
            name: row.name,
            owner: row.owner,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

impl Store {
    pub async fn record_credential(&self, credential: &NewCredential<'_>) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO credentials (id, request_id, owner_id, purpose, name, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(credential.id)
        .bind(credential.request_id)
        .bind(credential.owner_id)
        .bind(credential.purpose.as_str())
        .bind(credential.name)
        .bind(credential.issued_at)
        .bind(credential.expires_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The credentials of a grant, newest first.
    pub async fn credentials_of(&self, request_id: &str) -> Result<Vec<CredentialSummary>> {
        let rows = on_pool!(self, pool => sqlx::query_as::<_, CredentialRow>(
            "SELECT c.id, c.purpose, c.name, u.display_name AS owner, c.issued_at, c.expires_at, c.revoked_at
             FROM credentials c JOIN users u ON u.id = c.owner_id
             WHERE c.request_id = $1 ORDER BY c.issued_at DESC, c.id",
        )
        .bind(request_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(CredentialSummary::try_from).collect()
    }
}
