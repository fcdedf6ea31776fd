//! Namespace requests: implements [`app::ports::RequestsPort`].
//!
//! The server function has passed the policy's gate; here each use case reads its record and asks the policy
//! (`app::policy`) whether the caller may act on it, then validates the input and makes the change. The
//! requester of a new request is always the caller.

use app::auth::Caller;
use app::error::ApiError;
use app::error::FieldProblem;
use app::model::{Reason, RequestId};
use app::policy::approvals::{self, ApprovalStanding, ApproveOffer, Approver, GivenApproval};
use app::policy::stages::{Asked, StagePolicy};
use app::policy::{Policy, Target, UseCase};
use app::ports::RequestsPort;
use app::requests::lifecycle::{self, Action};
use app::requests::{
    ApprovalItem, Approvals, ChangeAsk, ChangeForm, ChangeOptions, GrantWithCredentials, HelmMode, Home, HomeQueue,
    MyAccess, Overview, Page, PagePosition, PersonRef, QuotaProfileSummary, RequestDetail, RequestForm, RequestOptions,
    RequestState, RequestSummary, RequestWithTimeline, StageFigures, Verdict, field,
};
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::validation::{Rules, ValidRequest};
use super::worker::Waker;
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::cluster::quantity;
use crate::config::CredentialsConfig;
use crate::config::QuotaProfile;
use crate::notify::{Notice, Notifier};
use crate::store::Store;
use crate::store::approvals::{NewApproval, RecordedApproval};
use crate::store::grants::{ChangeDecision, ChangedGrant, DecidedBy, NewChange};
use crate::store::queue::{Decider, OverviewFigures, QueueQuery, Window};
use crate::store::requests::{NewRequest, RequestRecord, Slice, SubmitError, Transition};

/// Rows per page on My requests and Approvals.
pub const PAGE_SIZE: u32 = 25;

pub struct RequestsService {
    pub store: Store,
    pub cluster: Cluster,
    pub rules: Rules,
    pub notifier: Notifier,
    /// Wakes the background worker after an approval, a retry or a revocation.
    pub worker: Waker,
    /// Lifetimes the kubeconfig download offers.
    pub credentials: CredentialsConfig,
    /// Where identities live (robots are shown by the name the API server gives them).
    pub identities_namespace: String,
    pub clock: Clock,
}

impl RequestsService {
    /// The request `id` if `caller` may do `use_case` to it (by the policy: who, then state).
    async fn authorized(&self, caller: &Caller, id: &str, use_case: UseCase) -> Result<RequestRecord, ApiError> {
        authorized_request(&self.store, &self.rules.policy(), caller, id, use_case).await
    }

    /// Moves the request along `action` if it is still where it was read; otherwise says what happened.
    async fn transition(
        &self,
        caller: &Caller,
        record: &RequestRecord,
        (use_case, action): (UseCase, Action),
        reason: Option<&str>,
    ) -> Result<RequestState, ApiError> {
        let from = record.summary.state;
        let to = lifecycle::next(from, action).map_err(|refused| ApiError::Conflict(refused.to_string()))?;
        let transition = Transition {
            request_id: &record.summary.id,
            version: record.version,
            from,
            to,
            action,
            actor_id: Some(&caller.person.id),
            reason,
            at: self.clock.now(),
            expires_at: None,
        };
        if self.store.apply(&transition).await? {
            tracing::info!(request = %record.summary.id, action = action.as_str(), from = from.as_str(), to = to.as_str(), actor = %caller.person.id, "request changed");
            return Ok(to);
        }
        // Someone else changed it between our read and our write: the policy, asked again, says what happened.
        let now = self.store.request(&record.summary.id).await?.ok_or(ApiError::NotFound)?;
        let member = is_member(&self.store, &now, caller).await?;
        self.rules.policy().check(caller, use_case, target(&now, member))?;
        Err(ApiError::Conflict("This request changed meanwhile; reload the page and try again.".to_string()))
    }

    /// Whether nobody holds `namespace`, in Berth or in the cluster; nothing is stored either way.
    async fn name_is_free(&self, namespace: &str) -> Result<(), ApiError> {
        if self.store.namespace_held(namespace).await? {
            return Err(name_taken(namespace));
        }
        match self.cluster.namespace_exists(namespace).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(ApiError::invalid(
                field::NAMESPACE,
                format!("A namespace '{namespace}' already exists in the cluster."),
            )),
            Err(error) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&error), "cannot check a namespace name");
                Err(ApiError::Unavailable(
                    "Berth could not reach the cluster to check that the name is free, so nothing was stored. \
                     Try again in a minute."
                        .to_string(),
                ))
            }
        }
    }

    /// Page `number` of things waiting for `caller`'s decision, each saying why they may not decide it, if so,
    /// and for pending requests how far their approvals are.
    async fn approval_page(
        &self,
        caller: &Caller,
        slice: Slice<RequestRecord>,
        number: u32,
    ) -> Result<Page<ApprovalItem>, ApiError> {
        let policy = self.rules.policy();
        let mut approvals = self.approvals_of(&policy, &slice.items).await?;
        let items = slice
            .items
            .into_iter()
            .map(|record| {
                let decide_refusal = policy.decide_refusal(caller, &record.requester_id, &record.summary);
                let approval = (waits_for_decision(&record) && decide_refusal.is_none()).then(|| {
                    standing(&policy, caller, &record, &approvals.remove(&record.summary.id).unwrap_or_default())
                });
                ApprovalItem { decide_refusal, approval, request: record.summary }
            })
            .collect();
        Ok(Page { items, number, size: PAGE_SIZE, total: slice.total })
    }

    /// The approvals so far of those of `records` that wait for a decision in a stage needing more than one:
    /// the others have none (their first approval decides them), and are not asked about.
    async fn approvals_of(
        &self,
        policy: &Policy,
        records: &[RequestRecord],
    ) -> Result<HashMap<String, Vec<RecordedApproval>>, ApiError> {
        let several: Vec<&str> = records
            .iter()
            .filter(|record| waits_for_decision(record))
            .filter(|record| {
                policy.stage(&record.summary.stage).approvals.iter().map(|slot| slot.count).sum::<u32>() > 1
            })
            .map(|record| record.summary.id.as_str())
            .collect();
        Ok(self.store.approvals_of(&several).await?)
    }

    /// A change form checked against the grant, the installation and the stage's policy, every problem next to
    /// its field; a smaller profile also against what the namespace uses now (asked of the cluster: if it does
    /// not answer, nothing is stored).
    async fn checked_change(&self, record: &RequestRecord, form: &ChangeForm) -> Result<ChangeAsk, ApiError> {
        let config = self.rules.config();
        let policy = self.rules.policy();
        let stage = policy.stage(&record.summary.stage);
        let current = &record.summary;
        let mut problems = Vec::new();
        let max_days = stage.max_lifetime_days.unwrap_or(config.lifetime_days.max).min(config.lifetime_days.max);
        let days = match form.days.trim() {
            "" => None,
            typed => match typed.parse::<u32>() {
                Ok(days) if (1..=max_days).contains(&days) => Some(days),
                _ => {
                    let message = format!("A whole number of days, 1 to {max_days}; empty for no more time.");
                    problems.push(FieldProblem::new(field::DAYS, message));
                    None
                }
            },
        };
        let profile = match form.quota_profile.trim() {
            "" => None,
            name if name == current.quota_profile => None,
            name => match config.quota_profiles.iter().find(|profile| profile.name == name) {
                Some(profile) => Some(profile),
                None => {
                    let names: Vec<&str> = config.quota_profiles.iter().map(|profile| profile.name.as_str()).collect();
                    let message = format!("Choose one of the quota profiles: {}.", names.join(", "));
                    problems.push(FieldProblem::new(field::QUOTA_PROFILE, message));
                    None
                }
            },
        };
        let helm_mode = match (form.helm_mode.trim(), current.helm_mode) {
            ("", _) => None,
            (mode, HelmMode::Tiller) if mode == HelmMode::NoTiller.as_str() => Some(HelmMode::NoTiller),
            _ => {
                let message = "Only a switch from Tiller to Helm 3 can be asked for.".to_string();
                problems.push(FieldProblem::new(field::HELM_MODE, message));
                None
            }
        };
        let reason = Reason::parse_into(&form.reason, "Say why, for the approvers.", &mut problems);
        if problems.is_empty() && days.is_none() && profile.is_none() && helm_mode.is_none() {
            let message = "Ask for something: more days, another quota profile or Helm 3.".to_string();
            problems.push(FieldProblem::new(field::DAYS, message));
        }
        if problems.is_empty() {
            // What the grant would be afterwards must be something the stage allows.
            let asked = Asked {
                profile: profile.map_or(&current.quota_profile, |profile| &profile.name),
                helm_mode: helm_mode.unwrap_or(current.helm_mode),
                lifetime_days: days.unwrap_or(0),
                active_grants: 0,
            };
            problems.extend(stage.problems(&asked).into_iter().map(|problem| match problem.field.as_str() {
                field::LIFETIME_DAYS => FieldProblem::new(field::DAYS, problem.message),
                _ => problem,
            }));
        }
        let (true, Some(reason)) = (problems.is_empty(), reason) else { return Err(ApiError::Invalid(problems)) };
        if let Some(profile) = profile {
            self.fits(current, profile).await?;
        }
        Ok(ChangeAsk {
            days,
            quota_profile: profile.map(|profile| profile.name.clone()),
            helm_mode,
            reason: reason.as_str().to_string(),
            at: self.clock.now(),
        })
    }

    /// Whether the namespace of `grant` uses no more than `profile` allows, by its quota's `status.used`.
    async fn fits(&self, grant: &RequestSummary, profile: &QuotaProfile) -> Result<(), ApiError> {
        let usage = self.cluster.quota_use(&grant.namespace).await.map_err(|error| {
            tracing::warn!(error = %crate::telemetry::error_chain(&error), "cannot read a namespace's quota use");
            ApiError::Unavailable(
                "Berth could not read the namespace's quota use from the cluster, so nothing was stored. Try again \
                 in a minute."
                    .to_string(),
            )
        })?;
        let over: Vec<String> = profile
            .effective_quota()
            .iter()
            .filter_map(|(resource, limit)| {
                let used = &usage.iter().find(|usage| &usage.resource == resource)?.used;
                quantity::exceeds(used, limit).then(|| format!("{resource} {used} (at most {limit})"))
            })
            .collect();
        if over.is_empty() {
            return Ok(());
        }
        Err(ApiError::invalid(
            field::QUOTA_PROFILE,
            format!(
                "The namespace uses more than {} allows: {}. Free some first, or choose a larger profile.",
                profile.name,
                over.join(", ")
            ),
        ))
    }

    /// The rule that approves `asked` at once, if any (the policy's [`StagePolicy::change_auto_approval`]),
    /// given what this grant has and its owner's other active grants.
    async fn rule_approving(&self, record: &RequestRecord, asked: &ChangeAsk) -> Result<Option<String>, ApiError> {
        let config = self.rules.config();
        let current = &record.summary;
        let profile_of = |name: &str| config.quota_profiles.iter().find(|profile| profile.name == name);
        let smaller = match (&asked.quota_profile, profile_of(&current.quota_profile)) {
            (None, _) => true,
            (Some(name), Some(now)) => profile_of(name).is_some_and(|new| is_within(new, now)),
            (Some(_), None) => false,
        };
        let policy = self.rules.policy();
        let stage = policy.stage(&current.stage);
        // The grant being changed is one of the owner's active grants; the rules count the others.
        let others = if stage.auto_approve.is_empty() {
            0
        } else {
            self.store.active_grants_of(&record.requester_id).await?.saturating_sub(1)
        };
        let as_changed = Asked {
            profile: asked.quota_profile.as_deref().unwrap_or(&current.quota_profile),
            helm_mode: asked.helm_mode.unwrap_or(current.helm_mode),
            lifetime_days: asked.days.unwrap_or(0),
            active_grants: others,
        };
        let takes_away = asked.days.is_none() && smaller;
        Ok(stage.change_auto_approval(takes_away, &as_changed).map(str::to_string))
    }

    /// Approves the change `asked` of `record` in the name of `decider` (the grant takes its new end, profile
    /// and Helm mode) and wakes the worker to apply it. `false`: the grant changed meanwhile.
    async fn approve_change(
        &self,
        record: &RequestRecord,
        asked: &ChangeAsk,
        decided_by: DecidedBy<'_>,
    ) -> Result<bool, ApiError> {
        let current = &record.summary;
        let after = ChangedGrant {
            expires_at: current.expires_at.map(|ends| ends + TimeDelta::days(i64::from(asked.days.unwrap_or(0)))),
            quota_profile: asked.quota_profile.as_deref().unwrap_or(&current.quota_profile),
            helm_mode: asked.helm_mode.unwrap_or(current.helm_mode),
        };
        let decision = ChangeDecision { record, decided_by, approved: Some(after), reason: None, at: self.clock.now() };
        if !self.store.decide_change(&decision).await? {
            return Ok(false);
        }
        self.worker.wake();
        Ok(true)
    }

    /// What the change form offers for `grant`.
    fn change_options(&self, grant: &RequestSummary) -> ChangeOptions {
        let config = self.rules.config();
        let stage = self.rules.policy().stage(&grant.stage).max_lifetime_days;
        ChangeOptions {
            max_days: stage.unwrap_or(config.lifetime_days.max).min(config.lifetime_days.max),
            quota_profiles: quota_profile_summaries(&config.quota_profiles),
            current_profile: grant.quota_profile.clone(),
            tiller: grant.helm_mode == HelmMode::Tiller,
        }
    }

    /// What `caller` may still decide, for the queue's statement.
    fn decider<'a>(&self, policy: &Policy, caller: &'a Caller, closed_stages: &'a [String]) -> Decider<'a> {
        Decider { person: &caller.person.id, includes_own: policy.approvers_may_decide_own, closed_stages }
    }

    /// Approves `record` as `caller`, if their approval counts: records it, and when it fills the last seat
    /// moves the request to approved in the same transaction. `Ok(None)`: the request changed since it was
    /// read; read it again and judge anew.
    async fn approve(&self, caller: &Caller, record: &RequestRecord) -> Result<Option<RequestState>, ApiError> {
        // The rules of this moment, not of the submission: an operator may have reserved the name since.
        self.rules
            .still_allowed(&record.summary.namespace, record.summary.team.as_deref(), record.summary.helm_mode)
            .map_err(|why| ApiError::NotAllowed(format!("{why} It cannot be approved; deny it with that reason.")))?;
        let policy = self.rules.policy();
        // Read after the request: an approval landing in between moves the version, and the write below fails.
        let given = self.store.approvals_of(&[record.summary.id.as_str()]).await?.remove(&record.summary.id);
        let standing = standing(&policy, caller, record, &given.unwrap_or_default());
        let completes = match standing.approve {
            ApproveOffer::Completes => true,
            ApproveOffer::Counts => false,
            ApproveOffer::Refused(why) => return Err(ApiError::NotAllowed(why)),
        };
        let groups = groups_named_by(&policy, record, caller);
        let approval =
            NewApproval { record, person_id: &caller.person.id, groups: &groups, completes, at: self.clock.now() };
        if !self.store.add_approval(&approval).await? {
            return Ok(None);
        }
        let state = if completes { RequestState::Approved } else { RequestState::Pending };
        tracing::info!(request = %record.summary.id, actor = %caller.person.id, completes, "request approved");
        Ok(Some(state))
    }
}

/// The quota profiles as the forms list them.
fn quota_profile_summaries(profiles: &[QuotaProfile]) -> Vec<QuotaProfileSummary> {
    profiles
        .iter()
        .map(|profile| QuotaProfileSummary {
            name: profile.name.clone(),
            description: profile.description.clone(),
            limits: profile.quota.clone().into_iter().collect(),
        })
        .collect()
}

/// Whether `record` waits for approvers: a pending request, or a ready grant with a change asked for.
fn waits_for_decision(record: &RequestRecord) -> bool {
    match record.summary.state {
        RequestState::Pending => true,
        RequestState::Ready => record.summary.change.is_some(),
        _ => false,
    }
}

/// The groups of `caller` that the stage of `record` names in its approvals: what their approval counts for.
fn groups_named_by(policy: &Policy, record: &RequestRecord, caller: &Caller) -> Vec<String> {
    let stage = policy.stage(&record.summary.stage);
    let named = |group: &&String| stage.approvals.iter().any(|slot| slot.group.as_ref() == Some(*group));
    caller.person.groups.iter().filter(named).cloned().collect()
}

/// Why someone may not decide in `stage`: none of their groups is among those it names.
fn not_a_decider(stage: &StagePolicy) -> String {
    let groups: Vec<&str> = stage.approvals.iter().map(|slot| slot.label()).collect();
    format!(
        "Requests for {} are decided by {}; none of your groups at sign-in is among them.",
        stage.stage,
        groups.join(" and ")
    )
}

/// Where `record`'s approvals stand for `caller`, from the approvals `recorded` so far.
fn standing(
    policy: &Policy,
    caller: &Caller,
    record: &RequestRecord,
    recorded: &[RecordedApproval],
) -> ApprovalStanding {
    let given: Vec<GivenApproval<'_>> = recorded
        .iter()
        .map(|approval| GivenApproval {
            person: &approval.person_id,
            name: &approval.display_name,
            groups: &approval.groups,
        })
        .collect();
    policy.standing(caller, &record.requester_id, &record.summary, &given)
}

/// Whether every limit of `smaller` is at most the same limit of `larger` (and it drops none): moving to it
/// only takes away.
fn is_within(smaller: &QuotaProfile, larger: &QuotaProfile) -> bool {
    let (smaller, larger) = (smaller.effective_quota(), larger.effective_quota());
    larger.iter().all(|(resource, limit)| smaller.get(resource).is_some_and(|new| quantity::at_most(new, limit)))
}

/// How many of the oldest pending requests an approver's home page lists.
const HOME_QUEUE_LENGTH: u32 = 5;

/// The overview's figures by stage: the configured stages in their order (with or without requests), then
/// any other stage the database has (one since removed from the config).
fn overview(figures: OverviewFigures, configured: &[String]) -> Overview {
    let mut stages: Vec<StageFigures> =
        configured.iter().map(|stage| StageFigures { stage: stage.clone(), by_state: Vec::new() }).collect();
    for (state, stage, n) in figures.by_state_and_stage {
        let index = match stages.iter().position(|figures| figures.stage == stage) {
            Some(index) => index,
            None => {
                stages.push(StageFigures { stage, by_state: Vec::new() });
                stages.len() - 1
            }
        };
        stages[index].by_state.push((state, n));
    }
    for stage in &mut stages {
        stage.by_state.sort_by_key(|(state, _)| RequestState::ALL.iter().position(|s| s == state));
    }
    Overview { stages, expiring_within_week: figures.expiring, revoked_this_week: figures.revoked_since }
}

/// The answer when `namespace` is held by another request.
fn name_taken(namespace: &str) -> ApiError {
    ApiError::invalid(field::NAMESPACE, format!("'{namespace}' is already requested or granted."))
}

/// The request just stored, as its notice and pages show it.
fn just_submitted(id: &str, valid: ValidRequest, caller: &Caller, at: DateTime<Utc>) -> RequestSummary {
    RequestSummary {
        id: id.to_string(),
        namespace: valid.namespace.into_string(),
        purpose: valid.purpose,
        stage: valid.stage,
        helm_mode: valid.helm_mode,
        quota_profile: valid.quota_profile,
        lifetime_days: valid.lifetime_days,
        requester: PersonRef { display_name: caller.person.display_name.clone(), email: caller.person.email.clone() },
        team: valid.team,
        state: lifecycle::initial(),
        created_at: at,
        updated_at: at,
        decision: None,
        progress: None,
        last_error: None,
        ready_at: None,
        expires_at: None,
        expiry_warned: false,
        change: None,
        namespace_deletion: None,
    }
}

/// The request `id` if `policy` lets `caller` do `use_case` to it (who, then state); text that cannot be an id
/// is not found before the database is asked.
pub(crate) async fn authorized_request(
    store: &Store,
    policy: &Policy,
    caller: &Caller,
    id: &str,
    use_case: UseCase,
) -> Result<RequestRecord, ApiError> {
    let id = RequestId::parse(id)?;
    let record = store.request(id.as_str()).await?.ok_or(ApiError::NotFound)?;
    let member = is_member(store, &record, caller).await?;
    policy.check(caller, use_case, target(&record, member))?;
    Ok(record)
}

/// Whether `caller` is a member of the grant `record` (its requester is its owner; asked only of others):
/// in its owning team (their groups at sign-in), or added by its owner.
pub(super) async fn is_member(store: &Store, record: &RequestRecord, caller: &Caller) -> Result<bool, ApiError> {
    if record.requester_id == caller.person.id {
        return Ok(false);
    }
    if record.summary.team.as_ref().is_some_and(|team| caller.person.groups.contains(team)) {
        return Ok(true);
    }
    Ok(store.is_member(&record.summary.id, &caller.person.id).await?)
}

/// What the policy needs to know of `record`, and whether the caller is one of its members.
pub(super) fn target(record: &RequestRecord, member: bool) -> Target<'_> {
    Target::Request { requester_id: &record.requester_id, member, request: &record.summary }
}

/// The 1-based page number asked for, and the offset of its first row.
fn page_bounds(page: u32) -> (u32, u64) {
    let page = page.max(1);
    (page, u64::from(page - 1) * u64::from(PAGE_SIZE))
}

#[async_trait::async_trait]
impl RequestsPort for RequestsService {
    async fn options(&self, caller: &Caller) -> Result<RequestOptions, ApiError> {
        let config = self.rules.config();
        Ok(RequestOptions {
            stages: config.stages.clone(),
            tiller_enabled: config.tiller_enabled,
            quota_profiles: quota_profile_summaries(&config.quota_profiles),
            lifetime_days: config.lifetime_days,
            purpose_max_chars: config.purpose_max_chars,
            naming_policy: config.name_pattern_hint.clone(),
            teams: self.rules.teams_of(&caller.person.groups),
        })
    }

    async fn submit(&self, caller: &Caller, form: RequestForm) -> Result<String, ApiError> {
        let valid = self.rules.check(&form, &caller.person.groups).map_err(ApiError::Invalid)?;
        let cap = self.rules.config().max_pending_per_person;
        let waiting = self.store.pending_count_of(&caller.person.id).await?;
        if waiting >= cap {
            return Err(ApiError::Conflict(format!(
                "You have {waiting} requests waiting for a decision, the most one person may have at once ({cap}). \
                 Cancel one you no longer need, or wait until an approver decides; nothing was stored."
            )));
        }
        self.name_is_free(valid.namespace.as_str()).await?;
        let policy = self.rules.policy();
        let stage = policy.stage(&valid.stage);
        let rule = if stage.auto_approve.is_empty() {
            None
        } else {
            let active_grants = self.store.active_grants_of(&caller.person.id).await?;
            let asked = Asked {
                profile: &valid.quota_profile,
                helm_mode: valid.helm_mode,
                lifetime_days: valid.lifetime_days,
                active_grants,
            };
            stage.auto_approval(&asked).map(|rule| rule.name.clone())
        };
        let id = uuid::Uuid::new_v4().to_string();
        let new = NewRequest {
            id: &id,
            namespace: valid.namespace.as_str(),
            purpose: &valid.purpose,
            stage: &valid.stage,
            helm_mode: valid.helm_mode,
            quota_profile: &valid.quota_profile,
            lifetime_days: valid.lifetime_days,
            requester_id: &caller.person.id,
            team: valid.team.as_deref(),
            approved_by_rule: rule.as_deref(),
            at: self.clock.now(),
        };
        match self.store.submit_request(&new).await {
            Ok(()) => {}
            // Another submission of the same name won the race past the check above.
            Err(SubmitError::NameHeld) => return Err(name_taken(valid.namespace.as_str())),
            Err(SubmitError::Store(error)) => return Err(error.into()),
        }
        tracing::info!(request = %id, namespace = %valid.namespace, requester = %caller.person.id, auto_approved_by = ?rule, "request submitted");
        // Everything the notice says is known here: no read back (whose failure would turn a stored request
        // into an error the requester might "fix" by submitting again).
        let at = new.at;
        let submitted = just_submitted(&id, valid, caller, at);
        match rule {
            // Nobody needs to look at it: the notice says it was approved, and by which rule.
            Some(rule) => {
                self.worker.wake();
                self.notifier.send(&Notice::Decided {
                    request: submitted,
                    approved: true,
                    by: format!("Rule \"{rule}\""),
                    reason: None,
                });
            }
            None => self.notifier.send(&Notice::Submitted(submitted)),
        }
        Ok(id)
    }

    async fn cancel(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError> {
        let record = self.authorized(caller, id, UseCase::CancelRequest).await?;
        self.transition(caller, &record, (UseCase::CancelRequest, Action::Cancel), None).await
    }

    async fn decide(&self, caller: &Caller, id: &str, verdict: Verdict) -> Result<RequestState, ApiError> {
        let reason = match &verdict {
            Verdict::Approve => None,
            Verdict::Deny { reason: typed } => {
                Some(Reason::parse(typed, "Say why, so the requester knows what to change.")?)
            }
        };
        // An approval that lost a race to another is judged again with both in view; a few rounds settle it
        // (each round, someone's approval was recorded).
        for _ in 0..4 {
            let record = self.authorized(caller, id, UseCase::DecideRequest).await?;
            let state = match &reason {
                None => match self.approve(caller, &record).await? {
                    Some(state) => state,
                    None => continue,
                },
                Some(reason) => {
                    let policy = self.rules.policy();
                    let stage = policy.stage(&record.summary.stage);
                    let me = Approver { person: &caller.person.id, groups: &caller.person.groups };
                    let requester = policy.requester_for_approvals(&record.requester_id);
                    if !approvals::may_deny(&stage.approvals, requester, me) {
                        return Err(ApiError::NotAllowed(not_a_decider(&stage)));
                    }
                    self.transition(caller, &record, (UseCase::DecideRequest, Action::Deny), Some(reason.as_str()))
                        .await?
                }
            };
            if state == RequestState::Approved {
                self.worker.wake();
            }
            // A partial approval tells nobody yet: the request still waits for the others.
            if state != RequestState::Pending {
                self.notifier.send(&Notice::Decided {
                    request: record.summary,
                    approved: verdict.approves(),
                    by: caller.person.display_name.clone(),
                    reason: reason.map(|reason| reason.as_str().to_string()),
                });
            }
            return Ok(state);
        }
        Err(ApiError::Conflict("This request changed meanwhile; reload the page and try again.".to_string()))
    }

    async fn retry(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError> {
        let record = self.authorized(caller, id, UseCase::RetryProvisioning).await?;
        let state = self.transition(caller, &record, (UseCase::RetryProvisioning, Action::Retry), None).await?;
        self.worker.wake();
        Ok(state)
    }

    async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<RequestState, ApiError> {
        let record = self.authorized(caller, id, UseCase::RevokeGrant).await?;
        let reason = Reason::parse(reason, "Say why, so the owner knows what happened.")?;
        let state =
            self.transition(caller, &record, (UseCase::RevokeGrant, Action::Revoke), Some(reason.as_str())).await?;
        self.worker.wake();
        Ok(state)
    }

    async fn mine(&self, caller: &Caller, page: u32) -> Result<Page<RequestWithTimeline>, ApiError> {
        let (number, offset) = page_bounds(page);
        let slice = self.store.requests_of(&caller.person.id, PAGE_SIZE, offset).await?;
        Ok(Page {
            items: slice
                .items
                .into_iter()
                .map(|(record, events)| RequestWithTimeline { request: record.summary, events })
                .collect(),
            number,
            size: PAGE_SIZE,
            total: slice.total,
        })
    }

    async fn pending(&self, caller: &Caller, page: u32) -> Result<Page<ApprovalItem>, ApiError> {
        let (number, offset) = page_bounds(page);
        let slice = self.store.requests_in(RequestState::Pending, PAGE_SIZE, offset).await?;
        self.approval_page(caller, slice, number).await
    }

    async fn ask_change(&self, caller: &Caller, id: &str, form: ChangeForm) -> Result<(), ApiError> {
        let record = self.authorized(caller, id, UseCase::AskChange).await?;
        let asked = self.checked_change(&record, &form).await?;
        let new = NewChange {
            record: &record,
            days: asked.days,
            quota_profile: asked.quota_profile.as_deref(),
            helm_mode: asked.helm_mode,
            reason: &asked.reason,
            at: self.clock.now(),
        };
        if !self.store.ask_change(&new).await? {
            return Err(ApiError::Conflict("This grant changed meanwhile; reload the page and try again.".to_string()));
        }
        tracing::info!(request = %record.summary.id, change = %asked.summary(), requester = %caller.person.id, "change asked for");
        let Some(rule) = self.rule_approving(&record, &asked).await? else {
            self.notifier.send(&Notice::ChangeAsked {
                request: record.summary,
                change: asked.summary(),
                reason: asked.reason.clone(),
            });
            return Ok(());
        };
        // Approved at once, in the rule's name. Should that fail (someone changed the grant in between), the
        // change waits for people like any other: nothing is lost.
        let Some(now) = self.store.request(&record.summary.id).await? else { return Ok(()) };
        if self.approve_change(&now, &asked, DecidedBy::Rule(&rule)).await? {
            self.notifier.send(&Notice::ChangeDecided {
                request: now.summary,
                approved: true,
                by: format!("Rule \"{rule}\""),
                change: asked.summary(),
                reason: None,
            });
        }
        Ok(())
    }

    async fn decide_change(&self, caller: &Caller, id: &str, verdict: Verdict) -> Result<(), ApiError> {
        let reason = match &verdict {
            Verdict::Approve => None,
            Verdict::Deny { reason: typed } => Some(Reason::parse(typed, "Say why, so the owner knows what to do.")?),
        };
        // As for requests: an approval that lost a race is judged again with the other in view.
        for _ in 0..4 {
            let record = self.authorized(caller, id, UseCase::DecideChange).await?;
            let Some(ask) = record.summary.change.clone() else {
                return Err(ApiError::Conflict("No change of this grant is waiting for a decision.".to_string()));
            };
            let policy = self.rules.policy();
            let decided = match &reason {
                Some(reason) => {
                    let stage = policy.stage(&record.summary.stage);
                    let me = Approver { person: &caller.person.id, groups: &caller.person.groups };
                    if !approvals::may_deny(&stage.approvals, policy.requester_for_approvals(&record.requester_id), me)
                    {
                        return Err(ApiError::NotAllowed(not_a_decider(&stage)));
                    }
                    let decision = ChangeDecision {
                        record: &record,
                        decided_by: DecidedBy::Person(&caller.person.id),
                        approved: None,
                        reason: Some(reason.as_str()),
                        at: self.clock.now(),
                    };
                    self.store.decide_change(&decision).await?
                }
                None => {
                    let given =
                        self.store.approvals_of(&[record.summary.id.as_str()]).await?.remove(&record.summary.id);
                    match standing(&policy, caller, &record, &given.unwrap_or_default()).approve {
                        ApproveOffer::Refused(why) => return Err(ApiError::NotAllowed(why)),
                        ApproveOffer::Counts => {
                            let groups = groups_named_by(&policy, &record, caller);
                            if self
                                .store
                                .add_change_approval(&record, &caller.person.id, &groups, self.clock.now())
                                .await?
                            {
                                return Ok(());
                            }
                            continue;
                        }
                        ApproveOffer::Completes => {
                            self.approve_change(&record, &ask, DecidedBy::Person(&caller.person.id)).await?
                        }
                    }
                }
            };
            if !decided {
                continue;
            }
            tracing::info!(request = %record.summary.id, approve = verdict.approves(), actor = %caller.person.id, "change decided");
            self.notifier.send(&Notice::ChangeDecided {
                request: record.summary,
                approved: verdict.approves(),
                by: caller.person.display_name.clone(),
                change: ask.summary(),
                reason: reason.map(|reason| reason.as_str().to_string()),
            });
            return Ok(());
        }
        Err(ApiError::Conflict("This change was decided meanwhile, or the grant changed; reload the page.".to_string()))
    }

    async fn pending_changes(&self, caller: &Caller) -> Result<Page<ApprovalItem>, ApiError> {
        let slice = self.store.pending_changes(PAGE_SIZE).await?;
        self.approval_page(caller, slice, 1).await
    }

    async fn my_access(&self, caller: &Caller) -> Result<MyAccess, ApiError> {
        let teams = self.rules.teams_of(&caller.person.groups);
        let records = self.store.access_of(&caller.person.id, &teams).await?;
        let ids: Vec<String> = records.iter().map(|r| r.summary.id.clone()).collect();
        let mut credentials = self.store.credentials_of_grants(&ids).await?;
        Ok(MyAccess {
            grants: records
                .into_iter()
                .map(|record| GrantWithCredentials {
                    credentials: credentials.remove(&record.summary.id).unwrap_or_default(),
                    request: record.summary,
                })
                .collect(),
            as_of: self.clock.now(),
        })
    }

    async fn approvals(&self, caller: &Caller, position: PagePosition) -> Result<Approvals, ApiError> {
        let number = position.number();
        let pending = match &position {
            PagePosition::Number(_) => Window::Skip(u64::from(number - 1) * u64::from(PAGE_SIZE), PAGE_SIZE),
            PagePosition::After { id, .. } => Window::After(id, PAGE_SIZE),
            PagePosition::Before { id, .. } => Window::Before(id, PAGE_SIZE),
        };
        let policy = self.rules.policy();
        let closed = policy.stages_closed_to(caller);
        let decider = Some(self.decider(&policy, caller, &closed));
        let rows = self.store.queue(QueueQuery { pending, changes: PAGE_SIZE, mine_of: None, decider }).await?;
        Ok(Approvals {
            requests: self
                .approval_page(caller, Slice { items: rows.pending, total: rows.pending_total }, number)
                .await?,
            changes: self.approval_page(caller, Slice { items: rows.changes, total: rows.changes_total }, 1).await?,
        })
    }

    async fn home(&self, caller: &Caller) -> Result<Home, ApiError> {
        let policy = self.rules.policy();
        let approves = policy.check(caller, UseCase::ListPending, Target::Nothing).is_ok();
        let closed = policy.stages_closed_to(caller);
        let query = QueueQuery {
            pending: if approves { Window::First(HOME_QUEUE_LENGTH) } else { Window::None },
            changes: 0,
            mine_of: Some(&caller.person.id),
            decider: approves.then(|| self.decider(&policy, caller, &closed)),
        };
        let now = self.clock.now();
        let (rows, overview) = if policy.check(caller, UseCase::ListGrants, Target::Nothing).is_ok() {
            let week = TimeDelta::days(7);
            let (rows, figures) =
                tokio::try_join!(self.store.queue(query), self.store.overview_figures(now, week, week))?;
            (rows, Some(overview(figures, &self.rules.config().stages)))
        } else {
            (self.store.queue(query).await?, None)
        };
        let (waiting, grants) = rows
            .mine
            .into_iter()
            .map(|record| record.summary)
            .partition(|request| request.state == RequestState::Pending);
        Ok(Home {
            grants,
            waiting,
            queue: approves.then(|| HomeQueue {
                requests: rows.pending_total,
                changes: rows.changes_total,
                oldest: rows.pending.into_iter().map(|record| record.summary).collect(),
            }),
            overview,
            as_of: now,
        })
    }

    async fn detail(&self, caller: &Caller, id: &str) -> Result<RequestDetail, ApiError> {
        let record = self.authorized(caller, id, UseCase::ViewRequest).await?;
        let events = self.store.events(id).await?;
        let credentials = self.store.credentials_of(id).await?;
        let policy = self.rules.policy();
        let member = is_member(&self.store, &record, caller).await?;
        let may = policy.permissions(caller, &record.requester_id, member, &record.summary);
        let approved = !matches!(
            record.summary.state,
            RequestState::Pending | RequestState::Denied | RequestState::Cancelled | RequestState::Lapsed
        );
        let members = match approved {
            true => Some(super::members::grant_members(&self.store, &record, &self.identities_namespace).await?),
            false => None,
        };
        let approval = if waits_for_decision(&record) {
            let mut given = self.approvals_of(&policy, std::slice::from_ref(&record)).await?;
            Some(standing(&policy, caller, &record, &given.remove(&record.summary.id).unwrap_or_default()))
        } else {
            None
        };
        let ready = record.summary.state == RequestState::Ready;
        let tiller = match (ready, record.summary.helm_mode) {
            (true, HelmMode::Tiller) => Some(self.cluster.tiller_rollout(&record.summary.namespace).await),
            _ => None,
        };
        let quota_use = if ready {
            match self.cluster.quota_use(&record.summary.namespace).await {
                Ok(usage) => Some(usage),
                Err(error) => {
                    tracing::warn!(error = %crate::telemetry::error_chain(&error), "cannot read a namespace's quota use");
                    None
                }
            }
        } else {
            None
        };
        let change_options = may.ask_change.then(|| self.change_options(&record.summary));
        Ok(RequestDetail {
            viewer: caller.person.id.clone(),
            may,
            // Why an approver may not decide this request (developers are simply not offered it).
            decide_refusal: policy
                .decide_refusal(caller, &record.requester_id, &record.summary)
                .filter(|_| waits_for_decision(&record)),
            approval,
            credential_options: may.download.then(|| super::credentials::options(&self.credentials)),
            change_options,
            quota_use,
            request: record.summary,
            events,
            credentials,
            members,
            tiller,
        })
    }
}
