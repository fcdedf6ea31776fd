//! The policy as a table: every role x use case x ownership (owner, member, neither) x state x pending extension x deletion asked x
//! configuration, against the rules written out a second time, plainly, below.

use chrono::{TimeZone, Utc};

use super::*;
use crate::auth::Person;
use crate::requests::{ChangeAsk, Decision, HelmMode, NamespaceDeletion, PersonRef};

const CALLER_ID: &str = "caller";

fn caller(role: Role) -> Caller {
    Caller {
        person: Person { id: CALLER_ID.into(), display_name: "Carol".into(), email: None, groups: Vec::new() },
        role,
    }
}

fn request(state: RequestState, extension: bool, deletion: bool) -> RequestSummary {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    RequestSummary {
        id: "7f1d4a52-0000-4000-8000-000000000001".into(),
        namespace: "team-a".into(),
        purpose: "tests".into(),
        stage: "dev".into(),
        helm_mode: HelmMode::NoTiller,
        quota_profile: "small".into(),
        lifetime_days: 7,
        requester: PersonRef { display_name: "Dave".into(), email: None },
        team: None,
        state,
        created_at: at,
        updated_at: at,
        decision: (state != RequestState::Pending).then(|| Decision {
            by: PersonRef { display_name: "Alice".into(), email: None },
            at,
            reason: None,
        }),
        progress: None,
        last_error: None,
        ready_at: None,
        expires_at: None,
        expiry_warned: false,
        change: extension.then(|| ChangeAsk {
            days: Some(3),
            quota_profile: None,
            helm_mode: None,
            reason: "more".into(),
            at,
        }),
        namespace_deletion: deletion.then_some(NamespaceDeletion { requested_at: at, deleted_at: None }),
    }
}

/// What the caller is told, without the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    RoleTooLow,
    Hidden,
    NotAllowed,
    WrongState,
}

fn outcome(result: Result<(), Refusal>) -> Outcome {
    match result {
        Ok(()) => Outcome::Allowed,
        Err(Refusal::SignInRequired) => panic!("check() is given a signed-in caller"),
        Err(Refusal::RoleTooLow) => Outcome::RoleTooLow,
        Err(Refusal::Hidden) => Outcome::Hidden,
        Err(Refusal::NotAllowed(_)) => Outcome::NotAllowed,
        Err(Refusal::WrongState(_)) => Outcome::WrongState,
    }
}

/// The rules, written out by hand: (use case, lowest role, who among those who see it, states it allows).
#[derive(Clone, Copy)]
enum Who {
    Anyone,
    RequesterOnly,
    /// The requester and the grant's members.
    Members,
    /// The requester and admins.
    RequesterOrAdmin,
    NotTheRequester,
}

/// How the caller stands to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Requester,
    Member,
    Neither,
}

const RELATIONS: [Relation; 3] = [Relation::Requester, Relation::Member, Relation::Neither];

use RequestState as S;

/// Whether a state allows it, given whether an extension waits and whether deletion was asked for.
type StatesAllowing = fn(S, bool, bool) -> bool;

fn rule(use_case: UseCase) -> (Role, Who, StatesAllowing) {
    match use_case {
        UseCase::ViewRequest => (Role::Developer, Who::Anyone, |_, _, _| true),
        UseCase::CancelRequest => (Role::Developer, Who::RequesterOnly, |s, _, _| s == S::Pending),
        UseCase::DecideRequest => (Role::Approver, Who::NotTheRequester, |s, _, _| s == S::Pending),
        UseCase::RetryProvisioning => (Role::Admin, Who::Anyone, |s, _, _| s == S::Failed),
        UseCase::RevokeGrant => {
            (Role::Admin, Who::Anyone, |s, _, _| matches!(s, S::Approved | S::Provisioning | S::Ready | S::Failed))
        }
        UseCase::AskChange => (Role::Developer, Who::Members, |s, ext, _| s == S::Ready && !ext),
        UseCase::ManageAccess => (Role::Developer, Who::RequesterOrAdmin, |s, _, _| s == S::Ready),
        UseCase::DecideChange => (Role::Approver, Who::NotTheRequester, |s, ext, _| s == S::Ready && ext),
        UseCase::DeleteNamespace => (Role::Admin, Who::Anyone, |s, _, asked| {
            !asked
                && matches!(
                    s,
                    S::Approved | S::Provisioning | S::Ready | S::Failed | S::Revoking | S::Revoked | S::Expired
                )
        }),
        UseCase::DownloadKubeconfig => (Role::Developer, Who::Members, |s, _, _| s == S::Ready),
        other => panic!("{other:?} does not act on a request"),
    }
}

fn expected(
    use_case: UseCase,
    role: Role,
    relation: Relation,
    state: S,
    ext: bool,
    asked: bool,
    decide_own: bool,
) -> Outcome {
    let (min, who, states) = rule(use_case);
    let own = relation == Relation::Requester;
    if role < min {
        return Outcome::RoleTooLow;
    }
    if relation == Relation::Neither && role == Role::Developer {
        return Outcome::Hidden;
    }
    match who {
        Who::RequesterOnly if !own => return Outcome::NotAllowed,
        Who::Members if relation == Relation::Neither => return Outcome::NotAllowed,
        Who::RequesterOrAdmin if !own && role != Role::Admin => return Outcome::NotAllowed,
        Who::NotTheRequester if own && !decide_own => return Outcome::NotAllowed,
        _ => {}
    }
    if states(state, ext, asked) { Outcome::Allowed } else { Outcome::WrongState }
}

const REQUEST_USE_CASES: [UseCase; 10] = [
    UseCase::ViewRequest,
    UseCase::CancelRequest,
    UseCase::DecideRequest,
    UseCase::RetryProvisioning,
    UseCase::RevokeGrant,
    UseCase::AskChange,
    UseCase::DecideChange,
    UseCase::DeleteNamespace,
    UseCase::DownloadKubeconfig,
    UseCase::ManageAccess,
];

#[test]
fn every_request_use_case_for_every_role_owner_and_state_matches_the_rules() {
    let mut cases = 0;
    for decide_own in [false, true] {
        let policy = Policy { approvers_may_decide_own: decide_own, stages: Default::default() };
        for use_case in REQUEST_USE_CASES {
            for role in Role::ALL {
                for relation in RELATIONS {
                    let requester_id = if relation == Relation::Requester { CALLER_ID } else { "someone-else" };
                    let member = relation == Relation::Member;
                    for state in S::ALL {
                        for (ext, asked) in [(false, false), (true, false), (false, true), (true, true)] {
                            let request = request(state, ext, asked);
                            let got = outcome(policy.check(
                                &caller(role),
                                use_case,
                                Target::Request { requester_id, member, request: &request },
                            ));
                            let want = expected(use_case, role, relation, state, ext, asked, decide_own);
                            assert_eq!(
                                got, want,
                                "{use_case:?} by {role:?} ({relation:?}) on {state:?} (extension: {ext}, deletion \
                                 asked: {asked}, approvers decide own: {decide_own})"
                            );
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * REQUEST_USE_CASES.len() * 3 * 3 * S::ALL.len() * 4);
}

#[test]
fn the_use_cases_without_a_record_need_only_their_role() {
    let policy = Policy::default();
    let table = [
        (UseCase::SubmitRequest, Role::Developer),
        (UseCase::ListOwnRequests, Role::Developer),
        (UseCase::ListOwnAccess, Role::Developer),
        (UseCase::ListPending, Role::Approver),
        (UseCase::ListGrants, Role::Admin),
        (UseCase::ReadAudit, Role::Admin),
        (UseCase::ListUsers, Role::Admin),
        (UseCase::ViewServerStatus, Role::Admin),
    ];
    for (use_case, min) in table {
        for role in Role::ALL {
            let want = if role >= min { Outcome::Allowed } else { Outcome::RoleTooLow };
            assert_eq!(outcome(policy.check(&caller(role), use_case, Target::Nothing)), want, "{use_case:?} {role:?}");
        }
    }
    for use_case in UseCase::ALL {
        let tabled = table.iter().any(|(listed, _)| *listed == use_case)
            || REQUEST_USE_CASES.contains(&use_case)
            || use_case == UseCase::RevokeCredential;
        assert!(tabled, "{use_case:?} is in none of the tables");
    }
}

#[test]
fn a_kubeconfig_is_revoked_by_its_owner_the_grants_owner_or_an_admin_and_hidden_from_other_developers() {
    let policy = Policy::default();
    let check = |role, owner_id, grant_owner_id| {
        let target = Target::Credential { owner_id, grant_owner_id };
        outcome(policy.check(&caller(role), UseCase::RevokeCredential, target))
    };
    for role in Role::ALL {
        assert_eq!(check(role, CALLER_ID, "someone-else"), Outcome::Allowed, "{role:?} revokes their own");
        assert_eq!(check(role, "a-member", CALLER_ID), Outcome::Allowed, "{role:?} revokes their grant's");
    }
    assert_eq!(check(Role::Developer, "someone-else", "someone-else"), Outcome::Hidden);
    assert_eq!(check(Role::Approver, "someone-else", "someone-else"), Outcome::NotAllowed);
    assert_eq!(check(Role::Admin, "someone-else", "someone-else"), Outcome::Allowed);
}

#[test]
fn the_gate_lets_in_only_signed_in_roles_that_reach_the_use_case() {
    let person = Person { id: CALLER_ID.into(), display_name: "Carol".into(), email: None, groups: Vec::new() };
    for use_case in UseCase::ALL {
        assert_eq!(authorize(&SessionView::Anonymous, use_case), Err(Refusal::SignInRequired));
        assert_eq!(authorize(&SessionView::NoAccess(person.clone()), use_case), Err(Refusal::RoleTooLow));
        for role in Role::ALL {
            let got = authorize(&SessionView::SignedIn(person.clone(), role), use_case);
            if role >= use_case.min_role() {
                assert_eq!(got, Ok(caller(role)), "{use_case:?} {role:?}");
            } else {
                assert_eq!(got, Err(Refusal::RoleTooLow), "{use_case:?} {role:?}");
            }
        }
    }
}

#[test]
fn the_page_buttons_are_the_policy_answers() {
    for decide_own in [false, true] {
        let policy = Policy { approvers_may_decide_own: decide_own, stages: Default::default() };
        for role in Role::ALL {
            for relation in RELATIONS {
                let own = relation == Relation::Requester;
                let requester_id = if own { CALLER_ID } else { "someone-else" };
                for state in S::ALL {
                    for ext in [false, true] {
                        let request = request(state, ext, false);
                        let member = relation == Relation::Member;
                        let may = policy.permissions(&caller(role), requester_id, member, &request);
                        let allowed = |use_case| {
                            expected(use_case, role, relation, state, ext, false, decide_own) == Outcome::Allowed
                        };
                        let want = Permissions {
                            cancel: allowed(UseCase::CancelRequest),
                            decide: allowed(UseCase::DecideRequest),
                            retry: allowed(UseCase::RetryProvisioning),
                            download: allowed(UseCase::DownloadKubeconfig),
                            revoke_credentials: own || role == Role::Admin,
                            revoke: allowed(UseCase::RevokeGrant),
                            ask_change: allowed(UseCase::AskChange),
                            manage_access: allowed(UseCase::ManageAccess),
                            decide_change: allowed(UseCase::DecideChange),
                            delete_namespace: allowed(UseCase::DeleteNamespace),
                        };
                        assert_eq!(may, want, "{role:?} {relation:?} {state:?} extension: {ext}");
                    }
                }
            }
        }
    }
}

#[test]
fn an_approver_is_told_why_they_may_not_decide_their_own_request() {
    let policy = Policy::default();
    let pending = request(S::Pending, false, false);
    let approver = caller(Role::Approver);
    assert_eq!(policy.decide_refusal(&approver, CALLER_ID, &pending).as_deref(), Some(OWN_DECISION));
    assert_eq!(policy.decide_refusal(&approver, "someone-else", &pending), None);
    assert_eq!(policy.decide_refusal(&caller(Role::Developer), CALLER_ID, &pending), None, "not theirs to decide");
    let extension = request(S::Ready, true, false);
    assert_eq!(policy.decide_refusal(&approver, CALLER_ID, &extension).as_deref(), Some(OWN_DECISION));
    let allowed = Policy { approvers_may_decide_own: true, stages: Default::default() };
    assert_eq!(allowed.decide_refusal(&approver, CALLER_ID, &pending), None);
}

#[test]
fn a_decision_that_came_too_late_names_the_one_that_came_first() {
    let policy = Policy::default();
    let approved = request(S::Approved, false, false);
    let refusal = policy.check(
        &caller(Role::Approver),
        UseCase::DecideRequest,
        Target::Request { requester_id: "x", member: false, request: &approved },
    );
    assert_eq!(refusal, Err(Refusal::WrongState("Already decided: this request was approved by Alice.".into())));
    let denied = request(S::Denied, false, false);
    let refusal = policy.check(
        &caller(Role::Approver),
        UseCase::DecideRequest,
        Target::Request { requester_id: "x", member: false, request: &denied },
    );
    assert_eq!(refusal, Err(Refusal::WrongState("Already decided: this request was denied by Alice.".into())));
}

#[test]
fn refusals_become_the_errors_the_caller_sees() {
    assert_eq!(ApiError::from(Refusal::SignInRequired).status(), 401);
    assert_eq!(ApiError::from(Refusal::RoleTooLow).status(), 403);
    assert_eq!(ApiError::from(Refusal::Hidden).status(), 404);
    assert_eq!(ApiError::from(Refusal::NotAllowed(OWN_DECISION)), ApiError::NotAllowed(OWN_DECISION.into()));
    assert_eq!(ApiError::from(Refusal::WrongState("x".into())).status(), 409);
}
