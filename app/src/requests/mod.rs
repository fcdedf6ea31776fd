//! Namespace requests: the types that cross the wire, the lifecycle, and the name rules.

pub mod credentials;
pub mod lifecycle;
pub mod members;
pub mod naming;
pub mod usage;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use lifecycle::{Action, RequestState};

/// How the namespace's users deploy with Helm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HelmMode {
    /// Helm 2: a Tiller of the namespace's own, locked to it.
    Tiller,
    /// Helm 3 and later, which need no server-side component. (`none` in the database and on the wire.)
    #[serde(rename = "none")]
    NoTiller,
}

impl HelmMode {
    pub const ALL: [HelmMode; 2] = [HelmMode::NoTiller, HelmMode::Tiller];

    pub fn as_str(self) -> &'static str {
        match self {
            HelmMode::Tiller => "tiller",
            HelmMode::NoTiller => "none",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == name)
    }

    pub fn label(self) -> &'static str {
        match self {
            HelmMode::Tiller => "Helm 2 with a Tiller in the namespace",
            HelmMode::NoTiller => "Helm 3 or later (no Tiller)",
        }
    }
}

/// The fields of the request form, for errors shown next to them.
pub mod field {
    pub const NAMESPACE: &str = "namespace";
    pub const PURPOSE: &str = "purpose";
    pub const STAGE: &str = "stage";
    pub const HELM_MODE: &str = "helm_mode";
    pub const QUOTA_PROFILE: &str = "quota_profile";
    pub const LIFETIME_DAYS: &str = "lifetime_days";
    /// The owning team (one of the requester's groups).
    pub const TEAM: &str = "team";
    /// The reason an approver gives for a denial.
    pub const REASON: &str = "reason";
    /// The days of an extension.
    pub const DAYS: &str = "days";
    /// The namespace's name, typed again to confirm its deletion.
    pub const CONFIRM: &str = "confirm";
}

/// An approver's answer to a request, or to the extension of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Approve,
    /// Refused, saying why (as typed; the server checks it).
    Deny {
        reason: String,
    },
}

impl Verdict {
    pub fn approves(&self) -> bool {
        matches!(self, Verdict::Approve)
    }
}

/// The raw form of a new request, as typed. Every field arrives as text so that a malformed value gets a
/// message next to its field rather than a decoding error; the server parses and checks each one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestForm {
    pub namespace: String,
    pub purpose: String,
    pub stage: String,
    pub helm_mode: String,
    pub quota_profile: String,
    pub lifetime_days: String,
    /// The owning team; empty for none.
    pub team: String,
}

/// What the New request form offers, from the server's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOptions {
    pub stages: Vec<String>,
    /// Whether Helm 2 with a Tiller may be requested at all.
    pub tiller_enabled: bool,
    pub quota_profiles: Vec<QuotaProfileSummary>,
    pub lifetime_days: crate::model::Bounds,
    pub purpose_max_chars: u32,
    /// The installation's naming policy in words, if it has one.
    pub naming_policy: Option<String>,
    /// The caller's groups that may own a grant (the installation's team groups); empty: teams are not used
    /// here, or the caller is in none.
    #[serde(default)]
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaProfileSummary {
    pub name: String,
    pub description: String,
    /// The ResourceQuota's hard limits, for example `("requests.cpu", "2")`.
    pub limits: Vec<(String, String)>,
}

/// A person as a request shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub display_name: String,
    pub email: Option<String>,
}

/// An approver's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub by: PersonRef,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A request with everything its pages show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub id: String,
    pub namespace: String,
    pub purpose: String,
    pub stage: String,
    pub helm_mode: HelmMode,
    pub quota_profile: String,
    pub lifetime_days: u32,
    pub requester: PersonRef,
    /// The team (a group of the requester's) that owns the grant: everyone in it is a member.
    #[serde(default)]
    pub team: Option<String>,
    pub state: RequestState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decision: Option<Decision>,
    /// How far the worker got with the grant's objects (from approval until ready).
    pub progress: Option<Progress>,
    /// The cluster's last error while provisioning: why it failed, or why it is being retried.
    pub last_error: Option<String>,
    pub ready_at: Option<DateTime<Utc>>,
    /// When the grant ends: its lifetime counted from the moment it became ready.
    pub expires_at: Option<DateTime<Utc>>,
    /// Its owner has been warned that it ends soon.
    pub expiry_warned: bool,
    /// A change its owner asked for (more time, another quota profile, Helm 3 instead of Tiller), waiting
    /// for approvers.
    pub change: Option<ChangeAsk>,
    /// An admin's deletion of the namespace: asked for, and done once its access was removed.
    pub namespace_deletion: Option<NamespaceDeletion>,
}

/// A change of a ready grant, as its owner asked for it: any of more time, another quota profile, Helm 3
/// instead of Tiller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeAsk {
    /// More days (an extension).
    pub days: Option<u32>,
    /// Another quota profile.
    pub quota_profile: Option<String>,
    /// Another Helm mode (only Tiller to Helm 3 is offered).
    pub helm_mode: Option<HelmMode>,
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl ChangeAsk {
    /// What it asks for, in words: "30 more days, quota profile medium, Helm 3 instead of Tiller".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(days) = self.days {
            parts.push(format!("{days} more days"));
        }
        if let Some(profile) = &self.quota_profile {
            parts.push(format!("quota profile {profile}"));
        }
        if self.helm_mode == Some(HelmMode::NoTiller) {
            parts.push("Helm 3 instead of Tiller".to_string());
        }
        parts.join(", ")
    }
}

/// What the change form offers for a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOptions {
    /// The most days one change may add.
    pub max_days: u32,
    pub quota_profiles: Vec<QuotaProfileSummary>,
    pub current_profile: String,
    /// The grant runs a Tiller, so switching to Helm 3 is offered.
    pub tiller: bool,
}

/// How much of its quota a namespace uses, as its ResourceQuota's status reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUse {
    /// For example `requests.cpu`.
    pub resource: String,
    pub used: String,
    pub hard: String,
}

/// The change form, as typed: empty fields ask for nothing of their kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeForm {
    pub days: String,
    pub quota_profile: String,
    pub helm_mode: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceDeletion {
    pub requested_at: DateTime<Utc>,
    /// `None`: the worker has not deleted it yet (it waits until the grant's access is gone).
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The grant's objects applied so far, out of all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub applied: u32,
    pub total: u32,
}

/// One line of a request's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub action: Action,
    /// `None` for the submission.
    pub from: Option<RequestState>,
    pub to: RequestState,
    /// Who did it; `None`: Berth itself (its background worker).
    pub actor: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A request and its audit trail, oldest event first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestWithTimeline {
    pub request: RequestSummary,
    pub events: Vec<AuditEvent>,
}

/// What the caller may do with a request, decided on the server (and checked again when they do it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Permissions {
    pub cancel: bool,
    pub decide: bool,
    /// An admin may start provisioning a failed request again.
    pub retry: bool,
    /// The requester of a ready grant may download kubeconfigs for it.
    pub download: bool,
    /// Its requester and admins may revoke its kubeconfigs.
    pub revoke_credentials: bool,
    /// An admin may take the grant's access away.
    pub revoke: bool,
    /// The requester or a member of a ready grant may ask for a change (one at a time).
    pub ask_change: bool,
    /// Its requester and admins may add and remove members and robots of a ready grant.
    pub manage_access: bool,
    /// An approver may decide the change asked for.
    pub decide_change: bool,
    /// An admin may delete the namespace (it goes once the grant's access is removed).
    pub delete_namespace: bool,
}

/// The request detail page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub request: RequestSummary,
    /// The viewer's `users.id` (a member may revoke the kubeconfigs issued to them).
    pub viewer: String,
    pub events: Vec<AuditEvent>,
    pub may: Permissions,
    /// Why the caller, an approver, may not decide it (their own request), if that is the reason.
    pub decide_refusal: Option<String>,
    /// For a pending request: how far its approvals are, and what the caller may add.
    pub approval: Option<crate::policy::approvals::ApprovalStanding>,
    /// The kubeconfigs handed out for this grant (metadata only), newest first.
    pub credentials: Vec<credentials::CredentialSummary>,
    /// Its owner, members and robots; `Some` for a grant that was approved.
    pub members: Option<members::GrantMembers>,
    /// What the download form offers; `Some` when the caller may download.
    pub credential_options: Option<credentials::CredentialOptions>,
    /// What the change form offers; `Some` when the caller may ask for a change.
    pub change_options: Option<ChangeOptions>,
    /// The namespace's quota use, for a ready grant (`None`: not ready, or the cluster did not say).
    pub quota_use: Option<Vec<QuotaUse>>,
    /// How the namespace's Tiller is doing, for a ready grant in Tiller mode (as its Deployment reports it).
    pub tiller: Option<TillerRollout>,
}

impl RequestDetail {
    /// How often the request's page looks again by itself, in seconds: every second while Berth works on it
    /// (provisioning, revoking, deleting the namespace), every 5 s while it waits for someone else's decision
    /// (not for the approver deciding it: a fresh page would wipe a half-typed reason), never once settled.
    pub fn watch_every_seconds(&self) -> Option<u32> {
        let deleting = self.request.namespace_deletion.as_ref().is_some_and(|n| n.deleted_at.is_none());
        match self.request.state {
            RequestState::Approved | RequestState::Provisioning | RequestState::Revoking => Some(1),
            _ if deleting => Some(1),
            RequestState::Pending if !self.may.decide => Some(5),
            _ => None,
        }
    }

    /// What the page shows that Berth or other people change: when it differs from the page's, the page is
    /// out of date. (Compact, so the watching page fetches a few bytes a second, not the whole record.)
    pub fn fingerprint(&self) -> String {
        let r = &self.request;
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}",
            r.state.as_str(),
            r.progress.as_ref().map(|p| p.applied).unwrap_or_default(),
            r.last_error.as_deref().unwrap_or_default().len(),
            r.change.is_some(),
            r.namespace_deletion
                .as_ref()
                .map(|n| if n.deleted_at.is_some() { "deleted" } else { "asked" })
                .unwrap_or_default(),
            self.events.len(),
            self.credentials.len(),
            self.members.as_ref().map(|m| m.members.len() * 1000 + m.robots.len()).unwrap_or_default(),
            self.tiller.as_ref().map(|t| t.state.label()).unwrap_or_default(),
        )
    }
}

/// Tiller's rollout, as its Deployment's status reports it: the grant's objects can all exist while Tiller's
/// pod is still pulling its image, or never starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillerRollout {
    pub state: TillerState,
    /// What the Deployment says, in a sentence ("0 of 1 replicas available: …").
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TillerState {
    /// Its pod is not available yet (being scheduled, pulling, starting, not ready).
    Waiting,
    /// Available: `helm` can reach it.
    Available,
    /// The Deployment reports it cannot progress (its pod cannot be created, or the rollout timed out).
    Failing,
    /// Berth could not read the Deployment just now.
    Unknown,
}

impl TillerState {
    pub fn label(self) -> &'static str {
        match self {
            TillerState::Waiting => "starting",
            TillerState::Available => "available",
            TillerState::Failing => "failing",
            TillerState::Unknown => "unknown",
        }
    }
}

/// A pending request, or a ready grant's pending extension, on the Approvals page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalItem {
    pub request: RequestSummary,
    /// `None`: the caller may decide it; otherwise why not.
    pub decide_refusal: Option<String>,
    /// For a pending request the caller may decide: how far its approvals are, and what the caller may add.
    pub approval: Option<crate::policy::approvals::ApprovalStanding>,
}

/// A grant with every kubeconfig it handed out (the dashboard's rows, My access).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantWithCredentials {
    pub request: RequestSummary,
    /// Newest first.
    pub credentials: Vec<credentials::CredentialSummary>,
}

/// My access: the caller's grants that still give (or are about to give) access, with their kubeconfigs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyAccess {
    /// Ending soonest first.
    pub grants: Vec<GrantWithCredentials>,
    /// The server's clock when it answered: "time left" is counted from here, the same in the browser and on
    /// the server.
    pub as_of: DateTime<Utc>,
}

/// "3 days 4 hours", "5 hours 20 minutes", "ended": the time from `now` until `end`, as people say it.
pub fn time_left(now: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let minutes = (end - now).num_minutes();
    if minutes <= 0 {
        return "ended".to_string();
    }
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => plural(minutes, "minute"),
        (0, _) => format!("{} {}", plural(hours, "hour"), plural(minutes, "minute")),
        _ => format!("{} {}", plural(days, "day"), plural(hours, "hour")),
    }
}

/// Where a page of a list ordered oldest first starts: a page number (counted from the start: fine for the
/// first pages and old bookmarks), or the neighbour of a request already shown (keyset: as fast at page 400
/// as at page 1). The number travels with the neighbour so the page can say where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PagePosition {
    Number(u32),
    After { id: String, number: u32 },
    Before { id: String, number: u32 },
}

impl PagePosition {
    /// From a page's query parameters: `after=ID&page=N`, `before=ID&page=N`, or `page=N`.
    pub fn from_query(after: Option<String>, before: Option<String>, page: Option<u32>) -> Self {
        let number = page.unwrap_or(1).max(1);
        match (after.filter(|id| !id.is_empty()), before.filter(|id| !id.is_empty())) {
            (Some(id), _) => Self::After { id, number },
            (None, Some(id)) => Self::Before { id, number },
            (None, None) => Self::Number(number),
        }
    }

    pub fn number(&self) -> u32 {
        match self {
            Self::Number(number) | Self::After { number, .. } | Self::Before { number, .. } => (*number).max(1),
        }
    }
}

/// The Approvals page: one page of the pending requests and the pending changes (at most a page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approvals {
    pub requests: Page<ApprovalItem>,
    pub changes: Page<ApprovalItem>,
}

/// The home page of a signed-in person: what each of their roles came for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    /// Their grants that give access now or soon, ending soonest first.
    pub grants: Vec<RequestSummary>,
    /// Their requests waiting for a decision, newest first.
    pub waiting: Vec<RequestSummary>,
    /// For approvers.
    pub queue: Option<HomeQueue>,
    /// For admins.
    pub overview: Option<Overview>,
    pub as_of: DateTime<Utc>,
}

/// How much waits for an approver, and the oldest requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeQueue {
    pub requests: u64,
    pub changes: u64,
    pub oldest: Vec<RequestSummary>,
}

/// The admin's overview of every grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// The stages in the configured order (then any other stage found), each with its grants by state.
    pub stages: Vec<StageFigures>,
    /// Ready grants that end within a week.
    pub expiring_within_week: u64,
    /// Grants whose access was taken away in the last seven days.
    pub revoked_this_week: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageFigures {
    pub stage: String,
    /// Requests in each state (states with none left out), in the lifecycle's order.
    pub by_state: Vec<(RequestState, u64)>,
}

impl Overview {
    /// How many requests of every stage are in `state`.
    pub fn in_state(&self, state: RequestState) -> u64 {
        self.stages.iter().flat_map(|stage| &stage.by_state).filter(|(s, _)| *s == state).map(|(_, n)| n).sum()
    }
}

/// One page of a longer list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// 1-based.
    pub number: u32,
    pub size: u32,
    pub total: u64,
}

impl<T> Page<T> {
    /// How many pages the whole list has (at least 1, so an empty list is "page 1 of 1").
    pub fn count(&self) -> u32 {
        u32::try_from(self.total.div_ceil(u64::from(self.size.max(1)))).unwrap_or(u32::MAX).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_count_rounds_up_and_is_never_zero() {
        let page = |total| Page::<()> { items: vec![], number: 1, size: 25, total };
        assert_eq!([page(0).count(), page(1).count(), page(25).count(), page(26).count()], [1, 1, 1, 2]);
        assert_eq!(page(10_000).count(), 400);
    }

    #[test]
    fn time_left_reads_as_people_say_it() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let later = |minutes| now + chrono::TimeDelta::minutes(minutes);
        assert_eq!(time_left(now, later(-5)), "ended");
        assert_eq!(time_left(now, now), "ended");
        assert_eq!(time_left(now, later(1)), "1 minute");
        assert_eq!(time_left(now, later(59)), "59 minutes");
        assert_eq!(time_left(now, later(61)), "1 hour 1 minute");
        assert_eq!(time_left(now, later(3 * 1440 + 4 * 60 + 59)), "3 days 4 hours");
    }

    #[test]
    fn helm_modes_round_trip() {
        for mode in HelmMode::ALL {
            assert_eq!(HelmMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(HelmMode::parse("helm2"), None);
    }
}
