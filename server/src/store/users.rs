//! The users table: who has signed in, and with which role.

use app::admin::UserSummary;
use app::auth::Role;
use chrono::{DateTime, Utc};

use super::{Result, Store, on_pool};

/// A successful sign-in, as recorded.
#[derive(Debug, Clone)]
pub struct SignIn<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub display_name: &'a str,
    pub role: Option<Role>,
    /// All the groups the provider listed: the decision policy's approvals are by group.
    pub groups: &'a [String],
    pub at: DateTime<Utc>,
}

impl Store {
    /// Creates the person's row at their first sign-in, updates name, email, role, groups and last sign-in at later
    /// ones; returns their id. One statement, so two simultaneous first sign-ins cannot create two rows.
    pub async fn record_sign_in(&self, sign_in: &SignIn<'_>) -> Result<String> {
        let id: String = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO users (id, issuer, subject, email, display_name, role, groups, first_sign_in_at,
                                last_sign_in_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (issuer, subject) DO UPDATE SET
                 email = excluded.email,
                 display_name = excluded.display_name,
                 role = excluded.role,
                 groups = excluded.groups,
                 last_sign_in_at = excluded.last_sign_in_at
             RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(sign_in.issuer)
        .bind(sign_in.subject)
        .bind(sign_in.email)
        .bind(sign_in.display_name)
        .bind(sign_in.role.map(Role::as_str))
        .bind(groups_to_column(sign_in.groups))
        .bind(sign_in.at)
        .fetch_one(pool)
        .await)?;
        Ok(id)
    }

    /// Person `id` as their last sign-in left them (name, email, groups) and the role it gave, for a caller
    /// who presents an API token of theirs: `None` if there is no such person.
    pub async fn person_as_signed_in(&self, id: &str) -> Result<Option<(app::auth::Person, Option<Role>)>> {
        type Row = (String, Option<String>, Option<String>, String);
        let row = on_pool!(self, pool => sqlx::query_as::<_, Row>(
            "SELECT display_name, email, role, groups FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let Some((display_name, email, role, groups)) = row else { return Ok(None) };
        let person =
            app::auth::Person { id: id.to_string(), display_name, email, groups: groups_from_column(&groups)? };
        Ok(Some((person, role.as_deref().and_then(Role::parse))))
    }

    /// Everyone who has signed in, most recent sign-in first.
    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        type Row = (String, Option<String>, String, Option<String>, String, DateTime<Utc>, DateTime<Utc>);
        let rows = on_pool!(self, pool => sqlx::query_as::<_, Row>(
            "SELECT display_name, email, subject, role, groups, first_sign_in_at, last_sign_in_at
             FROM users ORDER BY last_sign_in_at DESC, display_name",
        )
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(display_name, email, subject, role, groups, first_sign_in_at, last_sign_in_at)| {
                Ok(UserSummary {
                    display_name,
                    email,
                    subject,
                    role: role.as_deref().and_then(Role::parse),
                    groups: groups_from_column(&groups)?,
                    first_sign_in_at,
                    last_sign_in_at,
                })
            })
            .collect()
    }
}

/// Groups as the `groups` columns hold them: a JSON array of strings.
pub(super) fn groups_to_column(groups: &[String]) -> String {
    serde_json::to_string(groups).expect("a list of strings always serializes")
}

pub(super) fn groups_from_column(column: &str) -> Result<Vec<String>> {
    serde_json::from_str(column).map_err(|_| super::requests::corrupt("groups", column))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(role: Option<Role>, at: DateTime<Utc>) -> SignIn<'static> {
        SignIn {
            issuer: "https://idp.example",
            subject: "alice",
            email: Some("alice@example.test"),
            display_name: "Alice",
            role,
            groups: &[],
            at,
        }
    }

    #[tokio::test]
    async fn a_second_sign_in_updates_the_same_person_and_keeps_the_first_time() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let first = DateTime::from_timestamp(1_000, 0).unwrap();
            let later = DateTime::from_timestamp(2_000, 0).unwrap();
            let id = store.record_sign_in(&alice(Some(Role::Developer), first)).await.unwrap();
            let groups = ["berth-admins".to_string(), "platform \"ops\"".to_string()];
            let again =
                store.record_sign_in(&SignIn { groups: &groups, ..alice(Some(Role::Admin), later) }).await.unwrap();
            assert_eq!(id, again, "{}: same issuer and subject, same person", store.backend());
            let users = store.list_users().await.unwrap();
            assert_eq!(users.len(), 1, "{}", store.backend());
            assert_eq!(users[0].role, Some(Role::Admin), "{}: role at the last sign-in", store.backend());
            assert_eq!(users[0].groups, groups, "{}: groups of the last sign-in", store.backend());
            assert_eq!((users[0].first_sign_in_at, users[0].last_sign_in_at), (first, later), "{}", store.backend());
        }
    }

    #[tokio::test]
    async fn the_same_subject_at_another_issuer_is_another_person() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let at = DateTime::from_timestamp(1_000, 0).unwrap();
            let here = store.record_sign_in(&alice(None, at)).await.unwrap();
            let elsewhere =
                store.record_sign_in(&SignIn { issuer: "https://other-idp.example", ..alice(None, at) }).await.unwrap();
            assert_ne!(here, elsewhere, "{}", store.backend());
            let users = store.list_users().await.unwrap();
            assert_eq!(users.len(), 2, "{}", store.backend());
            assert!(users.iter().all(|user| user.role.is_none()), "{}: no role recorded as none", store.backend());
        }
    }
}
