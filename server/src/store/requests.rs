//! Namespace requests and their audit trail.
//!
//! Every change of a request's state goes through [`Store::apply`]: one transaction that updates the row only
//! if it is still at the version that was read, and appends the audit event. Whoever loses a race gets
//! `false` and no event, so exactly one decision is ever recorded.

use app::requests::{
    Action, AuditEvent, ChangeAsk, Decision, HelmMode, NamespaceDeletion, PersonRef, Progress, RequestState,
    RequestSummary,
};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use super::{NewEvent, Result, Store, StoreError, append_event, on_pool};

/// A request about to be stored.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub id: &'a str,
    pub namespace: &'a str,
    pub purpose: &'a str,
    pub stage: &'a str,
    pub helm_mode: HelmMode,
    pub quota_profile: &'a str,
    pub lifetime_days: u32,
    pub requester_id: &'a str,
    /// The owning team, one of the requester's groups.
    pub team: Option<&'a str>,
    /// The auto-approval rule (its name) that approves the request as it is submitted.
    pub approved_by_rule: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Another request that is not over holds the name (it won a race past the check before the insert).
    #[error("the namespace name is held by another request")]
    NameHeld,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change of state, as the workflow decided it from the request it read.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub request_id: &'a str,
    /// The version read; the update happens only if the row still has it.
    pub version: i64,
    pub from: RequestState,
    pub to: RequestState,
    pub action: Action,
    /// `None`: Berth itself.
    pub actor_id: Option<&'a str>,
    /// The decision's reason, or the cluster's error for [`Action::MarkFailed`].
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// For [`Action::MarkReady`]: when the grant ends.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored request with what the workflow needs besides what pages show.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub summary: RequestSummary,
    pub requester_id: String,
    pub version: i64,
    /// Provisioning attempts since the approval or the last retry.
    pub attempts: u32,
    /// An approved change of profile or Helm mode the worker has yet to apply: what the grant had before.
    pub applying_change_from: Option<(String, HelmMode)>,
}

/// The states that hold a namespace's name, as an SQL list, from [`RequestState::holds_name`]. Written exactly
/// like the predicate of the migrations' partial unique index `requests_namespace_held`, so the database uses
/// that index (a test holds the two together).
fn held_states() -> String {
    let held = RequestState::ALL.into_iter().filter(|state| state.holds_name());
    held.map(|state| format!("'{}'", state.as_str())).collect::<Vec<_>>().join(", ")
}

#[derive(sqlx::FromRow)]
pub(super) struct RequestRow {
    id: String,
    namespace: String,
    purpose: String,
    stage: String,
    helm_mode: String,
    quota_profile: String,
    lifetime_days: i32,
    requester_id: String,
    requester_name: String,
    requester_email: Option<String>,
    state: String,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    decider_name: Option<String>,
    decider_email: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    decision_reason: Option<String>,
    objects_applied: Option<i32>,
    objects_total: Option<i32>,
    last_error: Option<String>,
    attempts: i32,
    ready_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    expiry_warned_at: Option<DateTime<Utc>>,
    change_days: Option<i32>,
    change_reason: Option<String>,
    change_requested_at: Option<DateTime<Utc>>,
    change_quota_profile: Option<String>,
    change_helm_mode: Option<String>,
    applying_change_from: Option<String>,
    namespace_delete_requested_at: Option<DateTime<Utc>>,
    namespace_deleted_at: Option<DateTime<Utc>>,
    team: Option<String>,
}

/// The columns of a [`RequestRow`], from `requests r` with `users u` (the requester) and `users d` (the
/// decider): a macro so that [`SELECT_REQUESTS`] and the statements that tag rows (`store/queue.rs`) share them.
macro_rules! request_columns {
    () => {
        "r.id, r.namespace, r.purpose, r.stage, r.helm_mode, r.quota_profile, r.lifetime_days,
           r.requester_id, u.display_name AS requester_name, u.email AS requester_email,
           r.state, r.version, r.created_at, r.updated_at,
           COALESCE(d.display_name, 'Rule \"' || r.decided_by_rule || '\"') AS decider_name,
           d.email AS decider_email, r.decided_at, r.decision_reason,
           r.objects_applied, r.objects_total, r.last_error, r.attempts, r.ready_at, r.expires_at,
           r.expiry_warned_at, r.change_days, r.change_reason, r.change_requested_at, r.change_quota_profile,
           r.change_helm_mode, r.applying_change_from,
           r.namespace_delete_requested_at, r.namespace_deleted_at, r.team"
    };
}
pub(super) use request_columns;

/// The tables behind [`request_columns!`].
macro_rules! requests_with_people {
    () => {
        "
    FROM requests r
    JOIN users u ON u.id = r.requester_id
    LEFT JOIN users d ON d.id = r.decided_by"
    };
}
pub(super) use requests_with_people;

pub(super) const SELECT_REQUESTS: &str = concat!("SELECT ", request_columns!(), requests_with_people!());

impl TryFrom<RequestRow> for RequestRecord {
    type Error = StoreError;

    fn try_from(row: RequestRow) -> Result<Self> {
        let state = RequestState::parse(&row.state).ok_or_else(|| corrupt("requests.state", &row.state))?;
        let helm_mode = HelmMode::parse(&row.helm_mode).ok_or_else(|| corrupt("requests.helm_mode", &row.helm_mode))?;
        let decision = match (row.decider_name, row.decided_at) {
            (Some(display_name), Some(at)) => Some(Decision {
                by: PersonRef { display_name, email: row.decider_email },
                at,
                reason: row.decision_reason,
            }),
            _ => None,
        };
        Ok(RequestRecord {
            summary: RequestSummary {
                id: row.id,
                namespace: row.namespace,
                purpose: row.purpose,
                stage: row.stage,
                helm_mode,
                quota_profile: row.quota_profile,
                lifetime_days: u32::try_from(row.lifetime_days).map_err(|_| corrupt("requests.lifetime_days", ""))?,
                requester: PersonRef { display_name: row.requester_name, email: row.requester_email },
                team: row.team,
                state,
                created_at: row.created_at,
                updated_at: row.updated_at,
                decision,
                progress: match (row.objects_applied, row.objects_total) {
                    (Some(applied), Some(total)) => Some(Progress {
                        applied: u32::try_from(applied).unwrap_or(0),
                        total: u32::try_from(total).unwrap_or(0),
                    }),
                    _ => None,
                },
                last_error: row.last_error,
                ready_at: row.ready_at,
                expires_at: row.expires_at,
                expiry_warned: row.expiry_warned_at.is_some(),
                change: match row.change_requested_at {
                    Some(at) => Some(ChangeAsk {
                        days: row
                            .change_days
                            .map(|days| u32::try_from(days).map_err(|_| corrupt("requests.change_days", "")))
                            .transpose()?,
                        quota_profile: row.change_quota_profile,
                        helm_mode: row
                            .change_helm_mode
                            .map(|mode| {
                                HelmMode::parse(&mode).ok_or_else(|| corrupt("requests.change_helm_mode", &mode))
                            })
                            .transpose()?,
                        reason: row.change_reason.unwrap_or_default(),
                        at,
                    }),
                    None => None,
                },
                namespace_deletion: row
                    .namespace_delete_requested_at
                    .map(|requested_at| NamespaceDeletion { requested_at, deleted_at: row.namespace_deleted_at }),
            },
            requester_id: row.requester_id,
            version: row.version,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            applying_change_from: row.applying_change_from.as_deref().map(parse_change_from).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    request_id: String,
    action: String,
    from_state: Option<String>,
    to_state: String,
    actor: Option<String>,
    reason: Option<String>,
    at: DateTime<Utc>,
}

const SELECT_EVENTS: &str = "
    SELECT e.request_id, e.action, e.from_state, e.to_state,
           COALESCE(a.display_name, 'Rule \"' || e.actor_rule || '\"') AS actor, e.reason, e.at
    FROM audit_events e
    LEFT JOIN users a ON a.id = e.actor_id";

impl TryFrom<EventRow> for (String, AuditEvent) {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self> {
        let state = |name: &str| RequestState::parse(name).ok_or_else(|| corrupt("audit_events state", name));
        Ok((
            row.request_id,
            AuditEvent {
                action: Action::parse(&row.action).ok_or_else(|| corrupt("audit_events.action", &row.action))?,
                from: row.from_state.as_deref().map(state).transpose()?,
                to: state(&row.to_state)?,
                actor: row.actor,
                reason: row.reason,
                at: row.at,
            },
        ))
    }
}

/// `applying_change_from` as stored: `profile helm_mode`.
pub(super) fn change_from_column(profile: &str, helm_mode: HelmMode) -> String {
    format!("{profile} {}", helm_mode.as_str())
}

fn parse_change_from(column: &str) -> Result<(String, HelmMode)> {
    let parsed = column.split_once(' ').and_then(|(profile, mode)| Some((profile.to_string(), HelmMode::parse(mode)?)));
    parsed.ok_or_else(|| corrupt("requests.applying_change_from", column))
}

pub(super) fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} holds an unknown value {value:?}"))
}

/// One page of rows and the number of rows on all pages.
pub struct Slice<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl Store {
    /// Stores a new pending request and its submission event, in one transaction; approved at once with its
    /// approval event when a rule approves it.
    pub async fn submit_request(&self, request: &NewRequest<'_>) -> Result<(), SubmitError> {
        let outcome = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO requests (id, namespace, purpose, stage, helm_mode, quota_profile, lifetime_days,
                                       requester_id, state, created_at, updated_at, team)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
            )
            .bind(request.id)
            .bind(request.namespace)
            .bind(request.purpose)
            .bind(request.stage)
            .bind(request.helm_mode.as_str())
            .bind(request.quota_profile)
            .bind(i32::try_from(request.lifetime_days).unwrap_or(i32::MAX))
            .bind(request.requester_id)
            .bind(app::requests::lifecycle::initial().as_str())
            .bind(request.at)
            .bind(request.team)
            .execute(&mut *tx)
            .await?;
            let event = NewEvent::record(request.id, Some(request.requester_id), Action::Submit, request.at)
                .moved(None, app::requests::lifecycle::initial());
            append_event!(&mut *tx, &event).await?;
            if let Some(rule) = request.approved_by_rule {
                sqlx::query(
                    "UPDATE requests SET state = $1, version = version + 1, decided_by_rule = $2, decided_at = $3
                     WHERE id = $4",
                )
                .bind(RequestState::Approved.as_str())
                .bind(rule)
                .bind(request.at)
                .bind(request.id)
                .execute(&mut *tx)
                .await?;
                let event = NewEvent::record(request.id, None, Action::Approve, request.at)
                    .by_rule(rule)
                    .moved(Some(RequestState::Pending), RequestState::Approved);
                append_event!(&mut *tx, &event).await?;
            }
            tx.commit().await
        }
        .await);
        match outcome {
            Ok(()) => Ok(()),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(SubmitError::NameHeld),
            Err(error) => Err(SubmitError::Store(error.into())),
        }
    }

    /// Applies `transition` if the request is still at the version and state it was read in, appending its
    /// audit event in the same transaction. `false`: it had moved on, and nothing was written.
    ///
    /// The action's effects on the provisioning columns come with it: ready records when, and when the grant
    /// ends; failed keeps the cluster's error; a retry starts afresh. Every transition releases the worker's
    /// lease and any scheduled retry.
    pub async fn apply(&self, transition: &Transition<'_>) -> Result<bool> {
        let applied = on_pool!(self, pool => async {
            // The UPDATE comes first: on SQLite it takes the write lock at once (waiting out a concurrent
            // writer) instead of upgrading a read lock, which could fail with SQLITE_BUSY.
            let mut tx = pool.begin().await?;
            let mut update = sqlx::QueryBuilder::new("UPDATE requests SET state = ");
            update.push_bind(transition.to.as_str()).push(", version = version + 1, updated_at = ");
            update.push_bind(transition.at).push(", next_attempt_at = NULL, lease_until = NULL");
            // What each action changes besides the state, in one place.
            match transition.action {
                Action::Approve | Action::Deny => {
                    update.push(", decided_by = ").push_bind(transition.actor_id);
                    update.push(", decided_at = ").push_bind(transition.at);
                    update.push(", decision_reason = ").push_bind(transition.reason);
                }
                Action::MarkFailed => {
                    update.push(", last_error = ").push_bind(transition.reason);
                }
                Action::MarkReady => {
                    update.push(", last_error = NULL, ready_at = ").push_bind(transition.at);
                    update.push(", expires_at = ").push_bind(transition.expires_at);
                }
                Action::Retry => {
                    update.push(", last_error = NULL, attempts = 0, objects_applied = NULL");
                }
                _ => {}
            }
            update.push(" WHERE id = ").push_bind(transition.request_id);
            update.push(" AND version = ").push_bind(transition.version);
            update.push(" AND state = ").push_bind(transition.from.as_str());
            let updated = update.build().execute(&mut *tx).await?.rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            if transition.from == RequestState::Pending {
                // Decided (or over) without the approvals it had so far: they are history, in the audit log.
                sqlx::query("DELETE FROM approvals WHERE request_id = $1")
                    .bind(transition.request_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let event = NewEvent::record(transition.request_id, transition.actor_id, transition.action, transition.at)
                .moved(Some(transition.from), transition.to)
                .reason(transition.reason);
            append_event!(&mut *tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(applied)
    }

    pub async fn request(&self, id: &str) -> Result<Option<RequestRecord>> {
        let query = format!("{SELECT_REQUESTS} WHERE r.id = $1");
        let row = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query).bind(id).fetch_optional(pool).await)?;
        row.map(RequestRecord::try_from).transpose()
    }

    /// The ready grant of `namespace`, if there is one (a namespace is held by one grant at a time).
    pub async fn ready_grant_of(&self, namespace: &str) -> Result<Option<RequestRecord>> {
        let query = format!("{SELECT_REQUESTS} WHERE r.namespace = $1 AND r.state = 'ready'");
        let row =
            on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query).bind(namespace).fetch_optional(pool).await)?;
        row.map(RequestRecord::try_from).transpose()
    }

    /// The request's audit trail, oldest first.
    pub async fn events(&self, request_id: &str) -> Result<Vec<AuditEvent>> {
        let query = format!("{SELECT_EVENTS} WHERE e.request_id = $1 ORDER BY e.id");
        let rows =
            on_pool!(self, pool => sqlx::query_as::<_, EventRow>(&query).bind(request_id).fetch_all(pool).await)?;
        rows.into_iter().map(|row| <(String, AuditEvent)>::try_from(row).map(|(_, event)| event)).collect()
    }

    /// Whether a request that is not over holds `namespace`.
    pub async fn namespace_held(&self, namespace: &str) -> Result<bool> {
        static QUERY: LazyLock<String> =
            LazyLock::new(|| format!("SELECT id FROM requests WHERE namespace = $1 AND state IN ({})", held_states()));
        let held: Option<String> = on_pool!(self, pool => sqlx::query_scalar(&QUERY)
        .bind(namespace)
        .fetch_optional(pool)
        .await)?;
        Ok(held.is_some())
    }

    /// How many of `requester_id`'s requests wait for a decision.
    pub async fn pending_count_of(&self, requester_id: &str) -> Result<u32> {
        let count: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE requester_id = $1 AND state = 'pending'",
        )
        .bind(requester_id)
        .fetch_one(pool)
        .await)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// How many of `requester_id`'s grants are active: approved, being provisioned, or ready (what an
    /// auto-approval rule's `max_active_grants` counts).
    pub async fn active_grants_of(&self, requester_id: &str) -> Result<u32> {
        let count: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE requester_id = $1 AND state IN ('approved', 'provisioning', 'ready')",
        )
        .bind(requester_id)
        .fetch_one(pool)
        .await)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// One page of `requester_id`'s requests, newest first, each with its audit trail.
    pub async fn requests_of(
        &self,
        requester_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<Slice<(RequestRecord, Vec<AuditEvent>)>> {
        let (limit, offset) = (i64::from(limit), i64::try_from(offset).unwrap_or(i64::MAX));
        let query = format!(
            "{SELECT_REQUESTS} WHERE r.requester_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(requester_id).bind(limit).bind(offset).fetch_all(pool).await)?;
        // The events of exactly this page's requests, in one query.
        let events_query = format!(
            "{SELECT_EVENTS} WHERE e.request_id IN (
                SELECT id FROM requests WHERE requester_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
             ) ORDER BY e.id"
        );
        let event_rows = on_pool!(self, pool => sqlx::query_as::<_, EventRow>(&events_query)
            .bind(requester_id).bind(limit).bind(offset).fetch_all(pool).await)?;
        let total: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE requester_id = $1")
            .bind(requester_id).fetch_one(pool).await)?;

        let mut events_by_request: std::collections::HashMap<String, Vec<AuditEvent>> = Default::default();
        for row in event_rows {
            let (request_id, event) = <(String, AuditEvent)>::try_from(row)?;
            events_by_request.entry(request_id).or_default().push(event);
        }
        let items = rows
            .into_iter()
            .map(|row| {
                let record = RequestRecord::try_from(row)?;
                let events = events_by_request.remove(&record.summary.id).unwrap_or_default();
                Ok((record, events))
            })
            .collect::<Result<_>>()?;
        Ok(Slice { items, total: u64::try_from(total).unwrap_or(0) })
    }

    /// One page of the requests in `state`, oldest first (counted from the start: the Approvals page finds its
    /// pages by keyset instead, `store/queue.rs`).
    pub async fn requests_in(&self, state: RequestState, limit: u32, offset: u64) -> Result<Slice<RequestRecord>> {
        let (limit, offset) = (i64::from(limit), i64::try_from(offset).unwrap_or(i64::MAX));
        let query = format!("{SELECT_REQUESTS} WHERE r.state = $1 ORDER BY r.created_at, r.id LIMIT $2 OFFSET $3");
        let rows = on_pool!(self, pool => sqlx::query_as::<_, RequestRow>(&query)
            .bind(state.as_str()).bind(limit).bind(offset).fetch_all(pool).await)?;
        let total: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM request_counts WHERE state = $1",
        )
        .bind(state.as_str())
        .fetch_one(pool)
        .await)?;
        Ok(Slice {
            items: rows.into_iter().map(RequestRecord::try_from).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::users::SignIn;

    #[test]
    fn the_states_that_hold_a_name_are_those_of_the_migrations_unique_index() {
        for backend in ["sqlite", "postgres"] {
            let path = format!("{}/../migrations/{backend}/20261124000002_requests.sql", env!("CARGO_MANIFEST_DIR"));
            let sql = std::fs::read_to_string(&path).unwrap();
            let index = sql.split("CREATE UNIQUE INDEX requests_namespace_held").nth(1).expect("the index");
            let predicate = index.split("WHERE state IN (").nth(1).and_then(|rest| rest.split(')').next());
            assert_eq!(predicate, Some(held_states().as_str()), "{path}");
        }
    }

    async fn person(store: &Store, subject: &str) -> String {
        let sign_in = SignIn {
            issuer: "https://idp.example",
            subject,
            email: None,
            display_name: subject,
            role: Some(app::auth::Role::Approver),
            groups: &[],
            at: crate::clock::Clock::system().now(),
        };
        store.record_sign_in(&sign_in).await.unwrap()
    }

    fn new_request<'a>(id: &'a str, namespace: &'a str, requester_id: &'a str, at: DateTime<Utc>) -> NewRequest<'a> {
        NewRequest {
            id,
            namespace,
            purpose: "CI",
            stage: "test",
            helm_mode: HelmMode::NoTiller,
            quota_profile: "small",
            lifetime_days: 30,
            requester_id,
            team: None,
            approved_by_rule: None,
            at,
        }
    }

    fn approve<'a>(record: &'a RequestRecord, actor: &'a str) -> Transition<'a> {
        Transition {
            request_id: &record.summary.id,
            version: record.version,
            from: record.summary.state,
            to: RequestState::Approved,
            action: Action::Approve,
            actor_id: Some(actor),
            reason: None,
            at: crate::clock::Clock::system().now(),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn a_submission_is_stored_verbatim_with_its_audit_event() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice").await;
            let hostile = "<script>alert(1)</script>'); DROP TABLE requests; --";
            let request = NewRequest {
                purpose: hostile,
                ..new_request("r1", "team-a", &alice, crate::clock::Clock::system().now())
            };
            store.submit_request(&request).await.unwrap();
            let record = store.request("r1").await.unwrap().expect("stored");
            assert_eq!(record.summary.purpose, hostile, "{}", store.backend());
            assert_eq!((record.summary.state, record.version), (RequestState::Pending, 1));
            let events = store.events("r1").await.unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!((events[0].action, events[0].from, events[0].to), (Action::Submit, None, RequestState::Pending));
            assert_eq!(events[0].actor.as_deref(), Some("alice"));
        }
    }

    #[tokio::test]
    async fn a_name_is_held_until_its_request_is_over() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice").await;
            store
                .submit_request(&new_request("r1", "team-a", &alice, crate::clock::Clock::system().now()))
                .await
                .unwrap();
            assert!(store.namespace_held("team-a").await.unwrap());
            let twice =
                store.submit_request(&new_request("r2", "team-a", &alice, crate::clock::Clock::system().now())).await;
            assert!(matches!(twice, Err(SubmitError::NameHeld)), "{}: {twice:?}", store.backend());
            assert!(store.request("r2").await.unwrap().is_none(), "nothing half-written");

            let record = store.request("r1").await.unwrap().unwrap();
            let cancel = Transition { to: RequestState::Cancelled, action: Action::Cancel, ..approve(&record, &alice) };
            assert!(store.apply(&cancel).await.unwrap());
            assert!(!store.namespace_held("team-a").await.unwrap(), "{}", store.backend());
            store
                .submit_request(&new_request("r3", "team-a", &alice, crate::clock::Clock::system().now()))
                .await
                .expect("free again");
        }
    }

    #[tokio::test]
    async fn a_transition_from_a_stale_read_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice").await;
            let bob = person(&store, "bob").await;
            store
                .submit_request(&new_request("r1", "team-a", &alice, crate::clock::Clock::system().now()))
                .await
                .unwrap();
            let stale = store.request("r1").await.unwrap().unwrap();
            assert!(store.apply(&approve(&stale, &bob)).await.unwrap());
            let deny = Transition {
                to: RequestState::Denied,
                action: Action::Deny,
                reason: Some("no"),
                ..approve(&stale, &bob)
            };
            assert!(!store.apply(&deny).await.unwrap(), "{}", store.backend());
            let now = store.request("r1").await.unwrap().unwrap();
            assert_eq!((now.summary.state, now.version), (RequestState::Approved, 2));
            let decision = now.summary.decision.expect("recorded on the request");
            assert_eq!((decision.by.display_name.as_str(), decision.reason), ("bob", None));
            assert_eq!(store.events("r1").await.unwrap().len(), 2, "submission and approval only");
        }
    }

    #[tokio::test]
    async fn two_decisions_at_the_same_moment_record_exactly_one() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice").await;
            let (bob, carol) = (person(&store, "bob").await, person(&store, "carol").await);
            for round in 0..20 {
                let id = format!("race-{round}");
                let namespace = format!("race-{round}");
                store
                    .submit_request(&new_request(&id, &namespace, &alice, crate::clock::Clock::system().now()))
                    .await
                    .unwrap();
                let read = store.request(&id).await.unwrap().unwrap();
                let deny = Transition {
                    to: RequestState::Denied,
                    action: Action::Deny,
                    reason: Some("no"),
                    ..approve(&read, &carol)
                };
                let approval = approve(&read, &bob);
                let (first, second) = tokio::join!(store.apply(&approval), store.apply(&deny));
                let outcomes = [first.unwrap(), second.unwrap()];
                assert_eq!(
                    outcomes.iter().filter(|won| **won).count(),
                    1,
                    "{} round {round}: {outcomes:?}",
                    store.backend()
                );
                let decisions =
                    store.events(&id).await.unwrap().into_iter().filter(|e| e.action != Action::Submit).count();
                assert_eq!(decisions, 1, "{} round {round}", store.backend());
                let state = store.request(&id).await.unwrap().unwrap().summary.state;
                assert_eq!(state, if outcomes[0] { RequestState::Approved } else { RequestState::Denied });
            }
        }
    }

    #[tokio::test]
    async fn lists_are_paged_in_their_order_with_each_request_s_own_events() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice").await;
            let bob = person(&store, "bob").await;
            let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
            for n in 0..5 {
                let (id, namespace) = (format!("a{n}"), format!("alice-{n}"));
                let at = start + chrono::TimeDelta::minutes(n);
                store.submit_request(&new_request(&id, &namespace, &alice, at)).await.unwrap();
            }
            store.submit_request(&new_request("b0", "bob-0", &bob, start)).await.unwrap();
            let first = store.request("a1").await.unwrap().unwrap();
            assert!(store.apply(&approve(&first, &bob)).await.unwrap());

            let mine = store.requests_of(&alice, 2, 0).await.unwrap();
            assert_eq!(mine.total, 5, "{}", store.backend());
            let ids: Vec<_> = mine.items.iter().map(|(r, _)| r.summary.id.as_str()).collect();
            assert_eq!(ids, ["a4", "a3"], "newest first");
            let last = store.requests_of(&alice, 2, 4).await.unwrap();
            assert_eq!(last.items.len(), 1);
            let page = store.requests_of(&alice, 2, 2).await.unwrap();
            let (a1, events) = &page.items[1];
            assert_eq!(a1.summary.id, "a1");
            assert_eq!(events.iter().map(|e| e.action).collect::<Vec<_>>(), [Action::Submit, Action::Approve]);
            assert_eq!(page.items[0].1.len(), 1, "a2 has only its own event");

            let pending = store.requests_in(RequestState::Pending, 10, 0).await.unwrap();
            let ids: Vec<_> = pending.items.iter().map(|r| r.summary.id.as_str()).collect();
            assert_eq!(ids, ["a0", "b0", "a2", "a3", "a4"], "{}: oldest first, ties by id", store.backend());
            assert_eq!(pending.total, 5);
        }
    }
}
