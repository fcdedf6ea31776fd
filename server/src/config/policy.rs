//! The decision policy (`[policy]`): per stage, what may be requested, the approvals a request needs, the
//! rules that approve at once, and how long a request may wait for people. Evaluated by the pure functions
//! of `app::policy::stages` and `app::policy::approvals`; this module only reads and checks it.
//!
//! ```toml
//! [policy.stages.production]
//! profiles = ["small", "medium"]
//! helm_modes = ["none"]
//! max_lifetime_days = 90
//! max_pending_days = 7
//! approvals = [{ group = "berth-approvers", count = 1 }, { group = "platform-approvers", count = 1 }]
//!
//! [[policy.stages.test.auto_approve]]
//! name = "small test namespaces"
//! profiles = ["small"]
//! max_active_grants = 3
//! ```
//!
//! A stage the section does not name needs one approval by anyone with the approver role, as before.

use std::collections::{BTreeMap, BTreeSet};

use app::policy::approvals::Slot;
use app::policy::stages::{AutoApproval, StagePolicy};
use app::requests::HelmMode;
use serde::{Deserialize, Serialize};

use super::{RequestsConfig, RoleGroups};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Keyed by stage (one of `requests.stages`).
    #[serde(default)]
    pub stages: BTreeMap<String, StageConfig>,
}

/// One stage's policy. Every list left out allows everything the installation offers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// Quota profiles the stage allows (names of `requests.quota_profiles`).
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Helm modes the stage allows: `none` (Helm 3 or later), `tiller`.
    #[serde(default)]
    pub helm_modes: Vec<String>,
    /// The longest lifetime a request of the stage may ask for, in days.
    pub max_lifetime_days: Option<u32>,
    /// All of these: `count` different people of `group`. A person counts once, never for their own
    /// request. Left out: one approval by anyone with the approver role.
    #[serde(default)]
    pub approvals: Vec<ApprovalSlotConfig>,
    /// Rules that approve a request at once, tried in order.
    #[serde(default)]
    pub auto_approve: Vec<AutoApproveConfig>,
    /// A request of the stage nobody decided within this many days lapses; default
    /// `requests.pending_lapse_days`.
    pub max_pending_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSlotConfig {
    pub group: String,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoApproveConfig {
    /// Shown as the one who approved, in the audit log and the notice.
    pub name: String,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub helm_modes: Vec<String>,
    /// Matches only while the requester has at most this many active grants already.
    pub max_active_grants: Option<u32>,
}

impl PolicyConfig {
    /// The stages' policies as the evaluator takes them. Call after [`problems`] found none.
    pub fn stage_policies(&self) -> Vec<StagePolicy> {
        let modes = |names: &[String]| names.iter().filter_map(|name| HelmMode::parse(name)).collect::<Vec<_>>();
        self.stages
            .iter()
            .map(|(stage, config)| StagePolicy {
                stage: stage.clone(),
                profiles: config.profiles.clone(),
                helm_modes: modes(&config.helm_modes),
                max_lifetime_days: config.max_lifetime_days,
                approvals: if config.approvals.is_empty() {
                    vec![Slot::any_approver()]
                } else {
                    config
                        .approvals
                        .iter()
                        .map(|slot| Slot { group: Some(slot.group.clone()), count: slot.count })
                        .collect()
                },
                auto_approve: config
                    .auto_approve
                    .iter()
                    .map(|rule| AutoApproval {
                        name: rule.name.trim().to_string(),
                        profiles: rule.profiles.clone(),
                        helm_modes: modes(&rule.helm_modes),
                        max_active_grants: rule.max_active_grants,
                    })
                    .collect(),
                max_pending_days: config.max_pending_days,
            })
            .collect()
    }
}

/// What is wrong with `[policy]`, each problem named by its key. `roles` is `None` without single sign-on
/// (reported elsewhere); then groups are not checked.
pub(super) fn problems(policy: &PolicyConfig, requests: &RequestsConfig, roles: Option<&RoleGroups>) -> Vec<String> {
    let mut problems = Vec::new();
    let profiles: BTreeSet<&str> = requests.quota_profiles.iter().map(|profile| profile.name.as_str()).collect();
    let deciding_groups: Option<BTreeSet<&str>> =
        roles.map(|roles| roles.approver.iter().chain(&roles.admin).map(String::as_str).collect());
    for (stage, config) in &policy.stages {
        let key = format!("policy.stages.{stage}");
        if !requests.stages.contains(stage) {
            problems
                .push(format!("  - {key}: {stage:?} is not one of requests.stages ({})", requests.stages.join(", ")));
        }
        problems.extend(choice_problems(&key, &config.profiles, &config.helm_modes, &profiles, requests));
        if let Some(days) = config.max_lifetime_days
            && !(1..=requests.lifetime_days.max).contains(&days)
        {
            problems.push(format!(
                "  - {key}.max_lifetime_days: {days} must be between 1 and requests.lifetime_days.max ({})",
                requests.lifetime_days.max
            ));
        }
        if config.max_pending_days == Some(0) {
            problems.push(format!("  - {key}.max_pending_days: must be at least 1"));
        }
        let mut groups = BTreeSet::new();
        for (index, slot) in config.approvals.iter().enumerate() {
            let key = format!("{key}.approvals[{index}]");
            if slot.count == 0 {
                problems.push(format!("  - {key}.count: must be at least 1"));
            }
            if slot.group.trim().is_empty() {
                problems.push(format!("  - {key}.group: must not be empty"));
            } else if !groups.insert(slot.group.as_str()) {
                problems.push(format!("  - {key}.group: {:?} is listed twice; raise its count instead", slot.group));
            } else if let Some(deciding) = &deciding_groups
                && !deciding.contains(slot.group.as_str())
            {
                problems.push(format!(
                    "  - {key}.group: {:?} grants neither the approver nor the admin role (auth.roles), so nobody \
                     in it could decide",
                    slot.group
                ));
            }
        }
        let mut names = BTreeSet::new();
        for (index, rule) in config.auto_approve.iter().enumerate() {
            let key = format!("{key}.auto_approve[{index}]");
            let name = rule.name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                problems.push(format!("  - {key}.name: must be 1 to 100 characters (it is shown as the approver)"));
            } else if !names.insert(name) {
                problems.push(format!("  - {key}.name: {name:?} is used twice in the stage"));
            }
            problems.extend(choice_problems(&key, &rule.profiles, &rule.helm_modes, &profiles, requests));
            // A rule that can never match is a mistake the operator wants to hear about at start-up.
            let outside = |allowed: &[String], asked: &[String]| {
                !allowed.is_empty() && asked.iter().any(|item| !allowed.contains(item))
            };
            if outside(&config.profiles, &rule.profiles) {
                problems.push(format!("  - {key}.profiles: must list only profiles the stage allows"));
            }
            if outside(&config.helm_modes, &rule.helm_modes) {
                problems.push(format!("  - {key}.helm_modes: must list only Helm modes the stage allows"));
            }
        }
    }
    problems
}

/// Unknown profiles and Helm modes in a list at `key`.
fn choice_problems(
    key: &str,
    profiles: &[String],
    helm_modes: &[String],
    known: &BTreeSet<&str>,
    requests: &RequestsConfig,
) -> Vec<String> {
    let mut problems = Vec::new();
    for profile in profiles.iter().filter(|profile| !known.contains(profile.as_str())) {
        let all: Vec<&str> = known.iter().copied().collect();
        problems.push(format!("  - {key}.profiles: {profile:?} is not a quota profile ({})", all.join(", ")));
    }
    for mode in helm_modes {
        match HelmMode::parse(mode) {
            None => {
                problems.push(format!("  - {key}.helm_modes: {mode:?} is neither \"none\" (Helm 3) nor \"tiller\""))
            }
            Some(HelmMode::Tiller) if !requests.tiller_enabled => problems
                .push(format!("  - {key}.helm_modes: \"tiller\" is switched off (requests.tiller_enabled = false)")),
            Some(_) => {}
        }
    }
    problems
}
