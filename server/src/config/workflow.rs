//! The settings of the request workflow: what may be requested, the naming policy, notifications, and where
//! the cluster is.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// What a namespace request may ask for, and who may decide it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsConfig {
    /// The stages a namespace can be for, in the order the form lists them.
    pub stages: Vec<String>,
    /// Whether Helm 2 with a per-namespace Tiller may be requested. Switch it off once no pipeline needs it.
    pub tiller_enabled: bool,
    /// The quota profiles a request chooses from, in the order the form lists them; the first is the form's
    /// default. Built in: `small`, `medium`, `large`; given in the file (`[[requests.quota_profiles]]`), they
    /// replace the built-in ones.
    pub quota_profiles: Vec<QuotaProfile>,
    /// How long a grant may last, in days, and the form's default.
    pub lifetime_days: LifetimeDays,
    /// The longest purpose accepted, in characters.
    pub purpose_max_chars: u32,
    /// Names nobody may request, besides Kubernetes' own (`default`, `kube-*`, `openshift-*`) and Berth's
    /// (`cluster.namespace`, `cluster.identities_namespace`). An entry ending in `*` is a prefix.
    pub reserved_names: Vec<String>,
    /// A regular expression every requested name must match as a whole, for example `^team-[a-z0-9-]+$`.
    pub name_pattern: Option<String>,
    /// The naming policy in words, shown on the form and in the refusal, for example "Start with team-".
    pub name_pattern_hint: Option<String>,
    /// Whether an approver may decide their own request. Off by default: four eyes.
    pub approvers_may_decide_own: bool,
}

/// A ResourceQuota and LimitRange pair a namespace is created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaProfile {
    /// What a request names, for example `small`.
    pub name: String,
    /// Shown on the form, for example "Up to 2 CPUs and 4 GiB of memory".
    pub description: String,
    /// The ResourceQuota's `spec.hard`, for example `"requests.cpu" = "2"`.
    pub quota: BTreeMap<String, String>,
    /// The LimitRange's container defaults: `default` (limits) and `default_request` (requests).
    #[serde(default)]
    pub container_defaults: ContainerDefaults,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDefaults {
    #[serde(default)]
    pub default: BTreeMap<String, String>,
    #[serde(default)]
    pub default_request: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifetimeDays {
    pub min: u32,
    pub max: u32,
    pub default: u32,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            stages: ["test", "staging", "pre-production", "production"].map(String::from).to_vec(),
            tiller_enabled: true,
            quota_profiles: builtin_profiles(),
            lifetime_days: LifetimeDays { min: 1, max: 365, default: 90 },
            purpose_max_chars: 500,
            reserved_names: Vec::new(),
            name_pattern: None,
            name_pattern_hint: None,
            approvers_may_decide_own: false,
        }
    }
}

fn builtin_profiles() -> Vec<QuotaProfile> {
    let profile =
        |name: &str, description: &str, cpu: &str, memory: &str, pods: &str, limit_cpu: &str, limit_memory: &str| {
            let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            QuotaProfile {
                name: name.to_string(),
                description: description.to_string(),
                quota: map(&[
                    ("requests.cpu", cpu),
                    ("requests.memory", memory),
                    ("limits.cpu", limit_cpu),
                    ("limits.memory", limit_memory),
                    ("pods", pods),
                ]),
                container_defaults: ContainerDefaults {
                    default: map(&[("cpu", "500m"), ("memory", "512Mi")]),
                    default_request: map(&[("cpu", "100m"), ("memory", "128Mi")]),
                },
            }
        };
    vec![
        profile("small", "Up to 2 CPUs and 4 GiB requested, 20 pods", "2", "4Gi", "20", "4", "8Gi"),
        profile("medium", "Up to 8 CPUs and 16 GiB requested, 50 pods", "8", "16Gi", "50", "16", "32Gi"),
        profile("large", "Up to 32 CPUs and 64 GiB requested, 200 pods", "32", "64Gi", "200", "64", "128Gi"),
    ]
}

/// Where requests and decisions are announced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// An incoming-webhook URL that takes a Slack-style JSON body (`{"text": ...}`); unset: no notifications.
    /// A secret (Slack's URLs carry their token): never serialized, never logged.
    #[serde(default, skip_serializing)]
    pub webhook_url: Option<SecretString>,
    /// Attempts per notification before it is given up (and logged).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub initial_backoff_ms: u64,
    /// How long one attempt may take.
    pub timeout_seconds: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self { webhook_url: None, max_attempts: 6, initial_backoff_ms: 1_000, timeout_seconds: 10 }
    }
}

/// The cluster Berth manages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// A kubeconfig file with Berth's own credential. Unset: `KUBECONFIG`, `~/.kube/config`, or the
    /// in-cluster ServiceAccount, in that order.
    pub kubeconfig: Option<PathBuf>,
    /// The namespace Berth runs in; nobody may request it.
    pub namespace: String,
    /// The namespace that holds the requesters' identities; nobody may request it.
    pub identities_namespace: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { kubeconfig: None, namespace: "berth".to_string(), identities_namespace: "berth-identities".to_string() }
    }
}

/// The problems with these sections, in the form `Config::validate` reports them.
pub(super) fn problems(
    requests: &RequestsConfig,
    notifications: &NotificationsConfig,
    cluster: &ClusterConfig,
) -> Vec<String> {
    let mut problems = Vec::new();
    if requests.stages.is_empty() || requests.stages.iter().any(|stage| stage.trim().is_empty()) {
        problems.push("  - requests.stages: list at least one stage, none of them empty".to_string());
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = requests.stages.iter().find(|stage| !seen.insert(stage.as_str())) {
        problems.push(format!("  - requests.stages: {twice:?} is listed twice"));
    }
    if requests.quota_profiles.is_empty() {
        problems.push("  - requests.quota_profiles: list at least one profile".to_string());
    }
    let mut names = std::collections::BTreeSet::new();
    for profile in &requests.quota_profiles {
        if profile.name.trim().is_empty() || profile.quota.is_empty() {
            problems.push(format!(
                "  - requests.quota_profiles: {:?} needs a name and at least one quota entry",
                profile.name
            ));
        }
        if !names.insert(profile.name.as_str()) {
            problems.push(format!("  - requests.quota_profiles: {:?} is listed twice", profile.name));
        }
    }
    let lifetime = requests.lifetime_days;
    if !(1 <= lifetime.min && lifetime.min <= lifetime.default && lifetime.default <= lifetime.max) {
        problems.push("  - requests.lifetime_days: needs 1 <= min <= default <= max".to_string());
    }
    if !(1..=10_000).contains(&requests.purpose_max_chars) {
        problems.push("  - requests.purpose_max_chars: must be between 1 and 10000".to_string());
    }
    if let Some(pattern) = &requests.name_pattern
        && let Err(error) = regex::Regex::new(pattern)
    {
        problems.push(format!("  - requests.name_pattern: not a regular expression: {error}"));
    }
    for name in [&cluster.namespace, &cluster.identities_namespace] {
        if app::requests::naming::label_problem(name).is_some() {
            problems.push(format!("  - cluster: {name:?} is not a valid namespace name"));
        }
    }
    if let Some(url) = &notifications.webhook_url {
        match url::Url::parse(url.expose_secret()) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => {}
            // Never echo the URL: it is a secret.
            _ => problems.push("  - notifications.webhook_url: must be an http(s) URL".to_string()),
        }
    }
    if notifications.max_attempts == 0 || notifications.timeout_seconds == 0 {
        problems.push("  - notifications: max_attempts and timeout_seconds must be at least 1".to_string());
    }
    problems
}
