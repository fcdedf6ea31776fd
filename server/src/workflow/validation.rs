//! Checks of a new request and of a denial's reason that need no database and no cluster: everything a
//! form can get wrong. Every problem is reported, each next to its field, so one round trip shows them all.

use app::error::FieldProblem;
use app::model::{NamespaceName, text_problem};
use app::policy::Policy;
use app::policy::stages::{Asked, StagePolicy};
use app::requests::RequestForm;
use app::requests::{HelmMode, field, naming};
use regex::Regex;

use crate::config::{ClusterConfig, PolicyConfig, RequestsConfig};

/// The rules of this installation, compiled once.
#[derive(Clone)]
pub struct Rules {
    config: RequestsConfig,
    profiles: Vec<String>,
    /// Berth's own namespaces.
    own_namespaces: [String; 2],
    pattern: Option<Regex>,
    /// `[policy]`'s stages, as the evaluator takes them.
    stages: std::sync::Arc<[StagePolicy]>,
}

/// A request that passed every check.
use crate::config::TEAM_PLACEHOLDER;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    /// The owning team (one of the requester's team groups), if any.
    pub team: Option<String>,
    pub namespace: NamespaceName,
    pub purpose: String,
    pub stage: String,
    pub helm_mode: HelmMode,
    pub quota_profile: String,
    pub lifetime_days: u32,
}

impl Rules {
    pub fn new(config: &RequestsConfig, policy: &PolicyConfig, cluster: &ClusterConfig) -> anyhow::Result<Self> {
        // Anchored, so the pattern must match the whole name whether or not the operator wrote ^...$. (A
        // pattern with `{team}` is compiled per request, with the team in it.)
        let pattern = config
            .name_pattern
            .as_deref()
            .filter(|p| !p.contains(TEAM_PLACEHOLDER))
            .map(|p| Regex::new(&format!("^(?:{p})$")))
            .transpose()?;
        Ok(Self {
            config: config.clone(),
            profiles: config.quota_profiles.iter().map(|profile| profile.name.clone()).collect(),
            own_namespaces: [cluster.namespace.clone(), cluster.identities_namespace.clone()],
            pattern,
            stages: policy.stage_policies().into(),
        })
    }

    pub fn config(&self) -> &RequestsConfig {
        &self.config
    }

    /// The policy this configuration sets (who may decide their own requests).
    pub fn policy(&self) -> Policy {
        Policy { approvers_may_decide_own: self.config.approvers_may_decide_own, stages: self.stages.clone() }
    }

    pub fn check(&self, form: &RequestForm, groups: &[String]) -> Result<ValidRequest, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| problems.push(FieldProblem::new(field, message));

        // The owning team first: the naming policy may depend on it.
        let teams = self.teams_of(groups);
        let team = match form.team.trim() {
            "" if teams.is_empty() => None,
            "" => {
                problem(field::TEAM, format!("Choose the team that owns it: {}.", teams.join(", ")));
                None
            }
            asked if teams.iter().any(|team| team == asked) => Some(asked.to_string()),
            asked => {
                let offer = match teams.is_empty() {
                    true => "you are in no team group of this installation".to_string(),
                    false => format!("choose one of {}", teams.join(", ")),
                };
                problem(field::TEAM, format!("'{asked}' is not one of your teams at sign-in: {offer}."));
                None
            }
        };

        let namespace = form.namespace.trim();
        if let Some(message) = self.name_problem(namespace, team.as_deref()) {
            problem(field::NAMESPACE, message);
        }

        let purpose = form.purpose.trim();
        let max = self.config.purpose_max_chars as usize;
        if let Some(message) = text_problem(purpose, max, "Say what the namespace is for, so an approver can decide.") {
            problem(field::PURPOSE, message);
        }

        if !self.config.stages.iter().any(|stage| stage == &form.stage) {
            problem(field::STAGE, format!("Choose one of: {}.", self.config.stages.join(", ")));
        }

        let helm_mode = HelmMode::parse(&form.helm_mode);
        match helm_mode {
            Some(HelmMode::Tiller) if !self.config.tiller_enabled => problem(
                field::HELM_MODE,
                "Helm 2 with Tiller is switched off in this installation; choose Helm 3 or later.".to_string(),
            ),
            Some(_) => {}
            None => problem(field::HELM_MODE, "Choose Helm 3 or later, or Helm 2 with a Tiller.".to_string()),
        }

        if !self.profiles.iter().any(|profile| profile == &form.quota_profile) {
            problem(field::QUOTA_PROFILE, format!("Choose one of the quota profiles: {}.", self.profiles.join(", ")));
        }

        let bounds = self.config.lifetime_days;
        let days = form.lifetime_days.trim();
        let lifetime_days = if !days.is_empty() && days.chars().all(|c| c.is_ascii_digit()) {
            // All digits: a number too large for u32 is simply out of bounds.
            let days = days.parse::<u32>().ok().filter(|days| (bounds.min..=bounds.max).contains(days));
            if days.is_none() {
                problem(field::LIFETIME_DAYS, format!("Between {} and {} days.", bounds.min, bounds.max));
            }
            days
        } else {
            let message = format!("Enter a whole number of days between {} and {}.", bounds.min, bounds.max);
            problem(field::LIFETIME_DAYS, message);
            None
        };

        // What the stage's policy allows, once the fields themselves are sound: "The production stage allows
        // small or medium" next to the profile.
        if let (true, Some(helm_mode), Some(lifetime_days)) = (problems.is_empty(), helm_mode, lifetime_days) {
            let asked = Asked { profile: &form.quota_profile, helm_mode, lifetime_days, active_grants: 0 };
            problems.extend(self.policy().stage(&form.stage).problems(&asked));
        }

        match (problems.is_empty(), helm_mode, lifetime_days) {
            (true, Some(helm_mode), Some(lifetime_days)) => Ok(ValidRequest {
                team,
                namespace: NamespaceName::checked(namespace),
                purpose: purpose.to_string(),
                stage: form.stage.clone(),
                helm_mode,
                quota_profile: form.quota_profile.clone(),
                lifetime_days,
            }),
            _ => Err(problems),
        }
    }

    /// Whether a request submitted earlier still meets the rules that may have changed since (an operator
    /// reserved its name, tightened the naming policy or switched Tiller off): checked again when an approver
    /// decides and when the worker provisions, so the rule of the moment wins. The message says why.
    pub fn still_allowed(&self, namespace: &str, team: Option<&str>, helm_mode: HelmMode) -> Result<(), String> {
        if let Some(problem) = self.name_problem(namespace, team) {
            return Err(format!("The name '{namespace}' is no longer allowed: {problem}"));
        }
        if helm_mode == HelmMode::Tiller && !self.config.tiller_enabled {
            return Err("Helm 2 with Tiller has been switched off in this installation since this request was made."
                .to_string());
        }
        Ok(())
    }

    /// Why `name` may not be requested here, apart from being taken.
    /// The groups of `groups` that may own a grant (`requests.team_groups`), in order.
    pub fn teams_of(&self, groups: &[String]) -> Vec<String> {
        groups
            .iter()
            .filter(|group| self.config.team_groups.iter().any(|pattern| glob_matches(pattern, group)))
            .cloned()
            .collect()
    }

    fn name_problem(&self, name: &str, team: Option<&str>) -> Option<String> {
        if let Some(message) = naming::shape_problem(name) {
            return Some(message);
        }
        if self.own_namespaces.iter().any(|own| own == name) {
            return Some(format!("'{name}' is Berth's own namespace."));
        }
        if let Some(reserved) = self.config.reserved_names.iter().find(|pattern| glob_matches(pattern, name)) {
            return Some(match reserved.contains('*') {
                true => format!("Names like '{reserved}' are reserved in this installation."),
                false => format!("'{name}' is reserved in this installation."),
            });
        }
        // A policy that names the team: compiled with this request's team in it.
        let with_team = match (&self.config.name_pattern, team) {
            (Some(source), Some(team)) if source.contains(TEAM_PLACEHOLDER) => {
                let source = source.replace(TEAM_PLACEHOLDER, &regex::escape(team));
                match Regex::new(&format!("^(?:{source})$")) {
                    Ok(pattern) => Some(pattern),
                    // Checked at start-up with a sample team; a team that breaks it (a size limit) is refused,
                    // not let through unchecked.
                    Err(_) => return Some(format!("The naming policy cannot be applied with the team '{team}'.")),
                }
            }
            (Some(source), None) if source.contains(TEAM_PLACEHOLDER) => {
                return Some("The naming policy names the owning team: choose the team first.".to_string());
            }
            _ => None,
        };
        if let Some(pattern) = with_team.as_ref().or(self.pattern.as_ref())
            && !pattern.is_match(name)
        {
            return Some(match &self.config.name_pattern_hint {
                Some(hint) => format!("This name does not follow the naming policy: {hint}"),
                None => format!("This name does not follow the naming policy ({}).", pattern.as_str()),
            });
        }
        None
    }
}

/// Whether `name` matches `pattern`, where each `*` stands for any characters (none included).
fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else { return rest.is_empty() };
    for middle in parts {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(edit: impl FnOnce(&mut RequestsConfig)) -> Rules {
        let mut config = RequestsConfig::default();
        edit(&mut config);
        Rules::new(&config, &Default::default(), &ClusterConfig::default()).unwrap()
    }

    fn form() -> RequestForm {
        RequestForm {
            namespace: "team-a-ci".into(),
            purpose: "Jenkins deploys the team A services here".into(),
            stage: "test".into(),
            helm_mode: "tiller".into(),
            quota_profile: "small".into(),
            lifetime_days: "30".into(),
            team: String::new(),
        }
    }

    fn problem(rules: &Rules, form: RequestForm, field: &str) -> String {
        let problems = rules.check(&form, &[]).expect_err("refused");
        problems
            .iter()
            .find(|p| p.field == field)
            .unwrap_or_else(|| panic!("no problem with {field}: {problems:?}"))
            .message
            .clone()
    }

    #[test]
    fn a_good_form_passes_trimmed() {
        let valid = rules(|_| {}).check(&RequestForm { namespace: " team-a-ci ".into(), ..form() }, &[]).unwrap();
        assert_eq!(valid.namespace, "team-a-ci");
        assert_eq!((valid.helm_mode, valid.lifetime_days), (HelmMode::Tiller, 30));
    }

    #[test]
    fn every_field_is_checked_and_every_problem_reported() {
        let bad = RequestForm {
            namespace: "Team".into(),
            purpose: " ".into(),
            stage: "prod".into(),
            helm_mode: "helm2".into(),
            quota_profile: "huge".into(),
            lifetime_days: "soon".into(),
            team: "<script>".into(),
        };
        let problems = rules(|_| {}).check(&bad, &[]).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["team", "namespace", "purpose", "stage", "helm_mode", "quota_profile", "lifetime_days"]);
    }

    #[test]
    fn the_usual_platform_add_ons_are_reserved_by_default() {
        let rules = rules(|_| {});
        let name = |n: &str| RequestForm { namespace: n.into(), ..form() };
        for taken in [
            "cert-manager",
            "flux-system",
            "crossplane-system",
            "ingress-nginx",
            "istio-ingress",
            "argocd",
            "monitoring",
            "velero",
            "gatekeeper-system",
            "logging",
            "linkerd",
            "tigera-operator",
        ] {
            assert!(rules.check(&name(taken), &[]).is_err(), "{taken} is reserved");
        }
        assert_eq!(
            problem(&rules, name("flux-system"), "namespace"),
            "Names like '*-system' are reserved in this installation."
        );
        for free in ["team-a-ci", "systems-team", "my-monitoring", "certs"] {
            assert!(rules.check(&name(free), &[]).is_ok(), "{free} is free");
        }
        assert!(self::rules(|c| c.reserved_names.clear()).check(&name("monitoring"), &[]).is_ok(), "configurable");
    }

    #[test]
    fn globs_match_anywhere_a_star_stands() {
        for (pattern, name, matches) in [
            ("a*", "a", true),
            ("a*", "abc", true),
            ("*-system", "-system", true),
            ("*-system", "kube-systems", false),
            ("x*y*z", "xaybz", true),
            ("x*y*z", "xz", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a*a", "a", false),
        ] {
            assert_eq!(glob_matches(pattern, name), matches, "{pattern} ~ {name}");
        }
    }

    #[test]
    fn a_rule_changed_after_submission_wins_later() {
        let now = rules(|c| {
            c.reserved_names = vec!["team-a-*".into()];
            c.tiller_enabled = false;
        });
        let error = now.still_allowed("team-a-ci", None, HelmMode::NoTiller).unwrap_err();
        assert_eq!(
            error,
            "The name 'team-a-ci' is no longer allowed: Names like 'team-a-*' are reserved in this installation."
        );
        assert!(now.still_allowed("team-b-ci", None, HelmMode::Tiller).unwrap_err().contains("switched off"));
        assert!(now.still_allowed("team-b-ci", None, HelmMode::NoTiller).is_ok());
    }

    #[test]
    fn berth_s_own_and_configured_reserved_names_are_refused() {
        let rules = rules(|c| c.reserved_names = vec!["platform".into(), "monitoring-*".into()]);
        let name = |n: &str| RequestForm { namespace: n.into(), ..form() };
        assert_eq!(problem(&rules, name("berth"), "namespace"), "'berth' is Berth's own namespace.");
        assert_eq!(
            problem(&rules, name("berth-identities"), "namespace"),
            "'berth-identities' is Berth's own namespace."
        );
        assert_eq!(problem(&rules, name("platform"), "namespace"), "'platform' is reserved in this installation.");
        assert!(problem(&rules, name("monitoring-x"), "namespace").contains("like 'monitoring-*'"));
        assert!(rules.check(&name("platform-x"), &[]).is_ok(), "an exact entry is not a prefix");
    }

    #[test]
    fn the_naming_policy_must_match_the_whole_name_and_is_explained() {
        let rules = rules(|c| {
            c.name_pattern = Some("team-[a-z0-9-]+".into());
            c.name_pattern_hint = Some("Start with team-.".into());
        });
        assert!(rules.check(&form(), &[]).is_ok());
        let refused = RequestForm { namespace: "x-team-a".into(), ..form() };
        assert_eq!(
            problem(&rules, refused, "namespace"),
            "This name does not follow the naming policy: Start with team-."
        );
    }

    #[test]
    fn purpose_must_be_present_bounded_and_printable() {
        let rules = rules(|c| c.purpose_max_chars = 10);
        let purpose = |p: &str| RequestForm { purpose: p.into(), ..form() };
        assert!(problem(&rules, purpose(""), "purpose").starts_with("Say what the namespace is for"));
        assert_eq!(problem(&rules, purpose("12345678901"), "purpose"), "At most 10 characters; this has 11.");
        assert!(problem(&rules, purpose("a\0b"), "purpose").contains("control characters"));
        for hidden in ["ok\u{202E}evil", "a\u{200B}b", "x\u{2066}y", "\u{FEFF}z", "soft\u{00AD}y"] {
            let message = problem(&rules, purpose(hidden), "purpose");
            assert!(message.starts_with("Remove the invisible character U+"), "{hidden:?}: {message}");
        }
        assert!(rules.check(&purpose("נמל 港"), &[]).is_ok(), "right-to-left and CJK text as such are fine");
        assert!(rules.check(&purpose("two\nlines"), &[]).is_ok());
        assert!(rules.check(&purpose("éééééééééé"), &[]).is_ok(), "characters, not bytes");
    }

    #[test]
    fn lifetime_must_be_a_number_within_bounds() {
        let rules = rules(|_| {});
        let days = |d: &str| RequestForm { lifetime_days: d.into(), ..form() };
        assert_eq!(problem(&rules, days("0"), "lifetime_days"), "Between 1 and 365 days.");
        assert_eq!(problem(&rules, days("366"), "lifetime_days"), "Between 1 and 365 days.");
        assert_eq!(problem(&rules, days("99999999999"), "lifetime_days"), "Between 1 and 365 days.");
        assert!(problem(&rules, days("-1"), "lifetime_days").starts_with("Enter a whole number"));
        assert!(problem(&rules, days("1.5"), "lifetime_days").starts_with("Enter a whole number"));
        assert!(problem(&rules, days(""), "lifetime_days").starts_with("Enter a whole number"));
        assert!(rules.check(&days("365"), &[]).is_ok() && rules.check(&days("1"), &[]).is_ok());
    }

    #[test]
    fn tiller_can_be_switched_off() {
        let rules = rules(|c| c.tiller_enabled = false);
        assert!(problem(&rules, form(), "helm_mode").contains("switched off"));
        assert!(rules.check(&RequestForm { helm_mode: "none".into(), ..form() }, &[]).is_ok());
    }

    #[test]
    fn only_the_configured_profiles_may_be_chosen() {
        let rules = rules(|c| {
            c.quota_profiles = vec![crate::config::QuotaProfile {
                name: "ci".into(),
                description: "CI".into(),
                quota: [("pods".to_string(), "10".to_string())].into(),
                container_defaults: Default::default(),
                network: Default::default(),
            }];
        });
        assert!(rules.check(&RequestForm { quota_profile: "ci".into(), ..form() }, &[]).is_ok());
        assert_eq!(problem(&rules, form(), "quota_profile"), "Choose one of the quota profiles: ci.");
    }

    #[test]
    fn a_team_is_one_of_the_requester_s_team_groups_and_the_naming_policy_may_name_it() {
        let rules = rules(|c| {
            c.team_groups = vec!["team-*".into()];
            c.name_pattern = Some("{team}-[a-z0-9-]+".into());
            c.name_pattern_hint = Some("Start with your team's name.".into());
        });
        let groups: Vec<String> = ["berth-developers", "team-payments", "team-web"].map(String::from).to_vec();
        assert_eq!(rules.teams_of(&groups), ["team-payments", "team-web"]);
        let ask =
            |team: &str, namespace: &str| RequestForm { team: team.into(), namespace: namespace.into(), ..form() };
        let valid = rules.check(&ask("team-payments", "team-payments-ci"), &groups).unwrap();
        assert_eq!(valid.team.as_deref(), Some("team-payments"));
        let refused = |team: &str, namespace: &str| {
            let problems = rules.check(&ask(team, namespace), &groups).unwrap_err();
            problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; ")
        };
        assert!(refused("team-payments", "team-web-ci").contains("naming policy: Start with your team"));
        assert!(refused("team-ops", "team-ops-ci").contains("'team-ops' is not one of your teams"));
        assert!(refused("", "team-web-ci").contains("Choose the team that owns it: team-payments, team-web."));
        assert!(refused("berth-developers", "x").contains("is not one of your teams"), "not a team group");
        // The team is escaped in the pattern: a dot is a dot.
        let dotted: Vec<String> = vec!["team-a.b".into()];
        assert!(rules.check(&ask("team-a.b", "team-axb-ci"), &dotted).is_err());
        // Approved requests are checked again with their own team.
        assert!(rules.still_allowed("team-web-ci", Some("team-web"), HelmMode::NoTiller).is_ok());
        assert!(rules.still_allowed("team-web-ci", None, HelmMode::NoTiller).is_err());
    }
}
