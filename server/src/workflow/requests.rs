//! Namespace requests: implements [`app::ports::RequestsPort`].
//!
//! The server function has already checked the caller's role; here are the finer rules: the requester is
//! the caller, only the requester cancels, nobody decides their own request (unless the configuration allows
//! it), a developer sees only their own requests. A request another developer owns answers 404, the same as
//! one that does not exist, so ids reveal nothing.

use app::api::requests::RequestForm;
use app::auth::{Caller, Role};
use app::error::ApiError;
use app::ports::RequestsPort;
use app::requests::lifecycle::{self, Action};
use app::requests::{
    ApprovalItem, GrantWithCredentials, HelmMode, LifetimeBounds, MyAccess, Page, Permissions, PersonRef,
    QuotaProfileSummary, RequestDetail, RequestOptions, RequestState, RequestSummary, RequestWithTimeline, field,
};
use chrono::{TimeDelta, Utc};

use super::validation::{MAX_REASON_CHARS, Rules, text_problem};
use super::worker::Waker;
use crate::cluster::Cluster;
use crate::config::CredentialsConfig;
use crate::error::internal;
use crate::notify::{Notice, Notifier};
use crate::store::Store;
use crate::store::grants::ExtensionDecision;
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
}

const OWN_REQUEST: &str = "You cannot decide your own request; another approver must.";

impl RequestsService {
    /// The request `id` if `caller` may see it: its requester, approvers and admins.
    async fn visible(&self, caller: &Caller, id: &str) -> Result<RequestRecord, ApiError> {
        // Ids are UUIDs; anything else cannot exist, and need not reach the database.
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(ApiError::NotFound);
        }
        match self.store.request(id).await.map_err(|e| internal(&e))? {
            Some(record) if record.requester_id == caller.person.id || caller.role.includes(Role::Approver) => {
                Ok(record)
            }
            _ => Err(ApiError::NotFound),
        }
    }

    fn may_decide(&self, caller: &Caller, record: &RequestRecord) -> Result<(), String> {
        if !caller.role.includes(Role::Approver) {
            return Err("Only approvers decide requests.".to_string());
        }
        if record.requester_id == caller.person.id && !self.rules.config().approvers_may_decide_own {
            return Err(OWN_REQUEST.to_string());
        }
        Ok(())
    }

    /// Moves the request along `action` if it is still where it was read; otherwise says what happened.
    async fn transition(
        &self,
        caller: &Caller,
        record: &RequestRecord,
        action: Action,
        reason: Option<&str>,
    ) -> Result<RequestState, ApiError> {
        let from = record.summary.state;
        let to = lifecycle::next(from, action).map_err(|refused| conflict(record, refused))?;
        let transition = Transition {
            request_id: &record.summary.id,
            version: record.version,
            from,
            to,
            action,
            actor_id: Some(&caller.person.id),
            reason,
            at: Utc::now(),
            expires_at: None,
        };
        if self.store.apply(&transition).await.map_err(|e| internal(&e))? {
            tracing::info!(request = %record.summary.id, action = action.as_str(), from = from.as_str(), to = to.as_str(), actor = %caller.person.id, "request changed");
            return Ok(to);
        }
        // Someone else changed it between our read and our write: tell the caller what happened.
        let now = self.store.request(&record.summary.id).await.map_err(|e| internal(&e))?.ok_or(ApiError::NotFound)?;
        Err(match lifecycle::next(now.summary.state, action) {
            Err(refused) => conflict(&now, refused),
            Ok(_) => ApiError::Conflict("This request changed meanwhile; reload the page and try again.".to_string()),
        })
    }

    /// Page `number` of things waiting for `caller`'s decision, each saying whether they may decide it.
    fn approval_page(&self, caller: &Caller, slice: Slice<RequestRecord>, number: u32) -> Page<ApprovalItem> {
        Page {
            items: slice
                .items
                .into_iter()
                .map(|record| ApprovalItem {
                    decide_refusal: self.may_decide(caller, &record).err(),
                    request: record.summary,
                })
                .collect(),
            number,
            size: PAGE_SIZE,
            total: slice.total,
        }
    }

    async fn decide(
        &self,
        caller: &Caller,
        id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<RequestState, ApiError> {
        let record = self.visible(caller, id).await?;
        self.may_decide(caller, &record).map_err(ApiError::NotAllowed)?;
        if approve {
            // The rules of this moment, not of the submission: an operator may have reserved the name since.
            self.rules.still_allowed(&record.summary.namespace, record.summary.helm_mode).map_err(|why| {
                ApiError::NotAllowed(format!("{why} It cannot be approved; deny it with that reason."))
            })?;
        }
        let action = if approve { Action::Approve } else { Action::Deny };
        let state = self.transition(caller, &record, action, reason).await?;
        if approve {
            self.worker.wake();
        }
        self.notifier.send(&Notice::Decided {
            request: record.summary,
            approved: approve,
            by: caller.person.display_name.clone(),
            reason: reason.map(str::to_string),
        });
        Ok(state)
    }
}

/// Why `refused` could not be taken on `record`, worded for the person who tried: a decision that came too
/// late names the decision that came first.
fn conflict(record: &RequestRecord, refused: lifecycle::Refused) -> ApiError {
    let state = record.summary.state;
    let decided = matches!(refused.action, Action::Approve | Action::Deny) && state != RequestState::Pending;
    ApiError::Conflict(match (&record.summary.decision, decided) {
        (Some(decision), true) => {
            let verdict = if state == RequestState::Denied { "denied" } else { "approved" };
            format!("Already decided: this request was {verdict} by {}.", decision.by.display_name)
        }
        _ => refused.to_string(),
    })
}

/// Whether an admin may ask for the namespace of `record` to be deleted: Berth was told to create it (the
/// request was approved), and nobody asked yet.
pub fn may_delete_namespace(record: &RequestRecord) -> bool {
    let approved_once = !matches!(
        record.summary.state,
        RequestState::Pending | RequestState::Denied | RequestState::Cancelled | RequestState::Lapsed
    );
    approved_once && record.summary.namespace_deletion.is_none()
}

/// The 1-based page number asked for, and the offset of its first row.
fn page_bounds(page: u32) -> (u32, u64) {
    let page = page.max(1);
    (page, u64::from(page - 1) * u64::from(PAGE_SIZE))
}

#[async_trait::async_trait]
impl RequestsPort for RequestsService {
    async fn options(&self) -> Result<RequestOptions, ApiError> {
        let config = self.rules.config();
        Ok(RequestOptions {
            stages: config.stages.clone(),
            tiller_enabled: config.tiller_enabled,
            quota_profiles: config
                .quota_profiles
                .iter()
                .map(|profile| QuotaProfileSummary {
                    name: profile.name.clone(),
                    description: profile.description.clone(),
                    limits: profile.quota.clone().into_iter().collect(),
                })
                .collect(),
            lifetime_days: LifetimeBounds {
                min: config.lifetime_days.min,
                max: config.lifetime_days.max,
                default: config.lifetime_days.default,
            },
            purpose_max_chars: config.purpose_max_chars,
            naming_policy: config.name_pattern_hint.clone(),
        })
    }

    async fn submit(&self, caller: &Caller, form: RequestForm) -> Result<String, ApiError> {
        let valid = self.rules.check(&form).map_err(ApiError::Invalid)?;
        let cap = self.rules.config().max_pending_per_person;
        let waiting = self.store.pending_count_of(&caller.person.id).await.map_err(|e| internal(&e))?;
        if waiting >= cap {
            return Err(ApiError::Conflict(format!(
                "You have {waiting} requests waiting for a decision, the most one person may have at once ({cap}). \
                 Cancel one you no longer need, or wait until an approver decides; nothing was stored."
            )));
        }
        let taken =
            || ApiError::invalid(field::NAMESPACE, format!("'{}' is already requested or granted.", valid.namespace));
        if self.store.namespace_held(&valid.namespace).await.map_err(|e| internal(&e))? {
            return Err(taken());
        }
        match self.cluster.namespace_exists(&valid.namespace).await {
            Ok(false) => {}
            Ok(true) => {
                return Err(ApiError::invalid(
                    field::NAMESPACE,
                    format!("A namespace '{}' already exists in the cluster.", valid.namespace),
                ));
            }
            Err(error) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&error), "cannot check a namespace name");
                return Err(ApiError::Unavailable(
                    "Berth could not reach the cluster to check that the name is free, so nothing was stored. \
                     Try again in a minute."
                        .to_string(),
                ));
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let new = NewRequest {
            id: &id,
            namespace: &valid.namespace,
            purpose: &valid.purpose,
            stage: &valid.stage,
            helm_mode: valid.helm_mode,
            quota_profile: &valid.quota_profile,
            lifetime_days: valid.lifetime_days,
            requester_id: &caller.person.id,
            at: Utc::now(),
        };
        match self.store.submit_request(&new).await {
            Ok(()) => {}
            // Another submission of the same name won the race past the check above.
            Err(SubmitError::NameHeld) => return Err(taken()),
            Err(SubmitError::Store(error)) => return Err(internal(&error)),
        }
        tracing::info!(request = %id, namespace = %valid.namespace, requester = %caller.person.id, "request submitted");
        let at = new.at;
        // Everything the notice says is known here: no read back (whose failure would turn a stored request
        // into an error the requester might "fix" by submitting again).
        self.notifier.send(&Notice::Submitted(RequestSummary {
            id: id.clone(),
            namespace: valid.namespace,
            purpose: valid.purpose,
            stage: valid.stage,
            helm_mode: valid.helm_mode,
            quota_profile: valid.quota_profile,
            lifetime_days: valid.lifetime_days,
            requester: PersonRef {
                display_name: caller.person.display_name.clone(),
                email: caller.person.email.clone(),
            },
            state: lifecycle::initial(),
            created_at: at,
            updated_at: at,
            decision: None,
            progress: None,
            last_error: None,
            ready_at: None,
            expires_at: None,
            expiry_warned: false,
            extension: None,
            namespace_deletion: None,
        }));
        Ok(id)
    }

    async fn cancel(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError> {
        let record = self.visible(caller, id).await?;
        if record.requester_id != caller.person.id {
            return Err(ApiError::NotAllowed("Only the person who made a request can cancel it.".to_string()));
        }
        self.transition(caller, &record, Action::Cancel, None).await
    }

    async fn approve(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError> {
        self.decide(caller, id, true, None).await
    }

    async fn deny(&self, caller: &Caller, id: &str, reason: &str) -> Result<RequestState, ApiError> {
        let reason = reason.trim();
        if let Some(message) = text_problem(reason, MAX_REASON_CHARS, "Say why, so the requester knows what to change.")
        {
            return Err(ApiError::invalid(field::REASON, message));
        }
        self.decide(caller, id, false, Some(reason)).await
    }

    async fn retry(&self, caller: &Caller, id: &str) -> Result<RequestState, ApiError> {
        if !caller.role.includes(Role::Admin) {
            return Err(ApiError::NotAllowed("Only admins retry provisioning.".to_string()));
        }
        let record = self.visible(caller, id).await?;
        let state = self.transition(caller, &record, Action::Retry, None).await?;
        self.worker.wake();
        Ok(state)
    }

    async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<RequestState, ApiError> {
        if !caller.role.includes(Role::Admin) {
            return Err(ApiError::NotAllowed("Only admins revoke a grant.".to_string()));
        }
        let reason = reason.trim();
        if let Some(message) = text_problem(reason, MAX_REASON_CHARS, "Say why, so the owner knows what happened.") {
            return Err(ApiError::invalid(field::REASON, message));
        }
        let record = self.visible(caller, id).await?;
        let state = self.transition(caller, &record, Action::Revoke, Some(reason)).await?;
        self.worker.wake();
        Ok(state)
    }

    async fn mine(&self, caller: &Caller, page: u32) -> Result<Page<RequestWithTimeline>, ApiError> {
        let (number, offset) = page_bounds(page);
        let slice = self.store.requests_of(&caller.person.id, PAGE_SIZE, offset).await.map_err(|e| internal(&e))?;
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
        let slice = self.store.requests_in(RequestState::Pending, PAGE_SIZE, offset).await.map_err(|e| internal(&e))?;
        Ok(self.approval_page(caller, slice, number))
    }

    async fn extend(&self, caller: &Caller, id: &str, days: &str, reason: &str) -> Result<(), ApiError> {
        let record = self.visible(caller, id).await?;
        if record.requester_id != caller.person.id {
            return Err(ApiError::NotAllowed("Only the person who requested a namespace can extend it.".to_string()));
        }
        let max = self.rules.config().lifetime_days.max;
        let mut problems = Vec::new();
        let days = match days.trim().parse::<u32>() {
            Ok(days) if (1..=max).contains(&days) => Some(days),
            _ => {
                problems
                    .push(app::error::FieldProblem::new(field::DAYS, format!("A whole number of days, 1 to {max}.")));
                None
            }
        };
        let reason = reason.trim();
        if let Some(message) = text_problem(reason, MAX_REASON_CHARS, "Say why you need it longer, for the approver.") {
            problems.push(app::error::FieldProblem::new(field::REASON, message));
        }
        let Some(days) = days.filter(|_| problems.is_empty()) else { return Err(ApiError::Invalid(problems)) };
        if record.summary.state != RequestState::Ready {
            return Err(ApiError::Conflict(format!(
                "Only a ready grant can be extended; this one is {}.",
                record.summary.state.label().to_lowercase()
            )));
        }
        if record.summary.extension.is_some() {
            return Err(ApiError::Conflict("An extension is already waiting for an approver.".to_string()));
        }
        if !self.store.ask_extension(&record, days, reason, Utc::now()).await.map_err(|e| internal(&e))? {
            return Err(ApiError::Conflict("This grant changed meanwhile; reload the page and try again.".to_string()));
        }
        tracing::info!(request = %record.summary.id, days, requester = %caller.person.id, "extension asked for");
        self.notifier.send(&Notice::ExtensionAsked { request: record.summary, days, reason: reason.to_string() });
        Ok(())
    }

    async fn decide_extension(
        &self,
        caller: &Caller,
        id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let reason = reason.map(str::trim);
        if let Some(reason) = reason
            && let Some(message) = text_problem(reason, MAX_REASON_CHARS, "Say why, so the owner knows what to do.")
        {
            return Err(ApiError::invalid(field::REASON, message));
        }
        let record = self.visible(caller, id).await?;
        self.may_decide(caller, &record).map_err(ApiError::NotAllowed)?;
        let (Some(ask), Some(ends)) = (&record.summary.extension, record.summary.expires_at) else {
            return Err(ApiError::Conflict("No extension of this grant is waiting for a decision.".to_string()));
        };
        let new_expires_at = approve.then(|| ends + TimeDelta::days(i64::from(ask.days)));
        let decision =
            ExtensionDecision { record: &record, actor_id: &caller.person.id, new_expires_at, reason, at: Utc::now() };
        if !self.store.decide_extension(&decision).await.map_err(|e| internal(&e))? {
            return Err(ApiError::Conflict(
                "This extension was decided meanwhile, or the grant changed; reload the page.".to_string(),
            ));
        }
        tracing::info!(request = %record.summary.id, approve, actor = %caller.person.id, "extension decided");
        self.notifier.send(&Notice::ExtensionDecided {
            request: record.summary,
            approved: approve,
            by: caller.person.display_name.clone(),
            ends: new_expires_at.unwrap_or(ends),
            reason: reason.map(str::to_string),
        });
        Ok(())
    }

    async fn pending_extensions(&self, caller: &Caller) -> Result<Page<ApprovalItem>, ApiError> {
        let slice = self.store.pending_extensions(PAGE_SIZE).await.map_err(|e| internal(&e))?;
        Ok(self.approval_page(caller, slice, 1))
    }

    async fn my_access(&self, caller: &Caller) -> Result<MyAccess, ApiError> {
        let records = self.store.access_of(&caller.person.id).await.map_err(|e| internal(&e))?;
        let ids: Vec<String> = records.iter().map(|r| r.summary.id.clone()).collect();
        let mut credentials = self.store.credentials_of_grants(&ids).await.map_err(|e| internal(&e))?;
        Ok(MyAccess {
            grants: records
                .into_iter()
                .map(|record| GrantWithCredentials {
                    credentials: credentials.remove(&record.summary.id).unwrap_or_default(),
                    request: record.summary,
                })
                .collect(),
            as_of: Utc::now(),
        })
    }

    async fn detail(&self, caller: &Caller, id: &str) -> Result<RequestDetail, ApiError> {
        let record = self.visible(caller, id).await?;
        let events = self.store.events(id).await.map_err(|e| internal(&e))?;
        let credentials = self.store.credentials_of(id).await.map_err(|e| internal(&e))?;
        let state = record.summary.state;
        let pending = state == RequestState::Pending;
        let own = record.requester_id == caller.person.id;
        let decidable = self.may_decide(caller, &record);
        let download = own && state == RequestState::Ready;
        let tiller = match (state, record.summary.helm_mode) {
            (RequestState::Ready, HelmMode::Tiller) => {
                Some(self.cluster.tiller_rollout(&record.summary.namespace).await)
            }
            _ => None,
        };
        Ok(RequestDetail {
            may: Permissions {
                cancel: pending && own,
                decide: pending && decidable.is_ok(),
                retry: state == RequestState::Failed && caller.role.includes(Role::Admin),
                download,
                revoke_credentials: own || caller.role.includes(Role::Admin),
                revoke: caller.role.includes(Role::Admin) && lifecycle::next(state, Action::Revoke).is_ok(),
                extend: own && state == RequestState::Ready && record.summary.extension.is_none(),
                decide_extension: state == RequestState::Ready
                    && record.summary.extension.is_some()
                    && self.may_decide(caller, &record).is_ok(),
                delete_namespace: caller.role.includes(Role::Admin) && may_delete_namespace(&record),
            },
            // Why an approver may not decide this pending request (developers are simply not offered it).
            decide_refusal: decidable.err().filter(|_| pending && caller.role.includes(Role::Approver)),
            credential_options: download.then(|| super::credentials::options(&self.credentials)),
            max_extension_days: self.rules.config().lifetime_days.max,
            request: record.summary,
            events,
            credentials,
            tiller,
        })
    }
}
