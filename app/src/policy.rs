//! Who may do what to which record: the one place Berth decides authorization.
//!
//! Every entry point asks here: server functions and the file routes before they parse anything
//! ([`authorize`], by role alone), the workflow once it has read the record ([`Policy::check`]), and the
//! request page's buttons ([`Policy::permissions`]), which are therefore exactly what the server would allow.
//! The navigation and the sign-in redirect take each page's role from its [`UseCase`] as well.
//!
//! A refusal says how it should look to the caller: a record someone may not see is "not found" (ids reveal
//! nothing), a rule they break is named, and a record in the wrong state says what state it is in.

pub mod approvals;
pub mod stages;

use approvals::{ApprovalProgress, ApprovalStanding, ApproveOffer, Approver, GivenApproval};
use stages::StagePolicy;

use crate::auth::{Caller, Role, SessionView};
use crate::error::ApiError;
use crate::requests::lifecycle::{self, Action, Refused};
use crate::requests::{Permissions, RequestState, RequestSummary};

/// Something a person asks Berth to do (or to show them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UseCase {
    /// Request a namespace (and see what the form offers).
    SubmitRequest,
    /// List one's own requests.
    ListOwnRequests,
    /// List one's own grants and kubeconfigs.
    ListOwnAccess,
    /// See one request with its audit trail.
    ViewRequest,
    /// Withdraw a pending request.
    CancelRequest,
    /// Approve or deny a pending request.
    DecideRequest,
    /// Send a failed request back to provisioning.
    RetryProvisioning,
    /// Take a grant's access away.
    RevokeGrant,
    /// Ask for a change of a ready grant: more time, another quota profile, Helm 3 instead of Tiller.
    AskChange,
    /// Approve or refuse the change someone asked for.
    DecideChange,
    /// Delete a grant's namespace (once its access is gone).
    DeleteNamespace,
    /// Download a kubeconfig for a ready grant.
    DownloadKubeconfig,
    /// Revoke one kubeconfig.
    RevokeCredential,
    /// Add or remove a grant's members and robots.
    ManageAccess,
    /// See what waits for a decision: requests and changes.
    ListPending,
    /// See every grant and kubeconfig (the admin dashboard).
    ListGrants,
    /// Read and export the audit log.
    ReadAudit,
    /// See everyone who has signed in.
    ListUsers,
    /// See the server's version, uptime and installation (for operators).
    ViewServerStatus,
}

impl UseCase {
    pub const ALL: [UseCase; 19] = [
        UseCase::SubmitRequest,
        UseCase::ListOwnRequests,
        UseCase::ListOwnAccess,
        UseCase::ViewRequest,
        UseCase::CancelRequest,
        UseCase::DecideRequest,
        UseCase::RetryProvisioning,
        UseCase::RevokeGrant,
        UseCase::AskChange,
        UseCase::DecideChange,
        UseCase::DeleteNamespace,
        UseCase::DownloadKubeconfig,
        UseCase::RevokeCredential,
        UseCase::ManageAccess,
        UseCase::ListPending,
        UseCase::ListGrants,
        UseCase::ReadAudit,
        UseCase::ListUsers,
        UseCase::ViewServerStatus,
    ];

    /// The lowest role that may ask at all. Asking about a record narrows it further (see [`Policy::check`]).
    pub const fn min_role(self) -> Role {
        match self {
            UseCase::SubmitRequest
            | UseCase::ListOwnRequests
            | UseCase::ListOwnAccess
            | UseCase::ViewRequest
            | UseCase::CancelRequest
            | UseCase::AskChange
            | UseCase::DownloadKubeconfig
            | UseCase::RevokeCredential
            | UseCase::ManageAccess => Role::Developer,
            UseCase::DecideRequest | UseCase::DecideChange | UseCase::ListPending => Role::Approver,
            UseCase::RetryProvisioning
            | UseCase::RevokeGrant
            | UseCase::DeleteNamespace
            | UseCase::ListGrants
            | UseCase::ReadAudit
            | UseCase::ListUsers
            | UseCase::ViewServerStatus => Role::Admin,
        }
    }

    /// What the use case acts on, which [`Policy::check`] must be given.
    const fn target_kind(self) -> TargetKind {
        match self {
            UseCase::SubmitRequest
            | UseCase::ListOwnRequests
            | UseCase::ListOwnAccess
            | UseCase::ListPending
            | UseCase::ListGrants
            | UseCase::ReadAudit
            | UseCase::ListUsers
            | UseCase::ViewServerStatus => TargetKind::Nothing,
            UseCase::RevokeCredential => TargetKind::Credential,
            _ => TargetKind::Request,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetKind {
    Nothing,
    Request,
    Credential,
}

/// The record a use case acts on, as far as the policy needs to know it.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Lists and forms: the role decides.
    Nothing,
    /// A request (or grant), with the id of the person who made it and whether the caller is one of the
    /// grant's members (added by its owner).
    Request { requester_id: &'a str, member: bool, request: &'a RequestSummary },
    /// A kubeconfig, with the id of the person it was issued to and of its grant's owner.
    Credential { owner_id: &'a str, grant_owner_id: &'a str },
}

impl Target<'_> {
    fn kind(&self) -> TargetKind {
        match self {
            Target::Nothing => TargetKind::Nothing,
            Target::Request { .. } => TargetKind::Request,
            Target::Credential { .. } => TargetKind::Credential,
        }
    }
}

/// Why the policy said no, and so what the caller is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nobody is signed in (HTTP 401).
    SignInRequired,
    /// The caller's role (or lack of one) never allows this (HTTP 403).
    RoleTooLow,
    /// The caller may not know the record exists (HTTP 404, like an id that does not exist).
    Hidden,
    /// The caller sees the record, but a rule forbids this to them (HTTP 403 with the rule).
    NotAllowed(&'static str),
    /// The record is not in a state that allows this (HTTP 409, saying which state).
    WrongState(String),
}

impl Refusal {
    /// The rule in words, when the refusal names one.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            Refusal::NotAllowed(rule) => Some(rule),
            _ => None,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::SignInRequired => ApiError::SignInRequired,
            Refusal::RoleTooLow => ApiError::Forbidden,
            Refusal::Hidden => ApiError::NotFound,
            Refusal::NotAllowed(rule) => ApiError::NotAllowed(rule.to_string()),
            Refusal::WrongState(why) => ApiError::Conflict(why),
        }
    }
}

pub const OWN_DECISION: &str = "You cannot decide your own request; another approver must.";
const ONLY_REQUESTER_CANCELS: &str = "Only the person who made a request can cancel it.";
const ONLY_MEMBERS_CHANGE: &str = "Only the grant's owner and members can ask to change it.";
const ONLY_MEMBERS_DOWNLOAD: &str = "Only the grant's owner and members can download its kubeconfigs.";
const ONLY_OWNER_MANAGES: &str =
    "Only the grant's owner (who requested it) or an admin can add or remove members and robots.";
pub const ALREADY_APPROVED: &str = "You have approved this request already; it waits for the others needed.";
const ONLY_OWNER_OR_ADMIN_REVOKES: &str = "Only the kubeconfig's owner, the grant's owner or an admin can revoke it.";

/// The signed-in caller if their role allows `use_case` at all: the gate every entry point passes before it
/// reads its input.
pub fn authorize(session: &SessionView, use_case: UseCase) -> Result<Caller, Refusal> {
    match session {
        SessionView::SignedIn(person, role) if role.includes(use_case.min_role()) => {
            Ok(Caller { person: person.clone(), role: *role })
        }
        SessionView::Anonymous => Err(Refusal::SignInRequired),
        SessionView::NoAccess(_) | SessionView::SignedIn(..) => Err(Refusal::RoleTooLow),
    }
}

/// The installation's choices that change who may do what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Approvers may decide their own requests (small teams with one approver).
    pub approvers_may_decide_own: bool,
    /// The stages the configuration gives a policy of their own; any other stage is
    /// [`StagePolicy::unconfigured`].
    pub stages: std::sync::Arc<[StagePolicy]>,
}

impl Policy {
    /// What `stage` allows and needs.
    pub fn stage(&self, stage: &str) -> std::borrow::Cow<'_, StagePolicy> {
        match self.stages.iter().find(|policy| policy.stage == stage) {
            Some(policy) => std::borrow::Cow::Borrowed(policy),
            None => std::borrow::Cow::Owned(StagePolicy::unconfigured(stage)),
        }
    }

    /// The configured stages whose approvals none of `caller`'s groups may fill: nothing there for them to
    /// decide.
    pub fn stages_closed_to(&self, caller: &Caller) -> Vec<String> {
        let me = Approver { person: &caller.person.id, groups: &caller.person.groups };
        self.stages
            .iter()
            .filter(|stage| !approvals::could_sit(&stage.approvals, me))
            .map(|stage| stage.stage.clone())
            .collect()
    }

    /// The requester as the approvals count them: nobody, where approvers may decide their own requests
    /// (a person id is never empty), so that their own approval counts too.
    pub fn requester_for_approvals<'r>(&self, requester_id: &'r str) -> &'r str {
        if self.approvers_may_decide_own { "" } else { requester_id }
    }

    /// Whether `caller` may do `use_case` to `target`: their role, then whether the record is theirs to see
    /// and to act on, then whether its state allows it.
    pub fn check(&self, caller: &Caller, use_case: UseCase, target: Target<'_>) -> Result<(), Refusal> {
        if !caller.role.includes(use_case.min_role()) {
            return Err(Refusal::RoleTooLow);
        }
        if target.kind() != use_case.target_kind() {
            // A wiring mistake in Berth's own code: refuse rather than guess.
            debug_assert!(false, "{use_case:?} asked about {target:?}");
            return Err(Refusal::Hidden);
        }
        match target {
            Target::Nothing => Ok(()),
            Target::Request { requester_id, member, request } => {
                let own = requester_id == caller.person.id;
                // Developers see their own requests and the grants they are members of; approvers and admins
                // see all.
                if !own && !member && !caller.role.includes(Role::Approver) {
                    return Err(Refusal::Hidden);
                }
                self.who_may_act(caller, use_case, own, member)?;
                state_allows(use_case, request)
            }
            Target::Credential { owner_id, grant_owner_id } => {
                let me = caller.person.id.as_str();
                if owner_id == me || grant_owner_id == me || caller.role.includes(Role::Admin) {
                    Ok(())
                } else if caller.role.includes(Role::Approver) {
                    // Approvers see the grant's page and its kubeconfigs; to a developer they do not exist.
                    Err(Refusal::NotAllowed(ONLY_OWNER_OR_ADMIN_REVOKES))
                } else {
                    Err(Refusal::Hidden)
                }
            }
        }
    }

    /// The rules about who, on a request the caller can see.
    fn who_may_act(&self, caller: &Caller, use_case: UseCase, own: bool, member: bool) -> Result<(), Refusal> {
        let refused = match use_case {
            UseCase::CancelRequest => (!own).then_some(ONLY_REQUESTER_CANCELS),
            UseCase::AskChange => (!own && !member).then_some(ONLY_MEMBERS_CHANGE),
            UseCase::DownloadKubeconfig => (!own && !member).then_some(ONLY_MEMBERS_DOWNLOAD),
            UseCase::ManageAccess => (!own && !caller.role.includes(Role::Admin)).then_some(ONLY_OWNER_MANAGES),
            _ => None,
        };
        if let Some(rule) = refused {
            return Err(Refusal::NotAllowed(rule));
        }
        let decides = matches!(use_case, UseCase::DecideRequest | UseCase::DecideChange);
        if decides && own && !self.approvers_may_decide_own {
            return Err(Refusal::NotAllowed(OWN_DECISION));
        }
        Ok(())
    }

    /// Where the approvals of pending `request` stand for `caller`, an approver who may decide it (as
    /// [`Policy::check`] said): the progress, whether their approval would count (and complete it) or why
    /// not, and whether they may deny it.
    pub fn standing(
        &self,
        caller: &Caller,
        requester_id: &str,
        request: &RequestSummary,
        given: &[GivenApproval<'_>],
    ) -> ApprovalStanding {
        let stage = self.stage(&request.stage);
        let slots = &stage.approvals;
        let requester = self.requester_for_approvals(requester_id);
        let approvers: Vec<Approver<'_>> =
            given.iter().map(|given| Approver { person: given.person, groups: given.groups }).collect();
        let now = approvals::progress(slots, requester, &approvers);
        let name_of = |person: &str| {
            given.iter().find(|given| given.person == person).map_or_else(|| person.to_string(), |g| g.name.to_string())
        };
        let progress = ApprovalProgress::of(slots, &now, name_of);
        let me = Approver { person: &caller.person.id, groups: &caller.person.groups };
        let approve = if approvers.iter().any(|approver| approver.person == me.person) {
            ApproveOffer::Refused(ALREADY_APPROVED.to_string())
        } else if approvals::approval_would_count(slots, requester, &approvers, me) {
            let with_me: Vec<Approver<'_>> = approvers.iter().copied().chain([me]).collect();
            if approvals::progress(slots, requester, &with_me).complete {
                ApproveOffer::Completes
            } else {
                ApproveOffer::Counts
            }
        } else if !approvals::could_sit(slots, me) {
            let groups: Vec<&str> = slots.iter().map(|slot| slot.label()).collect();
            ApproveOffer::Refused(format!(
                "Requests for {} are approved by {}; none of your groups at sign-in is among them.",
                request.stage,
                groups.join(" and ")
            ))
        } else {
            ApproveOffer::Refused(format!(
                "Your approval would fill no open seat ({}). You may still deny it.",
                progress.line()
            ))
        };
        ApprovalStanding { progress, approve, may_deny: approvals::may_deny(slots, requester, me) }
    }

    /// What `caller` may do with `request`, for the request page's buttons: each is this policy's answer.
    pub fn permissions(
        &self,
        caller: &Caller,
        requester_id: &str,
        member: bool,
        request: &RequestSummary,
    ) -> Permissions {
        let may = |use_case| self.check(caller, use_case, Target::Request { requester_id, member, request }).is_ok();
        Permissions {
            cancel: may(UseCase::CancelRequest),
            decide: may(UseCase::DecideRequest),
            retry: may(UseCase::RetryProvisioning),
            download: may(UseCase::DownloadKubeconfig),
            // Every kubeconfig of the grant: its owner and admins (a member, their own: see the list).
            revoke_credentials: self
                .check(
                    caller,
                    UseCase::RevokeCredential,
                    Target::Credential { owner_id: "", grant_owner_id: requester_id },
                )
                .is_ok(),
            revoke: may(UseCase::RevokeGrant),
            ask_change: may(UseCase::AskChange),
            manage_access: may(UseCase::ManageAccess),
            decide_change: may(UseCase::DecideChange),
            delete_namespace: may(UseCase::DeleteNamespace),
        }
    }

    /// Whether a robot of grant `robot_grant_id` (calling the machine API with a token of its own) may do
    /// `use_case` to `target`: only see its own grant, get a kubeconfig of its own while the grant is ready,
    /// and revoke its own kubeconfigs. Another grant does not exist for it; anything else is beyond it.
    pub fn check_robot(&self, robot_grant_id: &str, use_case: UseCase, target: Target<'_>) -> Result<(), Refusal> {
        if !matches!(use_case, UseCase::ViewRequest | UseCase::DownloadKubeconfig | UseCase::RevokeCredential) {
            return Err(Refusal::RoleTooLow);
        }
        match target {
            Target::Request { request, .. } if request.id == robot_grant_id => state_allows(use_case, request),
            Target::Request { .. } => Err(Refusal::Hidden),
            // Kubeconfigs are found by the workflow through the robot's own grant.
            Target::Credential { .. } if use_case == UseCase::RevokeCredential => Ok(()),
            _ => Err(Refusal::Hidden),
        }
    }

    /// Why an approver may not decide `request`, which waits for a decision (their own, say); `None` when
    /// they may, or when deciding is not theirs to do at all.
    pub fn decide_refusal(&self, caller: &Caller, requester_id: &str, request: &RequestSummary) -> Option<String> {
        let use_case = match request.state {
            RequestState::Pending => UseCase::DecideRequest,
            RequestState::Ready if request.change.is_some() => UseCase::DecideChange,
            _ => return None,
        };
        // Members do not decide: only approvers, whom membership does not change.
        let target = Target::Request { requester_id, member: false, request };
        let refusal = self.check(caller, use_case, target).err()?;
        refusal.rule().map(str::to_string)
    }
}

/// Whether the request's state allows `use_case` (who may act is already settled).
fn state_allows(use_case: UseCase, request: &RequestSummary) -> Result<(), Refusal> {
    let state = request.state;
    let transition = |action: Action| lifecycle::next(state, action).map(drop).map_err(|r| state_refusal(request, r));
    let current = || state.label().to_lowercase();
    match use_case {
        UseCase::CancelRequest => transition(Action::Cancel),
        // Approving and denying are allowed from the same state.
        UseCase::DecideRequest => transition(Action::Approve),
        UseCase::RetryProvisioning => transition(Action::Retry),
        UseCase::RevokeGrant => transition(Action::Revoke),
        UseCase::AskChange if state != RequestState::Ready => {
            Err(Refusal::WrongState(format!("Only a ready grant can be changed; this one is {}.", current())))
        }
        UseCase::AskChange if request.change.is_some() => {
            Err(Refusal::WrongState("A change is already waiting for approval.".to_string()))
        }
        UseCase::DecideChange if state != RequestState::Ready || request.change.is_none() => {
            Err(Refusal::WrongState("No change of this grant is waiting for a decision.".to_string()))
        }
        UseCase::DeleteNamespace if request.namespace_deletion.is_some() => {
            Err(Refusal::WrongState("Deleting this namespace was already asked for.".to_string()))
        }
        UseCase::DeleteNamespace if !was_approved(state) => Err(Refusal::WrongState(format!(
            "This request is {}: Berth never created its namespace, so there is nothing to delete.",
            current()
        ))),
        UseCase::DownloadKubeconfig if state != RequestState::Ready => Err(Refusal::WrongState(format!(
            "Kubeconfigs can be downloaded only while the namespace is ready; this request is {}.",
            current()
        ))),
        UseCase::ManageAccess if state != RequestState::Ready => Err(Refusal::WrongState(format!(
            "Members and robots can be changed only while the grant is ready; this one is {}.",
            current()
        ))),
        _ => Ok(()),
    }
}

/// Whether Berth was ever told to create the request's namespace.
fn was_approved(state: RequestState) -> bool {
    !matches!(state, RequestState::Pending | RequestState::Denied | RequestState::Cancelled | RequestState::Lapsed)
}

/// Why the state machine refused, worded for the person who tried: a decision that came too late names the
/// decision that came first.
fn state_refusal(request: &RequestSummary, refused: Refused) -> Refusal {
    let state = request.state;
    let too_late = matches!(refused.action, Action::Approve | Action::Deny) && state != RequestState::Pending;
    Refusal::WrongState(match (&request.decision, too_late) {
        (Some(decision), true) => {
            let verdict = if state == RequestState::Denied { "denied" } else { "approved" };
            format!("Already decided: this request was {verdict} by {}.", decision.by.display_name)
        }
        _ => refused.to_string(),
    })
}

#[cfg(test)]
mod tests;
