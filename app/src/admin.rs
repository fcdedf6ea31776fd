//! What admins look at: the dashboard of every grant with its kubeconfigs, and the audit log. The filters
//! travel in the page's query string (so a filtered view is a link to share, and works without JavaScript)
//! and are parsed here, the same way in the browser and on the server.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::requests::{Action, RequestState};

/// Grants on one dashboard page.
pub const GRANTS_PER_PAGE: u32 = 25;
/// Events on one audit log page.
pub const EVENTS_PER_PAGE: u32 = 50;
/// The longest search text accepted; longer is cut (it is a filter, not data).
pub const MAX_FILTER_CHARS: usize = 100;

/// What the dashboard's rows are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantSort {
    /// Newest request first (the default).
    #[default]
    Created,
    /// Ending soonest first.
    Expires,
    Namespace,
    Owner,
    State,
}

impl GrantSort {
    pub const ALL: [GrantSort; 5] =
        [GrantSort::Created, GrantSort::Expires, GrantSort::Namespace, GrantSort::Owner, GrantSort::State];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantSort::Created => "created",
            GrantSort::Expires => "expires",
            GrantSort::Namespace => "namespace",
            GrantSort::Owner => "owner",
            GrantSort::State => "state",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GrantSort::Created => "Newest first",
            GrantSort::Expires => "Ending soonest",
            GrantSort::Namespace => "Namespace A–Z",
            GrantSort::Owner => "Owner A–Z",
            GrantSort::State => "State",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.as_str() == name)
    }
}

/// The dashboard's filters, sort and page. Empty text means "any".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GrantFilter {
    /// Part of the namespace's name, or of the owner's name or email.
    pub search: String,
    pub state: Option<RequestState>,
    pub stage: String,
    /// Part of the owner's name or email.
    pub owner: String,
    pub sort: GrantSort,
    /// 1-based.
    pub page: u32,
}

impl GrantFilter {
    /// From the query string's values (`q`, `state`, `stage`, `owner`, `sort`, `page`); anything unknown is
    /// dropped rather than refused: a stale link still shows a page.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            search: filter_text(get("q")),
            state: get("state").and_then(|s| RequestState::parse(&s)),
            stage: filter_text(get("stage")),
            owner: filter_text(get("owner")),
            sort: get("sort").and_then(|s| GrantSort::parse(&s)).unwrap_or_default(),
            page: page_number(get("page")),
        }
    }

    /// The query string of this view on `page` (for the pager's links).
    pub fn query(&self, page: u32) -> String {
        let mut pairs = vec![("q", self.search.clone()), ("stage", self.stage.clone()), ("owner", self.owner.clone())];
        pairs.push(("state", self.state.map(|s| s.as_str().to_string()).unwrap_or_default()));
        if self.sort != GrantSort::default() {
            pairs.push(("sort", self.sort.as_str().to_string()));
        }
        query_string(pairs, page)
    }
}

/// The audit log's filters and page. Empty text means "any".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Part of the actor's name or email ("Berth" for the worker).
    pub person: String,
    /// Part of the namespace's name.
    pub namespace: String,
    pub action: Option<Action>,
    /// From the start of this day (UTC).
    pub from: Option<NaiveDate>,
    /// To the end of this day (UTC).
    pub to: Option<NaiveDate>,
    pub page: u32,
}

impl AuditFilter {
    /// From the query string's values (`person`, `namespace`, `kind`, `from`, `to`, `page`).
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        let date = |key: &str| get(key).and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
        Self {
            person: filter_text(get("person")),
            namespace: filter_text(get("namespace")),
            action: get("kind").and_then(|a| Action::parse(&a)),
            from: date("from"),
            to: date("to"),
            page: page_number(get("page")),
        }
    }

    /// The query string of this view on `page`; page 0 leaves the page out (for the export links).
    pub fn query(&self, page: u32) -> String {
        let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        query_string(
            vec![
                ("person", self.person.clone()),
                ("namespace", self.namespace.clone()),
                ("kind", self.action.map(|a| a.as_str().to_string()).unwrap_or_default()),
                ("from", day(self.from)),
                ("to", day(self.to)),
            ],
            page,
        )
    }

    /// The first moment the filter admits, if bounded.
    pub fn from_instant(&self) -> Option<DateTime<Utc>> {
        self.from.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
    }

    /// The first moment after the filter's last day, if bounded.
    pub fn until_instant(&self) -> Option<DateTime<Utc>> {
        self.to.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The event's number: increasing, never reused.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who did it; `None`: Berth itself.
    pub actor: Option<String>,
    pub actor_email: Option<String>,
    pub action: Action,
    pub request_id: String,
    pub namespace: String,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub credential_id: Option<String>,
    pub reason: Option<String>,
}

/// Trimmed, and cut to [`MAX_FILTER_CHARS`].
fn filter_text(value: Option<String>) -> String {
    value.unwrap_or_default().trim().chars().take(MAX_FILTER_CHARS).collect()
}

fn page_number(value: Option<String>) -> u32 {
    value.and_then(|p| p.trim().parse().ok()).filter(|p| *p >= 1).unwrap_or(1)
}

/// `?a=1&b=2&page=3`, leaving out empty values (and the page when it is 0).
fn query_string(pairs: Vec<(&str, String)>, page: u32) -> String {
    let mut parts: Vec<String> =
        pairs.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(&v))).collect();
    if page > 0 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// One person who has signed in at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub display_name: String,
    pub email: Option<String>,
    /// The identity provider's subject, unique per issuer.
    pub subject: String,
    /// The role their groups granted at their last sign-in; `None`: no access.
    pub role: Option<Role>,
    /// The groups of their last sign-in (the decision policy's approvals are by group).
    pub groups: Vec<String>,
    pub first_sign_in_at: DateTime<Utc>,
    pub last_sign_in_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
    }

    #[test]
    fn a_dashboard_link_round_trips_through_its_query_string() {
        let filter = GrantFilter::from_query(query(&[
            ("q", " shop & co "),
            ("state", "ready"),
            ("stage", "production"),
            ("owner", "alice"),
            ("sort", "expires"),
            ("page", "3"),
        ]));
        assert_eq!(filter.search, "shop & co");
        assert_eq!((filter.state, filter.sort, filter.page), (Some(RequestState::Ready), GrantSort::Expires, 3));
        assert_eq!(filter.query(4), "?q=shop%20%26%20co&stage=production&owner=alice&state=ready&sort=expires&page=4");
    }

    #[test]
    fn unknown_or_hostile_values_fall_back_to_the_defaults() {
        let filter = GrantFilter::from_query(query(&[
            ("state", "'; DROP TABLE requests; --"),
            ("sort", "id; DELETE"),
            ("page", "-1"),
            ("q", &"x".repeat(500)),
        ]));
        assert_eq!((filter.state, filter.sort, filter.page), (None, GrantSort::Created, 1));
        assert_eq!(filter.search.len(), MAX_FILTER_CHARS);
        assert_eq!(GrantFilter::default().query(1), "?page=1");
    }

    #[test]
    fn the_audit_log_s_days_are_whole_utc_days() {
        let filter =
            AuditFilter::from_query(query(&[("from", "2026-11-30"), ("to", "2026-11-30"), ("kind", "revoke")]));
        assert_eq!(filter.action, Some(Action::Revoke));
        assert_eq!(filter.from_instant().unwrap().to_rfc3339(), "2026-11-30T00:00:00+00:00");
        assert_eq!(filter.until_instant().unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(filter.query(0), "?kind=revoke&from=2026-11-30&to=2026-11-30");
        let sloppy = AuditFilter::from_query(query(&[("from", "yesterday"), ("kind", "everything")]));
        assert_eq!((sloppy.from, sloppy.action), (None, None));
    }
}
