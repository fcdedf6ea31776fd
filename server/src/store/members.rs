//! A grant's members (people its owner added) and robots (identities for CI systems). Every change is one
//! transaction with its record in the grant's audit trail. Removing a member or a robot revokes the
//! kubeconfigs issued to that identity in the same transaction, their anchors still to delete (so the worker
//! deletes them if the cluster does not answer now, and their tokens die either way).

use app::requests::Action;
use app::requests::members::{MemberSummary, RobotSummary};
use chrono::{DateTime, Utc};

use super::{NewEvent, Result, Store, append_event, on_pool};

/// A person as the members form finds them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonRecord {
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
}

impl PersonRecord {
    /// How the audit trail names them.
    pub fn described(&self) -> String {
        match &self.email {
            Some(email) => format!("{} ({email})", self.display_name),
            None => self.display_name.clone(),
        }
    }
}

/// A robot as the workflow needs it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RobotRecord {
    pub id: String,
    pub request_id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
#[allow(dead_code)] // owner_last is there to order by.
struct MemberRow {
    owner_last: i32,
    person_id: String,
    display_name: String,
    email: Option<String>,
    added_by: Option<String>,
    added_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RobotRow {
    id: String,
    name: String,
    created_by: String,
    created_at: DateTime<Utc>,
}

/// What removing a member or robot took away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// The kubeconfigs it revoked (their anchors are still to delete).
    pub credential_ids: Vec<String>,
}

impl Store {
    /// The person who signs in with `email` (compared without case), if they ever signed in.
    pub async fn person_by_email(&self, email: &str) -> Result<Option<PersonRecord>> {
        Ok(on_pool!(self, pool => sqlx::query_as::<_, PersonRecord>(
            "SELECT id, display_name, email FROM users WHERE lower(email) = lower($1) ORDER BY last_sign_in_at DESC
             LIMIT 1",
        )
        .bind(email)
        .fetch_optional(pool)
        .await)?)
    }

    /// The person `id`, if they ever signed in.
    pub async fn person(&self, id: &str) -> Result<Option<PersonRecord>> {
        Ok(on_pool!(self, pool => sqlx::query_as::<_, PersonRecord>(
            "SELECT id, display_name, email FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Whether `person_id` is a member of grant `request_id` (its requester is its owner, not a member).
    pub async fn is_member(&self, request_id: &str, person_id: &str) -> Result<bool> {
        let found: Option<i32> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT 1 FROM grant_members WHERE request_id = $1 AND person_id = $2",
        )
        .bind(request_id)
        .bind(person_id)
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// The grant's owner (its requester) first, then its members, oldest first.
    pub async fn members_of(&self, request_id: &str) -> Result<Vec<MemberSummary>> {
        let rows = on_pool!(self, pool => sqlx::query_as::<_, MemberRow>(
            "SELECT 0 AS owner_last, u.id AS person_id, u.display_name, u.email, NULL AS added_by,
                    r.created_at AS added_at
             FROM requests r JOIN users u ON u.id = r.requester_id WHERE r.id = $1
             UNION ALL
             SELECT 1, u.id, u.display_name, u.email, a.display_name, m.added_at
             FROM grant_members m JOIN users u ON u.id = m.person_id JOIN users a ON a.id = m.added_by
             WHERE m.request_id = $1
             ORDER BY owner_last, added_at, person_id",
        )
        .bind(request_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|row| MemberSummary {
                person_id: row.person_id,
                display_name: row.display_name,
                email: row.email,
                added_by: row.added_by,
                added_at: row.added_at,
            })
            .collect())
    }

    /// Adds `person` as a member of grant `request_id`; `false` if they are one already.
    pub async fn add_member(
        &self,
        request_id: &str,
        person: &PersonRecord,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let what = person.described();
        let added = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO grant_members (request_id, person_id, added_by, added_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(request_id)
            .bind(&person.id)
            .bind(by)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            let event = NewEvent::record(request_id, Some(by), Action::AddMember, at).reason(Some(what.as_str()));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(added)
    }

    /// Removes member `person` of grant `request_id` and revokes the kubeconfigs they downloaded for it (not
    /// those of its robots, which belong to the grant). `None` if they were not a member.
    pub async fn remove_member(
        &self,
        request_id: &str,
        person: &PersonRecord,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Removed>> {
        let what = person.described();
        let reason = format!("{what} was removed from the grant");
        let removed = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let deleted = sqlx::query("DELETE FROM grant_members WHERE request_id = $1 AND person_id = $2")
                .bind(request_id)
                .bind(&person.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                tx.rollback().await?;
                return Ok::<Option<Removed>, sqlx::Error>(None);
            }
            let credential_ids: Vec<String> = sqlx::query_scalar(
                "UPDATE credentials SET revoked_at = $1, revoked_by = $2, revoke_reason = $3
                 WHERE request_id = $4 AND owner_id = $5 AND robot_id IS NULL AND revoked_at IS NULL
                 RETURNING id",
            )
            .bind(at)
            .bind(by)
            .bind(&reason)
            .bind(request_id)
            .bind(&person.id)
            .fetch_all(&mut *tx)
            .await?;
            let event = NewEvent::record(request_id, Some(by), Action::RemoveMember, at).reason(Some(what.as_str()));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(Some(Removed { credential_ids }))
        }
        .await)?;
        Ok(removed)
    }

    /// The grant's robots that are not removed, by name.
    pub async fn robots_of(&self, request_id: &str) -> Result<Vec<RobotSummary>> {
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RobotRow>(
            "SELECT b.id, b.name, u.display_name AS created_by, b.created_at
             FROM robots b JOIN users u ON u.id = b.created_by
             WHERE b.request_id = $1 AND b.removed_at IS NULL ORDER BY b.name",
        )
        .bind(request_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|row| RobotSummary {
                id: row.id,
                name: row.name,
                created_by: row.created_by,
                created_at: row.created_at,
                username: String::new(),
                tokens: Vec::new(),
            })
            .collect())
    }

    /// Robot `id` of grant `request_id`, if it is not removed.
    pub async fn robot(&self, request_id: &str, id: &str) -> Result<Option<RobotRecord>> {
        self.robot_where("request_id = $1 AND id = $2", &[request_id, id]).await
    }

    /// Robot `id` of whichever grant, if it is not removed (for a token that acts as it).
    pub async fn robot_by_id(&self, id: &str) -> Result<Option<RobotRecord>> {
        self.robot_where("id = $1", &[id]).await
    }

    /// The robot named `name` of grant `request_id`, if there is one.
    pub async fn robot_named(&self, request_id: &str, name: &str) -> Result<Option<RobotRecord>> {
        self.robot_where("request_id = $1 AND name = $2", &[request_id, name]).await
    }

    /// The robot, not removed, that `condition` finds with `binds` as its `$1`, `$2`...
    async fn robot_where(&self, condition: &str, binds: &[&str]) -> Result<Option<RobotRecord>> {
        let sql = format!(
            "SELECT id, request_id, name, created_by, created_at FROM robots WHERE {condition} AND removed_at IS NULL"
        );
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, RobotRecord>(&sql);
            for bind in binds {
                query = query.bind(*bind);
            }
            query.fetch_optional(pool).await
        })?)
    }

    /// Records a new robot; `false` if the grant has a robot of that name already.
    pub async fn create_robot(&self, robot: &RobotRecord) -> Result<bool> {
        let created = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO robots (id, request_id, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&robot.id)
            .bind(&robot.request_id)
            .bind(&robot.name)
            .bind(&robot.created_by)
            .bind(robot.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            let event = NewEvent::record(&robot.request_id, Some(&robot.created_by), Action::AddRobot, robot.created_at)
                .reason(Some(robot.name.as_str()));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(created)
    }

    /// Removes `robot` and revokes its kubeconfigs and API tokens. `None` if it was removed already.
    pub async fn remove_robot(&self, robot: &RobotRecord, by: &str, at: DateTime<Utc>) -> Result<Option<Removed>> {
        let reason = format!("the robot {} was removed", robot.name);
        let removed = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE robots SET removed_at = $1, removed_by = $2 WHERE id = $3 AND removed_at IS NULL",
            )
            .bind(at)
            .bind(by)
            .bind(&robot.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok::<Option<Removed>, sqlx::Error>(None);
            }
            let credential_ids: Vec<String> = sqlx::query_scalar(
                "UPDATE credentials SET revoked_at = $1, revoked_by = $2, revoke_reason = $3
                 WHERE robot_id = $4 AND revoked_at IS NULL RETURNING id",
            )
            .bind(at)
            .bind(by)
            .bind(&reason)
            .bind(&robot.id)
            .fetch_all(&mut *tx)
            .await?;
            // Its API tokens go with it.
            sqlx::query("UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 WHERE robot_id = $3 AND revoked_at IS NULL")
                .bind(at)
                .bind(by)
                .bind(&robot.id)
                .execute(&mut *tx)
                .await?;
            let event = NewEvent::record(&robot.request_id, Some(by), Action::RemoveRobot, at)
                .reason(Some(robot.name.as_str()));
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(Some(Removed { credential_ids }))
        }
        .await)?;
        Ok(removed)
    }

    /// Revokes the kubeconfigs `person` holds of ready grants they may no longer use: not requested by them,
    /// not added as a member, and owned by a team that is not among `groups` (their groups at this sign-in).
    /// One transaction with a record per grant in its audit trail; returns the grants and the kubeconfigs
    /// revoked, for the caller to remove the person's identities in the cluster.
    pub async fn revoke_left_teams(
        &self,
        person: &PersonRecord,
        groups: &[String],
        at: DateTime<Utc>,
    ) -> Result<Vec<(String, Removed)>> {
        let still_in =
            super::placeholders(2, groups.len()).map(|list| format!(" AND r.team NOT IN ({list})")).unwrap_or_default();
        let query = format!(
            "SELECT c.id, c.request_id, r.team FROM credentials c JOIN requests r ON r.id = c.request_id
             WHERE c.owner_id = $1 AND c.robot_id IS NULL AND c.revoked_at IS NULL AND r.state = 'ready'
               AND r.requester_id <> $1 AND r.team IS NOT NULL{still_in}
               AND NOT EXISTS (SELECT 1 FROM grant_members m WHERE m.request_id = r.id AND m.person_id = $1)
             ORDER BY c.request_id, c.id"
        );
        let what = person.described();
        let revoked = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let mut select = sqlx::query_as::<_, (String, String, String)>(&query).bind(&person.id);
            for group in groups {
                select = select.bind(group.as_str());
            }
            let rows = select.fetch_all(&mut *tx).await?;
            let mut by_grant: Vec<(String, Removed)> = Vec::new();
            for (credential, request_id, team) in rows {
                let reason = format!("{what} is no longer in the team {team} (groups at sign-in)");
                sqlx::query("UPDATE credentials SET revoked_at = $1, revoke_reason = $2 WHERE id = $3")
                    .bind(at)
                    .bind(&reason)
                    .bind(&credential)
                    .execute(&mut *tx)
                    .await?;
                match by_grant.last_mut() {
                    Some((last, removed)) if *last == request_id => removed.credential_ids.push(credential),
                    _ => {
                        let event = NewEvent::record(&request_id, None, Action::RemoveMember, at)
                            .reason(Some(reason.as_str()));
                        append_event!(&mut *tx, &event).await?;
                        by_grant.push((request_id, Removed { credential_ids: vec![credential] }));
                    }
                }
            }
            tx.commit().await?;
            Ok::<Vec<(String, Removed)>, sqlx::Error>(by_grant)
        }
        .await)?;
        Ok(revoked)
    }
}
