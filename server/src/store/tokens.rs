//! Tokens of the machine API. A token reads `berth_<id>_<secret>`: the id finds its row, the secret is
//! checked against the SHA-256 kept there (the secret itself is never stored, so the database alone lets
//! nobody call the API). Made, revoked and refused tokens are in the grant's audit trail.

use app::requests::Action;
use app::requests::members::ApiTokenSummary;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{NewEvent, Result, Store, append_event, on_pool};

/// What a token acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Made by a grant's owner for one of its robots.
    Robot,
    /// Made by the command line's sign-in for a person.
    Person,
    /// Exchanged for a CI system's OIDC token under a trust rule; acts as the rule's robot.
    Federated,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Robot => "robot",
            TokenKind::Person => "person",
            TokenKind::Federated => "federated",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [TokenKind::Robot, TokenKind::Person, TokenKind::Federated].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A token just made: its record, and the whole token to show once.
pub struct MadeToken {
    pub id: String,
    pub token: SecretString,
}

/// A token to record.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub kind: TokenKind,
    pub robot_id: Option<&'a str>,
    pub person_id: Option<&'a str>,
    pub name: &'a str,
    pub created_by: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The grant whose audit trail records it (a robot's); `None` for a person's token.
    pub request_id: Option<&'a str>,
    /// How the audit trail records it: [`Action::CreateApiToken`] by its creator, or
    /// [`Action::ExchangeFederatedToken`] by the trust rule named here.
    pub by_rule: Option<&'a str>,
}

/// A stored token, as the API's authentication needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub kind: TokenKind,
    pub robot_id: Option<String>,
    pub person_id: Option<String>,
    pub name: String,
    /// Who made it: the grant's owner or an admin for a robot's token, the person for theirs; `None` for a
    /// federated token (Berth made it).
    pub created_by: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    kind: String,
    secret_hash: String,
    robot_id: Option<String>,
    person_id: Option<String>,
    name: String,
    created_by: Option<String>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: String,
    robot_id: Option<String>,
    name: String,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Why a presented token was not accepted (all of them answer 401 alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefused {
    /// Not `berth_<id>_<secret>`, no such id, or the wrong secret.
    Unknown,
    Expired,
    Revoked,
}

/// The hex SHA-256 of `secret`.
fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// 32 random bytes from the operating system, as URL-safe base64 (43 characters).
fn new_secret() -> Result<String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|error| super::StoreError::Corrupt(format!("no randomness: {error}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Compares two equally long strings in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

impl Store {
    /// Records a new token and returns it whole (the only time its secret exists outside the caller).
    pub async fn make_token(&self, new: &NewToken<'_>) -> Result<MadeToken> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = new_secret()?;
        let hash = digest(&secret);
        let what = format!("{} (until {})", new.name, new.expires_at.format("%Y-%m-%d %H:%M UTC"));
        let action = if new.by_rule.is_some() { Action::ExchangeFederatedToken } else { Action::CreateApiToken };
        on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO api_tokens (id, kind, secret_hash, robot_id, person_id, name, created_by, created_at,
                                         expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(new.kind.as_str())
            .bind(&hash)
            .bind(new.robot_id)
            .bind(new.person_id)
            .bind(new.name)
            .bind(new.created_by)
            .bind(new.created_at)
            .bind(new.expires_at)
            .execute(&mut *tx)
            .await?;
            if let Some(request_id) = new.request_id {
                let mut event =
                    NewEvent::record(request_id, new.created_by, action, new.created_at).reason(Some(what.as_str()));
                event.actor_rule = new.by_rule;
                append_event!(&mut *tx, &event).await?;
            }
            tx.commit().await
        }
        .await)?;
        Ok(MadeToken { token: SecretString::from(format!("berth_{id}_{secret}")), id })
    }

    /// The token `presented` stands for, if it is one Berth made, in force at `now`; its last use is noted.
    pub async fn token_in_force(
        &self,
        presented: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<TokenRecord, TokenRefused>> {
        let Some((id, secret)) = presented.expose_secret().strip_prefix("berth_").and_then(|rest| rest.split_once('_'))
        else {
            return Ok(Err(TokenRefused::Unknown));
        };
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Err(TokenRefused::Unknown));
        }
        let row = on_pool!(self, pool => sqlx::query_as::<_, TokenRow>(
            "SELECT id, kind, secret_hash, robot_id, person_id, name, created_by, expires_at, revoked_at
             FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let Some(row) = row.filter(|row| same(&row.secret_hash, &digest(secret))) else {
            return Ok(Err(TokenRefused::Unknown));
        };
        if row.revoked_at.is_some() {
            return Ok(Err(TokenRefused::Revoked));
        }
        if row.expires_at <= now {
            return Ok(Err(TokenRefused::Expired));
        }
        on_pool!(self, pool => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&row.id)
            .execute(pool)
            .await
            .map(drop))?;
        let kind = TokenKind::parse(&row.kind)
            .ok_or_else(|| super::StoreError::Corrupt(format!("api_tokens.kind holds {:?}", row.kind)))?;
        Ok(Ok(TokenRecord {
            id: row.id,
            kind,
            robot_id: row.robot_id,
            person_id: row.person_id,
            name: row.name,
            created_by: row.created_by,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }))
    }

    /// Records in grant `request_id`'s audit trail that a CI system's token matched no trust rule.
    pub async fn note_refused_federation(&self, request_id: &str, reason: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => async {
            let event = NewEvent::record(request_id, None, Action::RefuseFederatedToken, at).reason(Some(reason));
            append_event!(pool, &event).await.map(drop)
        }
        .await)?;
        Ok(())
    }

    /// The robot tokens of grant `request_id`'s robots, newest first (federated ones are not listed: they
    /// live minutes).
    pub async fn robot_tokens_of(&self, request_id: &str) -> Result<Vec<(String, ApiTokenSummary)>> {
        let rows = on_pool!(self, pool => sqlx::query_as::<_, SummaryRow>(
            "SELECT t.id, t.robot_id, t.name, u.display_name AS created_by, t.created_at, t.expires_at,
                    t.last_used_at, t.revoked_at
             FROM api_tokens t JOIN robots b ON b.id = t.robot_id LEFT JOIN users u ON u.id = t.created_by
             WHERE b.request_id = $1 AND t.kind = 'robot' ORDER BY t.created_at DESC, t.id",
        )
        .bind(request_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    row.robot_id.unwrap_or_default(),
                    ApiTokenSummary {
                        id: row.id,
                        name: row.name,
                        created_by: row.created_by.unwrap_or_default(),
                        created_at: row.created_at,
                        expires_at: row.expires_at,
                        last_used_at: row.last_used_at,
                        revoked_at: row.revoked_at,
                    },
                )
            })
            .collect())
    }

    /// Revokes token `id` of robot `robot_id` (grant `request_id`), recorded in the grant's audit trail;
    /// `false` if it was revoked already (or is not that robot's).
    pub async fn revoke_robot_token(
        &self,
        request_id: &str,
        robot_id: &str,
        id: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let revoked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let name: Option<String> = sqlx::query_scalar(
                "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2
                 WHERE id = $3 AND robot_id = $4 AND revoked_at IS NULL RETURNING name",
            )
            .bind(at)
            .bind(by)
            .bind(id)
            .bind(robot_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(name) = name else {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            };
            let event = NewEvent::record(request_id, Some(by), Action::RevokeApiToken, at).reason(Some(name.as_str()));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(revoked)
    }

    /// Revokes every token that acts as robot `robot_id` (it was removed, or its grant ended).
    pub async fn revoke_tokens_of_robot(&self, robot_id: &str, at: DateTime<Utc>) -> Result<u64> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE robot_id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(robot_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_kept_as_its_sha_256_and_compared_whole() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        let secret = new_secret().unwrap();
        assert_eq!(secret.len(), 43);
        assert_ne!(secret, new_secret().unwrap());
    }
}
