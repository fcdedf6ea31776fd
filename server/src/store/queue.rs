//! What the busiest pages read, one statement each: what waits for a decision (a page of pending requests,
//! the pending changes, both counted) and, for the home page, a person's own current requests; and the
//! admin overview's figures.
//!
//! Counts come from `request_counts` (kept by triggers, see its migration) and the partial index of pending
//! changes, never from counting every pending row; pages of pending requests are found by keyset (the
//! request before or after), so page 400 costs what page 1 does.

use app::requests::RequestState;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

use super::requests::{RequestRecord, RequestRow, request_columns, requests_with_people};
use super::{Result, Store, on_pool};

/// Which page of the pending requests (oldest first), and how long a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window<'a> {
    /// Only the count.
    None,
    First(u32),
    /// The page after the request with this id.
    After(&'a str, u32),
    /// The page before the request with this id.
    Before(&'a str, u32),
    /// Skipping this many (a page number without a neighbour to start from, as an old bookmark has it).
    Skip(u64, u32),
}

#[derive(Debug, Clone, Copy)]
pub struct QueueQuery<'a> {
    pub pending: Window<'a>,
    /// How many pending changes to read, oldest ask first (0: only the count).
    pub changes: u32,
    /// Whose own current requests to read too: pending, or giving access now or soon.
    pub mine_of: Option<&'a str>,
    /// Only the pending requests this approver may still decide (pages and counts alike); `None`: all.
    pub decider: Option<Decider<'a>>,
}

/// An approver, for what they may still decide: not their own requests (unless the installation lets
/// approvers decide their own), not what they approved already, not a stage whose approvals none of their
/// groups fill.
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    pub person: &'a str,
    pub includes_own: bool,
    pub closed_stages: &'a [String],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueRows {
    /// Oldest first.
    pub pending: Vec<RequestRecord>,
    pub pending_total: u64,
    /// Oldest ask first.
    pub changes: Vec<RequestRecord>,
    pub changes_total: u64,
    /// The person's grants ending soonest first (those not ready yet last), then their pending requests,
    /// newest first.
    pub mine: Vec<RequestRecord>,
}

/// The states of a person's requests that the home page shows: waiting, or access now or soon.
const CURRENT_STATES: &str = "'pending', 'approved', 'provisioning', 'ready', 'failed', 'revoking'";
/// A ready grant with a change waiting for a decision (found by the partial index on `change_requested_at`).
const CHANGE_PENDING: &str = "r.change_requested_at IS NOT NULL AND r.state = 'ready'";
/// More than anyone has at once; a bound, not a page.
const MINE_AT_MOST: i64 = 200;

/// The admin overview's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverviewFigures {
    /// Requests by (state, stage), every pair with at least one.
    pub by_state_and_stage: Vec<(RequestState, String, u64)>,
    /// Ready grants that end before the time asked for.
    pub expiring: u64,
    /// Grants revoked since the time asked for.
    pub revoked_since: u64,
}

impl Store {
    /// What waits for a decision, and `mine_of`'s current requests, in one statement.
    pub async fn queue(&self, query: QueueQuery<'_>) -> Result<QueueRows> {
        let statement = QueueStatement::of(query);
        let mut rows = QueueRows::default();
        on_pool!(self, pool => {
            let mut select = sqlx::query(&statement.sql);
            for bind in &statement.binds {
                select = match bind {
                    Bind::Text(text) => select.bind(text.as_str()),
                    Bind::Number(number) => select.bind(*number),
                };
            }
            for row in select.fetch_all(pool).await? {
                let (pending, changes): (i64, i64) = (row.try_get("pending_total")?, row.try_get("changes_total")?);
                (rows.pending_total, rows.changes_total) =
                    (u64::try_from(pending).unwrap_or(0), u64::try_from(changes).unwrap_or(0));
                let Some(list) = row.try_get::<Option<String>, _>("list")? else { continue };
                let record = RequestRecord::try_from(RequestRow::from_row(&row)?)?;
                match list.as_str() {
                    "pending" => rows.pending.push(record),
                    "change" => rows.changes.push(record),
                    _ => rows.mine.push(record),
                }
            }
        });
        rows.pending.sort_by(|a, b| (a.summary.created_at, &a.summary.id).cmp(&(b.summary.created_at, &b.summary.id)));
        rows.changes
            .sort_by_key(|record| (record.summary.change.as_ref().map(|ask| ask.at), record.summary.id.clone()));
        rows.mine.sort_by_key(|record| {
            let summary = &record.summary;
            // Grants first, ending soonest first (not ready yet: last); then waiting requests, newest first.
            let waiting = summary.state == RequestState::Pending;
            (waiting, summary.expires_at.is_none(), summary.expires_at, std::cmp::Reverse(summary.created_at))
        });
        Ok(rows)
    }

    /// The admin overview's figures as of `now`: requests by state and stage, ready grants ending within
    /// `ahead`, grants revoked within the last `behind`. One statement.
    pub async fn overview_figures(
        &self,
        now: DateTime<Utc>,
        ahead: chrono::TimeDelta,
        behind: chrono::TimeDelta,
    ) -> Result<OverviewFigures> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT state, stage, n FROM request_counts WHERE n > 0
             UNION ALL
             SELECT 'expiring', '', COUNT(*) FROM requests WHERE state = 'ready' AND expires_at < $1
             UNION ALL
             SELECT 'revoked-since', '', COUNT(*) FROM audit_events WHERE to_state = 'revoked' AND at >= $2",
        )
        .bind(now + ahead)
        .bind(now - behind)
        .fetch_all(pool)
        .await)?;
        let mut figures = OverviewFigures::default();
        for (state, stage, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match (state.as_str(), RequestState::parse(&state)) {
                ("expiring", _) => figures.expiring = n,
                ("revoked-since", _) => figures.revoked_since = n,
                (_, Some(state)) => figures.by_state_and_stage.push((state, stage, n)),
                (_, None) => return Err(super::requests::corrupt("request_counts.state", &state)),
            }
        }
        figures.by_state_and_stage.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
        Ok(figures)
    }
}

enum Bind {
    Text(String),
    Number(i64),
}

/// The statement of [`Store::queue`]: the counts, joined to the rows of each list asked for (tagged by a
/// `list` column), so an empty list still brings the counts. Placeholders are numbered (`$1`), which both
/// backends read.
struct QueueStatement {
    sql: String,
    binds: Vec<Bind>,
    /// Lists begun so far.
    arms: usize,
}

impl QueueStatement {
    fn of(query: QueueQuery<'_>) -> Self {
        let mut statement = Self {
            sql: "SELECT c.pending_total, c.changes_total, q.* FROM (SELECT (".to_string(),
            binds: Vec::new(),
            arms: 0,
        };
        statement.pending_total(query.decider);
        statement.push(") AS pending_total, (SELECT COUNT(*) FROM requests r WHERE ");
        statement.push(CHANGE_PENDING);
        statement.decidable_by(query.decider);
        statement.push(") AS changes_total) c LEFT JOIN (");
        let cursor = "(SELECT created_at, id FROM requests WHERE id = ";
        let oldest_first = " ORDER BY r.created_at, r.id LIMIT ";
        if query.pending != Window::None {
            statement.arm("pending", " WHERE r.state = 'pending'");
            statement.decidable_by(query.decider);
        }
        match query.pending {
            Window::None => {}
            Window::First(limit) => {
                statement.push(oldest_first).bind(Bind::Number(i64::from(limit)));
            }
            Window::After(id, limit) => {
                statement.push(" AND (r.created_at, r.id) > ");
                statement.push(cursor).bind(Bind::Text(id.to_string())).push(")");
                statement.push(oldest_first).bind(Bind::Number(i64::from(limit)));
            }
            Window::Before(id, limit) => {
                statement.push(" AND (r.created_at, r.id) < ");
                statement.push(cursor).bind(Bind::Text(id.to_string())).push(")");
                statement.push(" ORDER BY r.created_at DESC, r.id DESC LIMIT ").bind(Bind::Number(i64::from(limit)));
            }
            Window::Skip(skip, limit) => {
                statement.push(oldest_first).bind(Bind::Number(i64::from(limit)));
                statement.push(" OFFSET ").bind(Bind::Number(i64::try_from(skip).unwrap_or(i64::MAX)));
            }
        }
        if query.changes > 0 {
            statement.arm("change", &format!(" WHERE {CHANGE_PENDING}"));
            statement.decidable_by(query.decider);
            statement.push(" ORDER BY r.change_requested_at, r.id LIMIT ");
            statement.bind(Bind::Number(i64::from(query.changes)));
        }
        if let Some(person) = query.mine_of {
            // Their own requests, and the grants they are a member of.
            statement.arm("mine", " WHERE (r.requester_id = ");
            statement.bind(Bind::Text(person.to_string()));
            statement.push(" OR r.id IN (SELECT request_id FROM grant_members WHERE person_id = ");
            statement.bind(Bind::Text(person.to_string()));
            statement.push("))");
            statement.push(&format!(" AND r.state IN ({CURRENT_STATES}) ORDER BY r.created_at DESC, r.id DESC LIMIT "));
            statement.bind(Bind::Number(MINE_AT_MOST));
        }
        if statement.arms == 0 {
            statement.push("SELECT NULL AS list");
        } else {
            // Closes the last arm.
            statement.push(") arm");
        }
        statement.push(") q ON 1 = 1");
        statement
    }

    /// The number of pending requests `decider` may still decide, without counting every pending row: the
    /// counts of their stages (kept by triggers), less their own pending requests and those they approved
    /// already (each a handful of rows, found by index).
    fn pending_total(&mut self, decider: Option<Decider<'_>>) {
        self.push("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM request_counts r WHERE r.state = 'pending'");
        let Some(decider) = decider else { return };
        self.stages_open_to(decider);
        // `r.state || ''` keeps the planner off `requests_by_state` (every pending row) and on the person's
        // own index: their requests, their approvals, a handful of rows each.
        if !decider.includes_own {
            self.push(") - (SELECT COUNT(*) FROM requests r WHERE r.state || '' = 'pending' AND r.requester_id = ");
            self.bind(Bind::Text(decider.person.to_string()));
            self.stages_open_to(decider);
        }
        self.push(
            ") - (SELECT COUNT(*) FROM approvals a JOIN requests r ON r.id = a.request_id
                  WHERE r.state || '' = 'pending' AND a.person_id = ",
        );
        self.bind(Bind::Text(decider.person.to_string()));
        self.stages_open_to(decider);
    }

    /// `AND ...`: of the pending requests (`r`), those `decider` may still decide.
    fn decidable_by(&mut self, decider: Option<Decider<'_>>) {
        let Some(decider) = decider else { return };
        if !decider.includes_own {
            self.push(" AND r.requester_id <> ").bind(Bind::Text(decider.person.to_string()));
        }
        self.push(" AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.request_id = r.id AND a.person_id = ");
        self.bind(Bind::Text(decider.person.to_string())).push(")");
        self.stages_open_to(decider);
    }

    /// `AND r.stage NOT IN (...)`: the stages whose approvals `decider` may fill.
    fn stages_open_to(&mut self, decider: Decider<'_>) {
        if decider.closed_stages.is_empty() {
            return;
        }
        self.push(" AND r.stage NOT IN (");
        for (index, stage) in decider.closed_stages.iter().enumerate() {
            if index > 0 {
                self.push(", ");
            }
            self.bind(Bind::Text(stage.clone()));
        }
        self.push(")");
    }

    /// Starts the rows of `list` (closing the arm before): the request columns, tagged, and `filter`.
    fn arm(&mut self, list: &str, filter: &str) {
        if self.arms > 0 {
            self.push(&format!(") arm{} UNION ALL ", self.arms));
        }
        self.arms += 1;
        self.push(&format!(
            "SELECT * FROM (SELECT '{list}' AS list, {} {}",
            request_columns!(),
            requests_with_people!()
        ));
        self.push(filter);
    }

    fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    fn bind(&mut self, bind: Bind) -> &mut Self {
        self.binds.push(bind);
        self.sql.push_str(&format!("${}", self.binds.len()));
        self
    }
}

#[cfg(test)]
mod tests {
    use app::auth::Role;
    use app::requests::{Action, RequestState};
    use chrono::TimeDelta;

    use super::{Decider, QueueQuery, Window};
    use crate::store::Store;
    use crate::store::approvals::NewApproval;
    use crate::store::grants::NewChange;
    use crate::store::testing::{at, moved, person, ready, submitted, submitted_for};

    fn namespaces(records: &[crate::store::requests::RequestRecord]) -> Vec<&str> {
        records.iter().map(|record| record.summary.namespace.as_str()).collect()
    }

    async fn counted_by_the_triggers_as_by_counting(store: &Store) {
        let mut counted: Vec<(String, i64)> = crate::store::on_pool!(store, pool => sqlx::query_as(
            "SELECT state, COUNT(*) FROM requests GROUP BY state ORDER BY state",
        )
        .fetch_all(pool)
        .await)
        .unwrap();
        counted.retain(|(_, n)| *n > 0);
        assert_eq!(store.requests_by_state().await.unwrap(), counted, "{}", store.backend());
    }

    #[tokio::test]
    async fn pages_of_pending_requests_are_found_by_their_neighbours_and_counted_without_counting_rows() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            let bob = person(&store, "bob", Role::Approver).await;
            let mut pending = Vec::new();
            for n in 0..7 {
                pending.push(submitted(&store, &format!("queue-{n}"), &bob).await);
            }
            let grant = ready(&store, "alice-ready", &alice).await;
            let change = NewChange {
                record: &grant,
                days: Some(7),
                quota_profile: None,
                helm_mode: None,
                reason: "more tests",
                at: at(10),
            };
            store.ask_change(&change).await.unwrap();
            let waiting = submitted(&store, "alice-waiting", &alice).await;
            let denied = submitted(&store, "alice-denied", &alice).await;
            moved(&store, &denied, Action::Deny, RequestState::Denied, 5).await;
            counted_by_the_triggers_as_by_counting(&store).await;

            let page = async |pending: Window<'_>| {
                store.queue(QueueQuery { pending, changes: 5, mine_of: None, decider: None }).await.unwrap()
            };
            // Every request was submitted at the same minute: the id decides the order, as in the index.
            let first = page(Window::First(3)).await;
            assert_eq!((first.pending_total, first.changes_total), (8, 1), "{}", store.backend());
            let mut expected: Vec<(&str, &str)> = pending
                .iter()
                .chain([&waiting])
                .map(|record| (record.summary.id.as_str(), record.summary.namespace.as_str()))
                .collect();
            expected.sort();
            let expected: Vec<&str> = expected.into_iter().map(|(_, namespace)| namespace).collect();
            assert_eq!(namespaces(&first.pending), expected[0..3], "{}", store.backend());
            assert_eq!(namespaces(&first.changes), ["alice-ready"]);

            let last_id = first.pending[2].summary.id.clone();
            let second = page(Window::After(&last_id, 3)).await;
            assert_eq!(namespaces(&second.pending), expected[3..6], "{}", store.backend());
            assert_eq!(second, page(Window::Skip(3, 3)).await, "keyset and counting agree");
            let third = page(Window::After(&second.pending[2].summary.id, 3)).await;
            assert_eq!(namespaces(&third.pending), expected[6..8]);
            let back = page(Window::Before(&second.pending[0].summary.id, 3)).await;
            assert_eq!(back, first, "{}: the page before the second is the first", store.backend());
            let beyond = page(Window::After(&third.pending[1].summary.id, 3)).await;
            assert!(beyond.pending.is_empty() && beyond.pending_total == 8, "past the end: empty, still counted");

            // The home page's reading: counts, the oldest, and alice's own current requests.
            let home = store
                .queue(QueueQuery { pending: Window::First(5), changes: 0, mine_of: Some(&alice), decider: None })
                .await
                .unwrap();
            assert!(home.changes.is_empty() && home.changes_total == 1);
            assert_eq!(namespaces(&home.mine), ["alice-ready", "alice-waiting"], "{}", store.backend());
            let counts_only =
                store.queue(QueueQuery { pending: Window::None, changes: 0, mine_of: None, decider: None }).await;
            let counts_only = counts_only.unwrap();
            assert_eq!((counts_only.pending_total, counts_only.pending.len()), (8, 0), "{}", store.backend());
        }
    }

    #[tokio::test]
    async fn an_approver_sees_and_counts_only_what_they_may_still_decide() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let backend = store.backend();
            let alice = person(&store, "alice", Role::Developer).await;
            let bob = person(&store, "bob", Role::Approver).await;
            submitted_for(&store, "alice-test", "test", &alice).await;
            submitted_for(&store, "alice-prod", "production", &alice).await;
            let halfway = submitted_for(&store, "alice-staging", "staging", &alice).await;
            let groups = ["berth-approvers".to_string()];
            let approval =
                NewApproval { record: &halfway, person_id: &bob, groups: &groups, completes: false, at: at(2) };
            assert!(store.add_approval(&approval).await.unwrap());
            submitted_for(&store, "bob-own", "test", &bob).await;

            let closed = ["production".to_string()];
            let as_bob = |includes_own, closed_stages| {
                let decider = Some(Decider { person: &bob, includes_own, closed_stages });
                store.queue(QueueQuery { pending: Window::First(10), changes: 0, mine_of: None, decider })
            };
            let strict = as_bob(false, &closed).await.unwrap();
            assert_eq!(namespaces(&strict.pending), ["alice-test"], "{backend}");
            assert_eq!(strict.pending_total, 1, "{backend}: counted as listed");
            let own_allowed = as_bob(true, &[]).await.unwrap();
            let mut listed = namespaces(&own_allowed.pending);
            listed.sort();
            assert_eq!(listed, ["alice-prod", "alice-test", "bob-own"], "{backend}: never what bob approved");
            assert_eq!(own_allowed.pending_total, 3, "{backend}");
            let everyone = store
                .queue(QueueQuery { pending: Window::None, changes: 0, mine_of: None, decider: None })
                .await
                .unwrap();
            assert_eq!(everyone.pending_total, 4, "{backend}: without a decider, all pending");
        }
    }

    #[tokio::test]
    async fn the_overview_counts_by_stage_and_state_what_ends_soon_and_what_was_revoked() {
        let dir = tempfile::tempdir().unwrap();
        for store in crate::store::test_stores(dir.path()).await {
            let alice = person(&store, "alice", Role::Developer).await;
            submitted(&store, "waiting", &alice).await;
            ready(&store, "live", &alice).await;
            let gone = ready(&store, "gone", &alice).await;
            let gone = moved(&store, &gone, Action::Revoke, RequestState::Revoking, 6).await;
            moved(&store, &gone, Action::FinishRevocation, RequestState::Revoked, 7).await;
            counted_by_the_triggers_as_by_counting(&store).await;

            // Both ready grants were ready at minute 4 for 30 days; one was revoked at minute 7.
            let week = TimeDelta::days(7);
            let soon = store.overview_figures(at(4) + TimeDelta::days(25), week, week).await.unwrap();
            let stage = |state: RequestState| {
                soon.by_state_and_stage.iter().find(|(s, stage, _)| *s == state && stage == "test").map(|f| f.2)
            };
            assert_eq!(
                (stage(RequestState::Pending), stage(RequestState::Ready), stage(RequestState::Revoked)),
                (Some(1), Some(1), Some(1)),
                "{}",
                store.backend()
            );
            assert_eq!(soon.expiring, 1, "{}: the live grant ends within the week", store.backend());
            assert_eq!(soon.revoked_since, 0, "{}: the revocation was 25 days before", store.backend());
            let early = store.overview_figures(at(60), week, week).await.unwrap();
            assert_eq!((early.expiring, early.revoked_since), (0, 1), "{}", store.backend());
        }
    }
}
