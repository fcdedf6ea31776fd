//! What the decision policy says per stage: which quota profiles and Helm modes a stage allows, its longest
//! lifetime, the approvals it needs ([`super::approvals`]), the rules that approve a request at once, and how
//! long a request may wait for people.
//!
//! Pure functions over what a request asks for, so the form, the server's check at submit and the workflow
//! agree; the server builds [`StagePolicy`] values from its configuration.

use crate::error::{ApiError, FieldProblem};
use crate::policy::approvals::Slot;
use crate::requests::{HelmMode, field};

/// The policy of one stage. Empty lists allow everything the installation offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagePolicy {
    pub stage: String,
    pub profiles: Vec<String>,
    pub helm_modes: Vec<HelmMode>,
    /// The longest lifetime in days; `None`: the installation's own bound.
    pub max_lifetime_days: Option<u32>,
    /// An AND of slots, never empty: a stage the configuration gives none needs one approver, as before
    /// policies existed.
    pub approvals: Vec<Slot>,
    /// Tried in order; the first that matches approves the request at once, in its name.
    pub auto_approve: Vec<AutoApproval>,
    /// How long a request may wait for people before it lapses; `None`: no limit.
    pub max_pending_days: Option<u32>,
}

/// A rule that approves a request at once. Empty lists match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoApproval {
    /// Named in the audit log and the notice as the one who approved.
    pub name: String,
    pub profiles: Vec<String>,
    pub helm_modes: Vec<HelmMode>,
    /// Matches only while the requester has at most this many active grants (before this one).
    pub max_active_grants: Option<u32>,
}

/// What a request asks for, and what the policy needs to know about its requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked<'a> {
    pub profile: &'a str,
    pub helm_mode: HelmMode,
    pub lifetime_days: u32,
    /// The requester's grants that are active now (pending ones not included).
    pub active_grants: u32,
}

impl StagePolicy {
    /// The policy of a stage the configuration says nothing about: everything the installation offers, one
    /// approval by anyone with the approver role, the installation's own lapse.
    pub fn unconfigured(stage: &str) -> Self {
        Self {
            stage: stage.to_string(),
            profiles: Vec::new(),
            helm_modes: Vec::new(),
            max_lifetime_days: None,
            approvals: vec![Slot::any_approver()],
            auto_approve: Vec::new(),
            max_pending_days: None,
        }
    }

    /// What the stage does not allow of `asked`, each next to its field; empty if it allows all of it.
    pub fn problems(&self, asked: &Asked<'_>) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        // In the form's order.
        if !allows(&self.helm_modes, &asked.helm_mode) {
            let modes = list_of(&self.helm_modes, |mode| mode.label().to_string());
            problems.push(FieldProblem::new(field::HELM_MODE, format!("The {} stage allows {modes}.", self.stage)));
        }
        if !allows(&self.profiles, &asked.profile) {
            let message = format!("The {} stage allows {}.", self.stage, list_of(&self.profiles, |p| p.clone()));
            problems.push(FieldProblem::new(field::QUOTA_PROFILE, message));
        }
        if let Some(max) = self.max_lifetime_days.filter(|max| asked.lifetime_days > *max) {
            let message = format!("At most {max} days in the {} stage.", self.stage);
            problems.push(FieldProblem::new(field::LIFETIME_DAYS, message));
        }
        problems
    }

    /// [`StagePolicy::problems`] as the refusal of a submission, if any.
    pub fn check(&self, asked: &Asked<'_>) -> Result<(), ApiError> {
        let problems = self.problems(asked);
        if problems.is_empty() { Ok(()) } else { Err(ApiError::Invalid(problems)) }
    }

    /// The first rule that approves `asked` at once, if any (only for what the stage allows at all).
    pub fn auto_approval(&self, asked: &Asked<'_>) -> Option<&AutoApproval> {
        if !self.problems(asked).is_empty() {
            return None;
        }
        self.auto_approve.iter().find(|rule| {
            allows(&rule.profiles, &asked.profile)
                && allows(&rule.helm_modes, &asked.helm_mode)
                && rule.max_active_grants.is_none_or(|max| asked.active_grants <= max)
        })
    }
}

/// An empty list allows anything.
/// The name Berth's own rule approves in: a change of a live grant that only takes away.
pub const REDUCTIONS_RULE: &str = "a change that only takes away";

impl StagePolicy {
    /// The rule that approves a change of a live grant at once, if any. `takes_away`: the change asks for no
    /// more days and no limit larger than the grant has (a smaller profile, Helm 3 instead of Tiller): Berth's
    /// own rule approves it, since it only lessens what the grant may do. Otherwise the stage's auto-approval
    /// rules are tried on the grant as it would be afterwards (`as_changed`, which the stage must allow).
    pub fn change_auto_approval(&self, takes_away: bool, as_changed: &Asked<'_>) -> Option<&str> {
        if takes_away && self.problems(as_changed).is_empty() {
            return Some(REDUCTIONS_RULE);
        }
        self.auto_approval(as_changed).map(|rule| rule.name.as_str())
    }
}

fn allows<T: PartialEq<U>, U: ?Sized>(allowed: &[T], asked: &U) -> bool {
    allowed.is_empty() || allowed.iter().any(|item| item == asked)
}

/// "a", "a or b", "a, b or c".
fn list_of<T>(items: &[T], name: impl Fn(&T) -> String) -> String {
    let names: Vec<String> = items.iter().map(name).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> StagePolicy {
        StagePolicy {
            stage: "production".into(),
            profiles: vec!["small".into(), "medium".into()],
            helm_modes: vec![HelmMode::NoTiller],
            max_lifetime_days: Some(90),
            approvals: vec![Slot { group: Some("berth-approvers".into()), count: 1 }],
            auto_approve: Vec::new(),
            max_pending_days: Some(14),
        }
    }

    fn test_stage() -> StagePolicy {
        StagePolicy {
            stage: "test".into(),
            profiles: Vec::new(),
            helm_modes: Vec::new(),
            max_lifetime_days: None,
            approvals: vec![Slot { group: Some("berth-approvers".into()), count: 1 }],
            auto_approve: vec![AutoApproval {
                name: "small test namespaces".into(),
                profiles: vec!["small".into()],
                helm_modes: vec![HelmMode::NoTiller],
                max_active_grants: Some(2),
            }],
            max_pending_days: None,
        }
    }

    fn asked(profile: &str, helm_mode: HelmMode, lifetime_days: u32, active_grants: u32) -> Asked<'_> {
        Asked { profile, helm_mode, lifetime_days, active_grants }
    }

    #[test]
    fn a_stage_refuses_what_it_does_not_allow_next_to_each_field() {
        let stage = production();
        assert_eq!(stage.problems(&asked("small", HelmMode::NoTiller, 90, 0)), []);
        let everything_wrong = stage.problems(&asked("large", HelmMode::Tiller, 91, 0));
        let by_field: Vec<(&str, &str)> =
            everything_wrong.iter().map(|p| (p.field.as_str(), p.message.as_str())).collect();
        assert_eq!(
            by_field,
            [
                (field::HELM_MODE, "The production stage allows Helm 3 or later (no Tiller)."),
                (field::QUOTA_PROFILE, "The production stage allows small or medium."),
                (field::LIFETIME_DAYS, "At most 90 days in the production stage."),
            ]
        );
        assert!(
            matches!(stage.check(&asked("large", HelmMode::NoTiller, 30, 0)), Err(ApiError::Invalid(p)) if p.len() == 1)
        );
    }

    #[test]
    fn empty_lists_allow_everything_the_installation_offers() {
        let stage = test_stage();
        assert_eq!(stage.problems(&asked("large", HelmMode::Tiller, 365, 9)), []);
    }

    #[test]
    fn the_first_matching_rule_approves_at_once_and_nothing_else_does() {
        let stage = test_stage();
        let rule = stage.auto_approval(&asked("small", HelmMode::NoTiller, 30, 2)).map(|rule| rule.name.as_str());
        assert_eq!(rule, Some("small test namespaces"));
        for (why, no_match) in [
            ("a larger profile", asked("medium", HelmMode::NoTiller, 30, 0)),
            ("Tiller", asked("small", HelmMode::Tiller, 30, 0)),
            ("a third active grant", asked("small", HelmMode::NoTiller, 30, 3)),
        ] {
            assert_eq!(stage.auto_approval(&no_match), None, "{why}");
        }
        assert_eq!(production().auto_approval(&asked("small", HelmMode::NoTiller, 30, 0)), None, "no rules");
    }

    #[test]
    fn a_rule_never_approves_what_the_stage_refuses() {
        let mut stage = production();
        stage.auto_approve = vec![AutoApproval {
            name: "anything".into(),
            profiles: Vec::new(),
            helm_modes: Vec::new(),
            max_active_grants: None,
        }];
        assert!(stage.auto_approval(&asked("small", HelmMode::NoTiller, 30, 0)).is_some());
        assert_eq!(stage.auto_approval(&asked("large", HelmMode::NoTiller, 30, 0)), None);
    }

    #[test]
    fn lists_read_as_sentences() {
        let name = |s: &&str| (*s).to_string();
        assert_eq!(list_of(&["a"], name), "a");
        assert_eq!(list_of(&["a", "b"], name), "a or b");
        assert_eq!(list_of(&["a", "b", "c"], name), "a, b or c");
    }

    #[test]
    fn a_change_that_only_takes_away_is_approved_by_berth_s_rule_and_others_by_the_stage_s() {
        let small_helm_3 = asked("small", HelmMode::NoTiller, 0, 1);
        let production = production();
        assert_eq!(production.change_auto_approval(true, &small_helm_3), Some(REDUCTIONS_RULE));
        assert_eq!(production.change_auto_approval(false, &small_helm_3), None, "more days wait for people");
        let tiller = asked("small", HelmMode::Tiller, 0, 1);
        assert_eq!(production.change_auto_approval(true, &tiller), None, "never what the stage refuses");
        let test = test_stage();
        assert_eq!(test.change_auto_approval(false, &small_helm_3), Some("small test namespaces"));
    }
}
