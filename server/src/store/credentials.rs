//! The metadata of every kubeconfig handed out. The token itself is never stored: what is here says who has
//! a credential for which grant until when, and lets an admin revoke it (its anchor Secret is named after
//! the id).

use app::requests::credentials::{CredentialPurpose, CredentialSummary};
use chrono::{DateTime, Utc};

use app::requests::Action;

use super::{NewEvent, Result, Store, StoreError, append_event, on_pool};

/// A credential about to be recorded.
#[derive(Debug, Clone)]
pub struct NewCredential<'a> {
    pub id: &'a str,
    pub request_id: &'a str,
    pub owner_id: &'a str,
    pub purpose: CredentialPurpose,
    pub name: &'a str,
    /// The robot whose kubeconfig it is; `None`: the owner's own.
    pub robot_id: Option<&'a str>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored credential with what the workflow needs besides what pages show.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRecord {
    pub summary: CredentialSummary,
    pub request_id: String,
    pub owner_id: String,
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: String,
    request_id: String,
    owner_id: String,
    purpose: String,
    name: String,
    owner: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoker: Option<String>,
    revoke_reason: Option<String>,
    robot_id: Option<String>,
}

const SELECT_CREDENTIALS: &str = "
    SELECT c.id, c.request_id, c.owner_id, c.purpose, c.name, u.display_name AS owner, c.issued_at,
           c.expires_at, c.revoked_at, r.display_name AS revoker, c.revoke_reason, c.robot_id
    FROM credentials c
    JOIN users u ON u.id = c.owner_id
    LEFT JOIN users r ON r.id = c.revoked_by";

impl TryFrom<CredentialRow> for CredentialRecord {
    type Error = StoreError;

    fn try_from(row: CredentialRow) -> Result<Self> {
        Ok(CredentialRecord {
            summary: CredentialSummary {
                purpose: CredentialPurpose::parse(&row.purpose)
                    .ok_or_else(|| StoreError::Corrupt(format!("credentials.purpose holds {:?}", row.purpose)))?,
                id: row.id,
                name: row.name,
                owner_id: row.owner_id.clone(),
                owner: row.owner,
                robot_id: row.robot_id,
                issued_at: row.issued_at,
                expires_at: row.expires_at,
                revoked_at: row.revoked_at,
                revoked_by: row.revoker,
                revoke_reason: row.revoke_reason,
            },
            request_id: row.request_id,
            owner_id: row.owner_id,
        })
    }
}

impl Store {
    /// Records a credential just issued, and its record in the grant's audit trail, in one transaction.
    pub async fn record_credential(&self, credential: &NewCredential<'_>) -> Result<()> {
        let what = match credential.purpose {
            CredentialPurpose::Personal => {
                format!("personal, until {}", credential.expires_at.format("%Y-%m-%d %H:%M UTC"))
            }
            CredentialPurpose::Ci => {
                format!("CI: {}, until {}", credential.name, credential.expires_at.format("%Y-%m-%d %H:%M UTC"))
            }
        };
        on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO credentials (id, request_id, owner_id, purpose, name, issued_at, expires_at, robot_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(credential.id)
            .bind(credential.request_id)
            .bind(credential.owner_id)
            .bind(credential.purpose.as_str())
            .bind(credential.name)
            .bind(credential.issued_at)
            .bind(credential.expires_at)
            .bind(credential.robot_id)
            .execute(&mut *tx)
            .await?;
            let event = NewEvent::record(credential.request_id, Some(credential.owner_id), Action::IssueCredential,
                credential.issued_at).credential(credential.id).reason(Some(what.as_str()));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// The credentials of a grant, newest first.
    pub async fn credentials_of(&self, request_id: &str) -> Result<Vec<CredentialSummary>> {
        let query = format!("{SELECT_CREDENTIALS} WHERE c.request_id = $1 ORDER BY c.issued_at DESC, c.id");
        let rows = on_pool!(self, pool => sqlx::query_as::<_, CredentialRow>(&query)
            .bind(request_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(|row| CredentialRecord::try_from(row).map(|record| record.summary)).collect()
    }

    /// The credentials of each of `request_ids` (one page of the dashboard), newest first, in one query.
    pub async fn credentials_of_grants(
        &self,
        request_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<CredentialSummary>>> {
        let mut by_grant: std::collections::HashMap<String, Vec<CredentialSummary>> = Default::default();
        if request_ids.is_empty() {
            return Ok(by_grant);
        }
        let placeholders: Vec<String> = (1..=request_ids.len()).map(|n| format!("${n}")).collect();
        let query = format!(
            "{SELECT_CREDENTIALS} WHERE c.request_id IN ({}) ORDER BY c.issued_at DESC, c.id",
            placeholders.join(", ")
        );
        let rows = on_pool!(self, pool => {
            let mut select = sqlx::query_as::<_, CredentialRow>(&query);
            for id in request_ids {
                select = select.bind(id.as_str());
            }
            select.fetch_all(pool).await
        })?;
        for row in rows {
            let record = CredentialRecord::try_from(row)?;
            by_grant.entry(record.request_id).or_default().push(record.summary);
        }
        Ok(by_grant)
    }

    pub async fn credential(&self, id: &str) -> Result<Option<CredentialRecord>> {
        let query = format!("{SELECT_CREDENTIALS} WHERE c.id = $1");
        let row =
            on_pool!(self, pool => sqlx::query_as::<_, CredentialRow>(&query).bind(id).fetch_optional(pool).await)?;
        row.map(CredentialRecord::try_from).transpose()
    }

    /// Marks the credential revoked, if it is not yet, with its record in the grant's audit trail. `false`: it
    /// already was (whoever came first is kept, and nothing is written).
    pub async fn revoke_credential(&self, id: &str, by: &str, reason: &str, at: DateTime<Utc>) -> Result<bool> {
        let revoked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let request_id: Option<String> = sqlx::query_scalar(
                "UPDATE credentials SET revoked_at = $1, revoked_by = $2, revoke_reason = $3
                 WHERE id = $4 AND revoked_at IS NULL RETURNING request_id",
            )
            .bind(at)
            .bind(by)
            .bind(reason)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(request_id) = request_id else {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            };
            let event = NewEvent::record(&request_id, Some(by), Action::RevokeCredential, at)
                .credential(id)
                .reason(Some(reason));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(revoked)
    }

    /// Revoked credentials whose anchor Secret is still to be deleted, oldest revocation first.
    pub async fn anchors_to_delete(&self, limit: u32) -> Result<Vec<String>> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND anchor_deleted_at IS NULL
             ORDER BY revoked_at, id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?)
    }

    /// Records that the credential's anchor Secret is gone (its token with it).
    pub async fn mark_anchor_deleted(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE credentials SET anchor_deleted_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Marks every credential of a grant still in force revoked by Berth (its anchor already deleted with
    /// the grant's access), giving `reason`.
    pub async fn revoke_credentials_of(&self, request_id: &str, reason: &str, at: DateTime<Utc>) -> Result<u64> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE credentials SET revoked_at = $1, revoke_reason = $2, anchor_deleted_at = $1
             WHERE request_id = $3 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(reason)
        .bind(request_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}

#[cfg(test)]
mod tests {
    use app::auth::Role;
    use app::requests::credentials::CredentialPurpose;
    use app::requests::{Action, RequestState};
    use chrono::TimeDelta;

    use super::NewCredential;
    use crate::store::testing::{at, person, ready};

    #[tokio::test]
    async fn a_credential_is_recorded_revoked_once_and_its_anchor_deleted_once() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            let carol = person(&store, "carol", Role::Admin).await;
            let grant = ready(&store, "team-a", &alice).await;
            for (id, purpose, name) in
                [("c1", CredentialPurpose::Personal, "personal"), ("c2", CredentialPurpose::Ci, "jenkins")]
            {
                let credential = NewCredential {
                    id,
                    request_id: &grant.summary.id,
                    owner_id: &alice,
                    purpose,
                    name,
                    robot_id: None,
                    issued_at: at(10),
                    expires_at: at(10) + TimeDelta::hours(8),
                };
                store.record_credential(&credential).await.unwrap();
            }
            let listed = store.credentials_of(&grant.summary.id).await.unwrap();
            assert_eq!(listed.len(), 2, "{}", store.backend());
            assert_eq!(store.credential("c2").await.unwrap().map(|c| c.owner_id), Some(alice.clone()));
            let by_grant = store.credentials_of_grants(std::slice::from_ref(&grant.summary.id)).await.unwrap();
            assert_eq!(by_grant[&grant.summary.id].len(), 2);

            assert!(store.revoke_credential("c1", &carol, "lost laptop", at(11)).await.unwrap());
            assert!(!store.revoke_credential("c1", &carol, "again", at(12)).await.unwrap(), "revoked once");
            assert_eq!(store.anchors_to_delete(10).await.unwrap(), ["c1"]);
            store.mark_anchor_deleted("c1", at(12)).await.unwrap();
            assert!(store.anchors_to_delete(10).await.unwrap().is_empty());

            assert_eq!(
                store.revoke_credentials_of(&grant.summary.id, "the grant was revoked", at(13)).await.unwrap(),
                1
            );
            let events = store.events(&grant.summary.id).await.unwrap();
            let actions: Vec<Action> = events.iter().map(|e| e.action).collect();
            assert_eq!(
                actions.iter().filter(|a| **a == Action::IssueCredential).count(),
                2,
                "{}: {actions:?}",
                store.backend()
            );
            let revoked = events.iter().find(|e| e.action == Action::RevokeCredential).unwrap();
            assert_eq!(
                (revoked.from, revoked.to),
                (Some(RequestState::Ready), RequestState::Ready),
                "a record, not a move"
            );
            assert_eq!(revoked.reason.as_deref(), Some("lost laptop"));
        }
    }
}
