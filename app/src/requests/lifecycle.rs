//! The lifecycle of a namespace request, as a pure state machine (DESIGN.md, "Lifecycle of a request"):
//!
//! ```text
//! pending ──approve──▶ approved ──start──▶ provisioning ──ready──▶ ready ──revoke/expire──▶ revoking ──▶ revoked | expired
//!    │                    │                    │   ▲                                          ▲
//!    ├──deny──▶ denied    │                    │   └──retry (admin)── failed ──revoke─────────┤
//!    ├──cancel─▶ cancelled└──────revoke────────┴──fail──▶ failed                              │
//!    └──lapse (nobody decided in time)──▶ lapsed
//! ```
//!
//! Who may take an action is decided elsewhere (the workflow's policy); this module only says which actions
//! each state allows and where they lead. The store applies a transition only if the request is still in
//! the state it was read in, so two decisions racing on one request end with exactly one of them recorded.

use serde::{Deserialize, Serialize};

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for an approver.
    Pending,
    /// Approved; waiting for the worker to provision it.
    Approved,
    /// The worker is creating the namespace and its access.
    Provisioning,
    /// Everything exists; the requester can download kubeconfigs.
    Ready,
    /// Provisioning stopped on an error; an admin can retry.
    Failed,
    /// Access is being taken away.
    Revoking,
    Revoked,
    Expired,
    Denied,
    Cancelled,
    /// Nobody decided it within the configured time; its name is free again.
    Lapsed,
}

impl RequestState {
    pub const ALL: [RequestState; 11] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Provisioning,
        RequestState::Ready,
        RequestState::Failed,
        RequestState::Revoking,
        RequestState::Revoked,
        RequestState::Expired,
        RequestState::Denied,
        RequestState::Cancelled,
        RequestState::Lapsed,
    ];

    /// The name in the database and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Provisioning => "provisioning",
            RequestState::Ready => "ready",
            RequestState::Failed => "failed",
            RequestState::Revoking => "revoking",
            RequestState::Revoked => "revoked",
            RequestState::Expired => "expired",
            RequestState::Denied => "denied",
            RequestState::Cancelled => "cancelled",
            RequestState::Lapsed => "lapsed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// The word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            RequestState::Pending => "Pending",
            RequestState::Approved => "Approved",
            RequestState::Provisioning => "Provisioning",
            RequestState::Ready => "Ready",
            RequestState::Failed => "Failed",
            RequestState::Revoking => "Revoking",
            RequestState::Revoked => "Revoked",
            RequestState::Expired => "Expired",
            RequestState::Denied => "Denied",
            RequestState::Cancelled => "Cancelled",
            RequestState::Lapsed => "Lapsed",
        }
    }

    /// Whether the request still holds its namespace name: nobody else may request the same name while it
    /// does. (The database enforces the same list with a partial unique index; keep the two in step.)
    pub fn holds_name(self) -> bool {
        !self.is_final()
    }

    /// No action leads anywhere from here.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestState::Revoked
                | RequestState::Expired
                | RequestState::Denied
                | RequestState::Cancelled
                | RequestState::Lapsed
        )
    }
}

/// Something that happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The requester submits it (the one action without a previous state).
    Submit,
    Approve,
    Deny,
    /// The requester withdraws it.
    Cancel,
    /// Nobody decided it in time (the worker, after `requests.pending_lapse_days`).
    Lapse,
    /// The worker starts provisioning.
    StartProvisioning,
    /// The worker found every object in place.
    MarkReady,
    /// The worker gave up on an error.
    MarkFailed,
    /// An admin sends a failed request back to the worker.
    Retry,
    /// An admin takes access away.
    Revoke,
    /// The grant's lifetime ran out.
    Expire,
    /// The worker finished taking access away after a revocation.
    FinishRevocation,
    /// The worker finished taking access away after expiry.
    FinishExpiry,
    // What follows are records, not transitions: the audit trail notes them with the request's state as it
    // was (from = to), and `next` refuses them from every state.
    /// The grant's requester downloaded a kubeconfig (a new credential).
    IssueCredential,
    /// Its owner or an admin revoked a kubeconfig.
    RevokeCredential,
    /// The owner of a ready grant asked for a change (more time, another quota profile, Helm 3 instead of
    /// Tiller). Named `request_extension` in the audit log: extensions were the first kind of change.
    #[serde(rename = "request_extension")]
    AskChange,
    /// An approver (or a rule) approved the change, or one of the approvals it needs.
    #[serde(rename = "approve_extension")]
    ApproveChange,
    #[serde(rename = "deny_extension")]
    DenyChange,
    /// The worker applied an approved change of profile or Helm mode in the cluster.
    ApplyChange,
    /// An admin asked for the namespace to be deleted (after its access is removed).
    DeleteNamespace,
    /// The worker deleted the namespace.
    NamespaceDeleted,
    /// Berth put back what was changed of its objects in the namespace (drift), naming them and their fields.
    CorrectDrift,
    /// The owner added a member (the reason names them).
    AddMember,
    /// The owner or an admin removed a member: their identity and kubeconfigs are gone.
    RemoveMember,
    /// The owner created a robot.
    AddRobot,
    /// The owner or an admin removed a robot: its identity and kubeconfigs are gone.
    RemoveRobot,
    /// The owner made an API token for a robot (the reason names it and its end).
    CreateApiToken,
    /// The owner or an admin revoked a robot's API token.
    RevokeApiToken,
    /// A CI system's OIDC token was exchanged for a robot's short-lived token under a trust rule (named).
    ExchangeFederatedToken,
    /// A CI system's OIDC token matched no trust rule (wrong subject or audience): nothing was handed out.
    RefuseFederatedToken,
}

impl Action {
    pub const ALL: [Action; 30] = [
        Action::Submit,
        Action::Approve,
        Action::Deny,
        Action::Cancel,
        Action::Lapse,
        Action::StartProvisioning,
        Action::MarkReady,
        Action::MarkFailed,
        Action::Retry,
        Action::Revoke,
        Action::Expire,
        Action::FinishRevocation,
        Action::FinishExpiry,
        Action::IssueCredential,
        Action::RevokeCredential,
        Action::AskChange,
        Action::ApproveChange,
        Action::DenyChange,
        Action::ApplyChange,
        Action::DeleteNamespace,
        Action::NamespaceDeleted,
        Action::CorrectDrift,
        Action::AddMember,
        Action::RemoveMember,
        Action::AddRobot,
        Action::RemoveRobot,
        Action::CreateApiToken,
        Action::RevokeApiToken,
        Action::ExchangeFederatedToken,
        Action::RefuseFederatedToken,
    ];

    /// Whether this action changes a request's state (the others are records in its audit trail).
    pub fn is_transition(self) -> bool {
        !matches!(
            self,
            Action::IssueCredential
                | Action::RevokeCredential
                | Action::AskChange
                | Action::ApproveChange
                | Action::DenyChange
                | Action::ApplyChange
                | Action::DeleteNamespace
                | Action::NamespaceDeleted
                | Action::CorrectDrift
                | Action::AddMember
                | Action::RemoveMember
                | Action::AddRobot
                | Action::RemoveRobot
                | Action::CreateApiToken
                | Action::RevokeApiToken
                | Action::ExchangeFederatedToken
                | Action::RefuseFederatedToken
        )
    }

    /// The name in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::Cancel => "cancel",
            Action::Lapse => "lapse",
            Action::StartProvisioning => "start_provisioning",
            Action::MarkReady => "mark_ready",
            Action::MarkFailed => "mark_failed",
            Action::Retry => "retry",
            Action::Revoke => "revoke",
            Action::Expire => "expire",
            Action::FinishRevocation => "finish_revocation",
            Action::FinishExpiry => "finish_expiry",
            Action::IssueCredential => "issue_credential",
            Action::RevokeCredential => "revoke_credential",
            Action::AskChange => "request_extension",
            Action::ApproveChange => "approve_extension",
            Action::DenyChange => "deny_extension",
            Action::ApplyChange => "apply_change",
            Action::DeleteNamespace => "delete_namespace",
            Action::NamespaceDeleted => "namespace_deleted",
            Action::CorrectDrift => "correct_drift",
            Action::AddMember => "add_member",
            Action::RemoveMember => "remove_member",
            Action::AddRobot => "add_robot",
            Action::RemoveRobot => "remove_robot",
            Action::CreateApiToken => "create_api_token",
            Action::RevokeApiToken => "revoke_api_token",
            Action::ExchangeFederatedToken => "exchange_federated_token",
            Action::RefuseFederatedToken => "refuse_federated_token",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == name)
    }

    /// How the audit timeline words it.
    pub fn past_tense(self) -> &'static str {
        match self {
            Action::Submit => "requested",
            Action::Approve => "approved",
            Action::Deny => "denied",
            Action::Cancel => "cancelled",
            Action::Lapse => "lapsed",
            Action::StartProvisioning => "started provisioning",
            Action::MarkReady => "ready",
            Action::MarkFailed => "provisioning failed",
            Action::Retry => "retried",
            Action::Revoke => "revoked",
            Action::Expire => "expired",
            Action::FinishRevocation => "access removed",
            Action::FinishExpiry => "access removed after expiry",
            Action::IssueCredential => "downloaded a kubeconfig",
            Action::RevokeCredential => "revoked a kubeconfig",
            Action::AskChange => "asked for a change",
            Action::ApproveChange => "approved the change",
            Action::DenyChange => "refused the change",
            Action::ApplyChange => "applied the change",
            Action::DeleteNamespace => "asked to delete the namespace",
            Action::NamespaceDeleted => "deleted the namespace",
            Action::CorrectDrift => "restored what was changed",
            Action::AddMember => "added a member",
            Action::RemoveMember => "removed a member",
            Action::AddRobot => "added a robot",
            Action::RemoveRobot => "removed a robot",
            Action::CreateApiToken => "made an API token",
            Action::RevokeApiToken => "revoked an API token",
            Action::ExchangeFederatedToken => "signed a CI job in by federation",
            Action::RefuseFederatedToken => "refused a CI job's token",
        }
    }
}

/// An action the current state does not allow, worded for the person who tried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("This request is {} and can no longer be {}.", .from.label().to_lowercase(), .action.past_tense())]
pub struct Refused {
    pub from: RequestState,
    pub action: Action,
}

/// Where `action` leads from `from`, or why it may not be taken. `Submit` has no previous state, so it is
/// refused from every state; a new request starts in [`initial`].
pub fn next(from: RequestState, action: Action) -> Result<RequestState, Refused> {
    use Action as A;
    use RequestState as S;
    match (from, action) {
        (S::Pending, A::Approve) => Ok(S::Approved),
        (S::Pending, A::Deny) => Ok(S::Denied),
        (S::Pending, A::Cancel) => Ok(S::Cancelled),
        (S::Pending, A::Lapse) => Ok(S::Lapsed),
        (S::Approved, A::StartProvisioning) => Ok(S::Provisioning),
        (S::Provisioning, A::MarkReady) => Ok(S::Ready),
        (S::Provisioning, A::MarkFailed) => Ok(S::Failed),
        (S::Failed, A::Retry) => Ok(S::Approved),
        (S::Approved | S::Provisioning | S::Ready | S::Failed, A::Revoke) => Ok(S::Revoking),
        (S::Ready, A::Expire) => Ok(S::Revoking),
        (S::Revoking, A::FinishRevocation) => Ok(S::Revoked),
        (S::Revoking, A::FinishExpiry) => Ok(S::Expired),
        _ => Err(Refused { from, action }),
    }
}

/// The state of a request just submitted.
pub const fn initial() -> RequestState {
    RequestState::Pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use RequestState as S;

    /// Every allowed transition, and nothing else: the table the rest of the tests check `next` against.
    const ALLOWED: [(S, A, S); 15] = [
        (S::Pending, A::Approve, S::Approved),
        (S::Pending, A::Deny, S::Denied),
        (S::Pending, A::Cancel, S::Cancelled),
        (S::Pending, A::Lapse, S::Lapsed),
        (S::Approved, A::StartProvisioning, S::Provisioning),
        (S::Approved, A::Revoke, S::Revoking),
        (S::Provisioning, A::MarkReady, S::Ready),
        (S::Provisioning, A::MarkFailed, S::Failed),
        (S::Provisioning, A::Revoke, S::Revoking),
        (S::Failed, A::Retry, S::Approved),
        (S::Failed, A::Revoke, S::Revoking),
        (S::Ready, A::Revoke, S::Revoking),
        (S::Ready, A::Expire, S::Revoking),
        (S::Revoking, A::FinishRevocation, S::Revoked),
        (S::Revoking, A::FinishExpiry, S::Expired),
    ];

    #[test]
    fn every_allowed_transition_leads_where_the_design_says() {
        for (from, action, to) in ALLOWED {
            assert_eq!(next(from, action), Ok(to), "{from:?} --{action:?}-->");
        }
    }

    #[test]
    fn every_other_pair_of_state_and_action_is_refused() {
        let mut refused = 0;
        for from in S::ALL {
            for action in A::ALL {
                if ALLOWED.iter().any(|(f, a, _)| (*f, *a) == (from, action)) {
                    continue;
                }
                assert_eq!(
                    next(from, action),
                    Err(Refused { from, action }),
                    "{from:?} --{action:?}--> must be refused"
                );
                refused += 1;
            }
        }
        // 11 states × 30 actions, minus the 15 allowed ones.
        assert_eq!(refused, 11 * 30 - 15);
    }

    #[test]
    fn final_states_allow_nothing_and_release_the_name() {
        for state in S::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(A::ALL.into_iter().all(|action| next(state, action).is_err()), "{state:?}");
            assert!(!state.holds_name(), "{state:?}");
        }
        for state in S::ALL.into_iter().filter(|s| !s.is_final()) {
            assert!(A::ALL.into_iter().any(|action| next(state, action).is_ok()), "{state:?} must lead somewhere");
            assert!(state.holds_name(), "{state:?}");
        }
    }

    #[test]
    fn a_new_request_starts_pending_and_submit_is_never_a_transition() {
        assert_eq!(initial(), S::Pending);
        assert!(S::ALL.into_iter().all(|state| next(state, A::Submit).is_err()));
    }

    #[test]
    fn a_decided_request_cannot_be_decided_again() {
        let refused = next(S::Approved, A::Deny).unwrap_err();
        assert_eq!(refused.to_string(), "This request is approved and can no longer be denied.");
        assert!(next(S::Denied, A::Approve).is_err());
        assert!(next(S::Cancelled, A::Approve).is_err());
    }

    #[test]
    fn records_are_never_transitions_and_every_transition_leads_somewhere() {
        for action in A::ALL {
            let somewhere = S::ALL.into_iter().any(|state| next(state, action).is_ok());
            assert_eq!(action.is_transition(), somewhere || action == A::Submit, "{action:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for state in S::ALL {
            assert_eq!(S::parse(state.as_str()), Some(state));
        }
        for action in A::ALL {
            assert_eq!(A::parse(action.as_str()), Some(action));
        }
        assert_eq!(S::parse("Pending"), None);
    }
}
