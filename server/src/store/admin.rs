//! The admin dashboard's and the audit log's queries: filtered, sorted, paged in the database.
//!
//! Filters become `WHERE` clauses with bound parameters (never text spliced into SQL); the sort is one of a
//! fixed set of `ORDER BY` clauses, each ending in the id so pages never overlap. The orders the dashboard
//! opens with (newest first, by state, by owner) walk an index and stop after one page
//! (`requests_by_created`, `requests_by_state`, `requests_by_requester`); `server/benches/dashboard.rs`
//! measures them at 10,000 grants and prints the query plans.

use app::admin::{AuditEntry, AuditFilter, GrantFilter, GrantSort};
use app::requests::{Action, RequestState};
use chrono::{DateTime, Utc};

use super::requests::{RequestRecord, RequestRow, SELECT_REQUESTS, Slice};
use super::{Result, Store, StoreError, on_pool};

/// The most events one export holds (newest first); the page says so when there are more.
pub const EXPORT_MAX_EVENTS: u32 = 100_000;

/// A value bound to a placeholder.
enum Bind {
    Text(String),
    Time(DateTime<Utc>),
}

/// `WHERE` clauses and their parameters, numbered as they are added.
#[derive(Default)]
struct Conditions {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    /// Adds `bind` and returns its placeholder (`$3`).
    fn bind(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    /// A case-insensitive "contains" pattern for `text` (its `%`, `_` and `\` taken literally).
    fn contains(&mut self, text: &str) -> String {
        let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        self.bind(Bind::Text(format!("%{escaped}%")))
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!(" WHERE {}", self.clauses.join(" AND ")) }
    }
}

/// Binds `$conditions`' parameters, in order, to `$query` (of either backend).
macro_rules! bind_all {
    ($query:expr, $conditions:expr) => {{
        let mut query = $query;
        for bind in &$conditions.binds {
            query = match bind {
                Bind::Text(text) => query.bind(text.as_str()),
                Bind::Time(at) => query.bind(*at),
            };
        }
        query
    }};
}

fn grant_conditions(filter: &GrantFilter) -> Conditions {
    let mut c = Conditions::default();
    if let Some(state) = filter.state {
        let p = c.bind(Bind::Text(state.as_str().to_string()));
        c.clauses.push(format!("r.state = {p}"));
    }
    if !filter.stage.is_empty() {
        let p = c.bind(Bind::Text(filter.stage.clone()));
        c.clauses.push(format!("r.stage = {p}"));
    }
    if !filter.owner.is_empty() {
        let p = c.contains(&filter.owner);
        c.clauses.push(format!(
            "(LOWER(u.display_name) LIKE {p} ESCAPE '\\' OR LOWER(COALESCE(u.email, '')) LIKE {p} ESCAPE '\\')"
        ));
    }
    if !filter.search.is_empty() {
        let p = c.contains(&filter.search);
        c.clauses.push(format!(
            "(LOWER(r.namespace) LIKE {p} ESCAPE '\\' OR LOWER(u.display_name) LIKE {p} ESCAPE '\\' \
             OR LOWER(COALESCE(u.email, '')) LIKE {p} ESCAPE '\\')"
        ));
    }
    c
}

fn grant_order(sort: GrantSort) -> &'static str {
    match sort {
        GrantSort::Created => "r.created_at DESC, r.id DESC",
        // Grants not ready yet have no end: after those that have one.
        GrantSort::Expires => "r.expires_at ASC NULLS LAST, r.id",
        GrantSort::Namespace => "r.namespace, r.id",
        GrantSort::Owner => "LOWER(u.display_name), r.created_at DESC, r.id DESC",
        GrantSort::State => "r.state, r.created_at DESC, r.id DESC",
    }
}

const SELECT_AUDIT: &str = "
    SELECT e.id, e.at, COALESCE(a.display_name, 'Rule \"' || e.actor_rule || '\"') AS actor,
           a.email AS actor_email, e.action, e.request_id, r.namespace, e.from_state, e.to_state,
           e.credential_id, e.reason
    FROM audit_events e
    JOIN requests r ON r.id = e.request_id
    LEFT JOIN users a ON a.id = e.actor_id";

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: DateTime<Utc>,
    actor: Option<String>,
    actor_email: Option<String>,
    action: String,
    request_id: String,
    namespace: String,
    from_state: Option<String>,
    to_state: String,
    credential_id: Option<String>,
    reason: Option<String>,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self> {
        let state = |name: &str| {
            RequestState::parse(name).ok_or_else(|| StoreError::Corrupt(format!("audit_events state {name:?}")))
        };
        Ok(AuditEntry {
            id: row.id,
            at: row.at,
            actor: row.actor,
            actor_email: row.actor_email,
            action: Action::parse(&row.action)
                .ok_or_else(|| StoreError::Corrupt(format!("audit_events.action {:?}", row.action)))?,
            request_id: row.request_id,
            namespace: row.namespace,
            from: row.from_state.as_deref().map(state).transpose()?,
            to: state(&row.to_state)?,
            credential_id: row.credential_id,
            reason: row.reason,
        })
    }
}

fn audit_conditions(filter: &AuditFilter) -> Conditions {
    let mut c = Conditions::default();
    // Person and namespace as subqueries: the few matching people or requests first, then their events
    // through `audit_events_by_actor` / `audit_events_by_request`, instead of testing every event's join.
    if !filter.person.is_empty() {
        let p = c.contains(&filter.person);
        // The worker acts as "Berth".
        c.clauses.push(format!(
            "(e.actor_id IN (SELECT id FROM users WHERE LOWER(display_name) LIKE {p} ESCAPE '\\' \
                                                  OR LOWER(COALESCE(email, '')) LIKE {p} ESCAPE '\\') \
              OR LOWER(COALESCE(e.actor_rule, '')) LIKE {p} ESCAPE '\\' \
              OR (e.actor_id IS NULL AND e.actor_rule IS NULL AND 'berth' LIKE {p} ESCAPE '\\'))"
        ));
    }
    if !filter.namespace.is_empty() {
        let p = c.contains(&filter.namespace);
        c.clauses
            .push(format!("e.request_id IN (SELECT id FROM requests WHERE LOWER(namespace) LIKE {p} ESCAPE '\\')"));
    }
    if let Some(action) = filter.action {
        let p = c.bind(Bind::Text(action.as_str().to_string()));
        c.clauses.push(format!("e.action = {p}"));
    }
    if let Some(from) = filter.from_instant() {
        let p = c.bind(Bind::Time(from));
        c.clauses.push(format!("e.at >= {p}"));
    }
    if let Some(until) = filter.until_instant() {
        let p = c.bind(Bind::Time(until));
        c.clauses.push(format!("e.at < {p}"));
    }
    c
}

impl Store {
    /// One page of every request, filtered and sorted as `filter` says.
    pub async fn grants(&self, filter: &GrantFilter, limit: u32, offset: u64) -> Result<Slice<RequestRecord>> {
        let conditions = grant_conditions(filter);
        let query = format!(
            "{SELECT_REQUESTS}{} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            conditions.sql(),
            grant_order(filter.sort)
        );
        let count =
            format!("SELECT COUNT(*) FROM requests r JOIN users u ON u.id = r.requester_id{}", conditions.sql());
        let rows = on_pool!(self, pool => bind_all!(sqlx::query_as::<_, RequestRow>(&query), conditions)
            .fetch_all(pool).await)?;
        let total: i64 =
            on_pool!(self, pool => bind_all!(sqlx::query_scalar(&count), conditions).fetch_one(pool).await)?;
        Ok(Slice {
            items: rows.into_iter().map(RequestRecord::try_from).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// One page of the audit log, newest first.
    pub async fn audit_events(&self, filter: &AuditFilter, limit: u32, offset: u64) -> Result<Slice<AuditEntry>> {
        let conditions = audit_conditions(filter);
        let query =
            format!("{SELECT_AUDIT}{} ORDER BY e.at DESC, e.id DESC LIMIT {limit} OFFSET {offset}", conditions.sql());
        // The conditions name only the event's own columns, and every event has its request: no join needed.
        let count = format!("SELECT COUNT(*) FROM audit_events e{}", conditions.sql());
        let rows = on_pool!(self, pool => bind_all!(sqlx::query_as::<_, AuditRow>(&query), conditions)
            .fetch_all(pool).await)?;
        let total: i64 =
            on_pool!(self, pool => bind_all!(sqlx::query_scalar(&count), conditions).fetch_one(pool).await)?;
        Ok(Slice {
            items: rows.into_iter().map(AuditEntry::try_from).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::credentials::NewCredential;
    use crate::store::requests::{NewRequest, Transition};
    use crate::store::users::SignIn;
    use app::requests::HelmMode;
    use app::requests::credentials::CredentialPurpose;

    async fn person(store: &Store, subject: &str, name: &str) -> String {
        let email = format!("{subject}@example.test");
        let sign_in = SignIn {
            issuer: "https://idp.example",
            subject,
            email: Some(&email),
            display_name: name,
            role: Some(app::auth::Role::Developer),
            groups: &[],
            at: crate::clock::Clock::system().now(),
        };
        store.record_sign_in(&sign_in).await.unwrap()
    }

    /// Stores a request by `owner` at `at`, and walks it to `state` (ready ones end `ends` days later).
    async fn request(
        store: &Store,
        id: &str,
        owner: &str,
        stage: &str,
        at: DateTime<Utc>,
        state: RequestState,
        ends: i64,
    ) {
        let new = NewRequest {
            id,
            namespace: id,
            purpose: "p",
            stage,
            helm_mode: HelmMode::NoTiller,
            quota_profile: "small",
            lifetime_days: 30,
            requester_id: owner,
            team: None,
            approved_by_rule: None,
            at,
        };
        store.submit_request(&new).await.unwrap();
        let path: &[(Action, RequestState)] = match state {
            RequestState::Pending => &[],
            RequestState::Denied => &[(Action::Deny, RequestState::Denied)],
            _ => &[
                (Action::Approve, RequestState::Approved),
                (Action::StartProvisioning, RequestState::Provisioning),
                (Action::MarkReady, RequestState::Ready),
            ],
        };
        for (action, to) in path {
            let record = store.request(id).await.unwrap().unwrap();
            let transition = Transition {
                request_id: id,
                version: record.version,
                from: record.summary.state,
                to: *to,
                action: *action,
                actor_id: None,
                reason: None,
                at,
                expires_at: (*to == RequestState::Ready).then(|| at + chrono::TimeDelta::days(ends)),
            };
            assert!(store.apply(&transition).await.unwrap());
        }
    }

    fn ids(slice: &Slice<RequestRecord>) -> Vec<&str> {
        slice.items.iter().map(|r| r.summary.id.as_str()).collect()
    }

    #[tokio::test]
    async fn the_dashboard_searches_filters_sorts_and_pages_on_both_backends() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", "Alice Anders").await;
            let bob = person(&store, "bob", "Bob Berg").await;
            let t = |minutes| DateTime::from_timestamp(1_800_000_000, 0).unwrap() + chrono::TimeDelta::minutes(minutes);
            request(&store, "shop-prod", &alice, "production", t(0), RequestState::Ready, 10).await;
            request(&store, "data-test", &bob, "test", t(1), RequestState::Pending, 0).await;
            request(&store, "shop-test", &alice, "test", t(2), RequestState::Ready, 5).await;
            request(&store, "bob-denied", &bob, "test", t(3), RequestState::Denied, 0).await;
            let backend = store.backend();
            let grants = |filter: GrantFilter| {
                let store = store.clone();
                async move { store.grants(&filter, 10, 0).await.unwrap() }
            };

            let all = grants(GrantFilter::default()).await;
            assert_eq!(ids(&all), ["bob-denied", "shop-test", "data-test", "shop-prod"], "{backend}: newest first");
            assert_eq!(all.total, 4);
            let ending = grants(GrantFilter { sort: GrantSort::Expires, ..Default::default() }).await;
            assert_eq!(ids(&ending)[..2], ["shop-test", "shop-prod"], "{backend}: ending soonest, then no end");
            let by_name = grants(GrantFilter { sort: GrantSort::Namespace, ..Default::default() }).await;
            assert_eq!(ids(&by_name), ["bob-denied", "data-test", "shop-prod", "shop-test"], "{backend}");
            let by_owner = grants(GrantFilter { sort: GrantSort::Owner, ..Default::default() }).await;
            assert_eq!(ids(&by_owner), ["shop-test", "shop-prod", "bob-denied", "data-test"], "{backend}");

            let ready = grants(GrantFilter { state: Some(RequestState::Ready), ..Default::default() }).await;
            assert_eq!((ids(&ready), ready.total), (vec!["shop-test", "shop-prod"], 2), "{backend}");
            let prod = grants(GrantFilter { stage: "production".into(), ..Default::default() }).await;
            assert_eq!(ids(&prod), ["shop-prod"], "{backend}");
            let bobs = grants(GrantFilter { owner: "BOB@example".into(), ..Default::default() }).await;
            assert_eq!(ids(&bobs), ["bob-denied", "data-test"], "{backend}: owner by email, any case");
            let search = grants(GrantFilter { search: "SHOP".into(), ..Default::default() }).await;
            assert_eq!(ids(&search), ["shop-test", "shop-prod"], "{backend}: namespace, any case");
            let by_person = grants(GrantFilter { search: "anders".into(), ..Default::default() }).await;
            assert_eq!(by_person.total, 2, "{backend}: or the owner's name");
            for wildcard in ["%", "_", "\\"] {
                let literal = grants(GrantFilter { search: wildcard.into(), ..Default::default() }).await;
                assert_eq!(literal.total, 0, "{backend}: {wildcard:?} is taken literally");
            }
            let both = grants(GrantFilter {
                search: "shop".into(),
                state: Some(RequestState::Ready),
                stage: "test".into(),
                owner: "alice".into(),
                ..Default::default()
            })
            .await;
            assert_eq!(ids(&both), ["shop-test"], "{backend}: filters combine");

            let second = store.grants(&GrantFilter::default(), 2, 2).await.unwrap();
            assert_eq!((ids(&second), second.total), (vec!["data-test", "shop-prod"], 4), "{backend}: page 2 of 2");
        }
    }

    #[tokio::test]
    async fn the_audit_log_filters_by_person_namespace_kind_and_day_on_both_backends() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", "Alice Anders").await;
            let bob = person(&store, "bob", "Bob Berg").await;
            let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
            let at = |d: u32| day(d).and_hms_opt(12, 0, 0).unwrap().and_utc();
            request(&store, "shop", &alice, "test", at(1), RequestState::Ready, 30).await;
            request(&store, "data", &bob, "test", at(2), RequestState::Pending, 0).await;
            let credential = NewCredential {
                id: "c1",
                request_id: "shop",
                owner_id: &alice,
                purpose: CredentialPurpose::Ci,
                name: "jenkins-prod",
                robot_id: None,
                issued_at: at(3),
                expires_at: at(4),
            };
            store.record_credential(&credential).await.unwrap();
            assert!(store.revoke_credential("c1", &bob, "leaked in a log", at(4)).await.unwrap());
            assert!(!store.revoke_credential("c1", &bob, "twice", at(4)).await.unwrap(), "once only");
            let backend = store.backend();
            let events = |filter: AuditFilter| {
                let store = store.clone();
                async move { store.audit_events(&filter, 50, 0).await.unwrap() }
            };

            let all = events(AuditFilter::default()).await;
            // shop: submit, approve, start, ready, issue, revoke; data: submit.
            assert_eq!(all.total, 7, "{backend}");
            assert_eq!(all.items[0].action, Action::RevokeCredential, "{backend}: newest first");
            assert_eq!(all.items[0].credential_id.as_deref(), Some("c1"));
            assert_eq!((all.items[0].from, all.items[0].to), (Some(RequestState::Ready), RequestState::Ready));
            assert_eq!(all.items[0].reason.as_deref(), Some("leaked in a log"));
            assert_eq!(all.items[1].reason.as_deref(), Some("CI: jenkins-prod, until 2026-11-04 12:00 UTC"));

            let bobs = events(AuditFilter { person: "bob b".into(), ..Default::default() }).await;
            assert_eq!(
                bobs.items.iter().map(|e| e.action).collect::<Vec<_>>(),
                [Action::RevokeCredential, Action::Submit]
            );
            let berth = events(AuditFilter { person: "berth".into(), ..Default::default() }).await;
            assert_eq!(berth.total, 3, "{backend}: the worker's own steps (actor Berth)");
            let data = events(AuditFilter { namespace: "DAT".into(), ..Default::default() }).await;
            assert_eq!((data.total, data.items[0].namespace.as_str()), (1, "data"), "{backend}");
            let issues = events(AuditFilter { action: Some(Action::IssueCredential), ..Default::default() }).await;
            assert_eq!(issues.total, 1, "{backend}");
            let nov_2_to_3 = events(AuditFilter { from: Some(day(2)), to: Some(day(3)), ..Default::default() }).await;
            assert_eq!(
                nov_2_to_3.items.iter().map(|e| e.action).collect::<Vec<_>>(),
                [Action::IssueCredential, Action::Submit],
                "{backend}: whole days, both ends included"
            );
        }
    }

    #[test]
    fn filters_are_bound_never_spliced_and_like_wildcards_are_literal() {
        let filter = GrantFilter {
            search: "100%_sure\\'; DROP TABLE requests; --".to_string(),
            state: Some(RequestState::Ready),
            ..GrantFilter::default()
        };
        let conditions = grant_conditions(&filter);
        let sql = conditions.sql();
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(sql.starts_with(" WHERE r.state = $1 AND (LOWER(r.namespace) LIKE $2"), "{sql}");
        let texts: Vec<&str> = conditions
            .binds
            .iter()
            .map(|b| match b {
                Bind::Text(t) => t.as_str(),
                Bind::Time(_) => "",
            })
            .collect();
        assert_eq!(texts, ["ready", "%100\\%\\_sure\\\\'; drop table requests; --%"]);
        assert_eq!(grant_conditions(&GrantFilter::default()).sql(), "");
    }
}
