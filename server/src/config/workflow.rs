//! The settings of the request workflow: what may be requested, the naming policy, notifications, and where
//! the cluster is.

use std::collections::BTreeMap;
use std::path::PathBuf;

use app::model::Bounds;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// What `requests.name_pattern` may say for the request's owning team.
pub const TEAM_PLACEHOLDER: &str = "{team}";

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
    pub lifetime_days: Bounds,
    /// The longest purpose accepted, in characters.
    pub purpose_max_chars: u32,
    /// Names nobody may request, besides Kubernetes' own (`default`, `kube-*`, `openshift-*`) and Berth's
    /// (`cluster.namespace`, `cluster.identities_namespace`). `*` stands for any characters (`ingress-*`,
    /// `*-system`). Default: [`DEFAULT_RESERVED_NAMES`], the usual platform add-ons; a list given in the
    /// configuration replaces it.
    pub reserved_names: Vec<String>,
    /// A regular expression every requested name must match as a whole, for example `^team-[a-z0-9-]+$`.
    /// [`TEAM_PLACEHOLDER`] in it stands for the request's owning team (`{team}-[a-z0-9-]+`).
    pub name_pattern: Option<String>,
    /// The groups that may own a grant, as teams: `*` stands for any characters (`team-*`). A requester in
    /// one or more of them names one as the owning team, and everyone in it (at their sign-in) is a member.
    /// Empty (the default): grants have no team.
    pub team_groups: Vec<String>,
    /// The naming policy in words, shown on the form and in the refusal, for example "Start with team-".
    pub name_pattern_hint: Option<String>,
    /// Whether an approver may decide their own request. Off by default: four eyes.
    pub approvers_may_decide_own: bool,
    /// Requests one person may have waiting for a decision at once: each holds a name nobody else may ask for.
    pub max_pending_per_person: u32,
    /// A request nobody decided within this many days lapses (a final state, with its audit event and a
    /// notice), and its name is free again.
    pub pending_lapse_days: u32,
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
    /// The default NetworkPolicy's choices.
    #[serde(default)]
    pub network: NetworkDefaults,
}

/// Quota entries every profile gets unless it sets them itself: no Service of type LoadBalancer or NodePort
/// (each opens the namespace to the world outside the cluster, past its NetworkPolicies).
pub const QUOTA_DEFAULTS: [(&str, &str); 2] = [("services.loadbalancers", "0"), ("services.nodeports", "0")];

impl QuotaProfile {
    /// The ResourceQuota's `spec.hard`: the profile's entries over [`QUOTA_DEFAULTS`].
    pub fn effective_quota(&self) -> BTreeMap<String, String> {
        let mut quota: BTreeMap<String, String> =
            QUOTA_DEFAULTS.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
        quota.extend(self.quota.clone());
        quota
    }
}

/// What the namespace's default NetworkPolicy lets out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkDefaults {
    /// Addresses (CIDRs, IPv4 or IPv6) no pod of the namespace may connect to. Default: the cloud metadata
    /// service (`169.254.169.254/32`, and `fd00:ec2::254/128` on AWS's IPv6), which hands out the node's
    /// cloud credentials.
    pub blocked_egress: Vec<String>,
}

impl Default for NetworkDefaults {
    fn default() -> Self {
        Self { blocked_egress: vec!["169.254.169.254/32".to_string(), "fd00:ec2::254/128".to_string()] }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDefaults {
    #[serde(default)]
    pub default: BTreeMap<String, String>,
    #[serde(default)]
    pub default_request: BTreeMap<String, String>,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            stages: ["test", "staging", "pre-production", "production"].map(String::from).to_vec(),
            tiller_enabled: true,
            quota_profiles: builtin_profiles(),
            lifetime_days: Bounds::new(1, 365, 90),
            purpose_max_chars: 500,
            reserved_names: DEFAULT_RESERVED_NAMES.map(String::from).to_vec(),
            name_pattern: None,
            name_pattern_hint: None,
            team_groups: Vec::new(),
            approvers_may_decide_own: false,
            max_pending_per_person: 10,
            pending_lapse_days: 14,
        }
    }
}

/// Namespaces the usual platform add-ons install into, so that an installation can add them later without
/// finding the name taken by a tenant (who would then own, say, `cert-manager`'s Secrets).
pub const DEFAULT_RESERVED_NAMES: [&str; 28] = [
    "*-system",
    "*-operator",
    "argocd",
    "argo-*",
    "calico-*",
    "cattle-*",
    "cert-manager",
    "external-dns",
    "external-secrets",
    "flux-*",
    "gatekeeper-*",
    "grafana",
    "ingress-*",
    "istio-*",
    "keda",
    "knative-*",
    "kyverno",
    "linkerd*",
    "local-path-storage",
    "logging",
    "loki",
    "monitoring",
    "olm",
    "operators",
    "prometheus",
    "tekton-*",
    "vault",
    "velero",
];

fn builtin_profiles() -> Vec<QuotaProfile> {
    // (name, description, [requests.cpu, requests.memory, limits.cpu, limits.memory, pods], object counts
    // [services, secrets, configmaps]: Helm keeps every release revision in a Secret.)
    let profile = |name: &str, description: &str, compute: [&str; 5], objects: [&str; 3]| {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let [cpu, memory, limit_cpu, limit_memory, pods] = compute;
        let [services, secrets, configmaps] = objects;
        QuotaProfile {
            name: name.to_string(),
            description: description.to_string(),
            quota: map(&[
                ("requests.cpu", cpu),
                ("requests.memory", memory),
                ("limits.cpu", limit_cpu),
                ("limits.memory", limit_memory),
                ("pods", pods),
                ("services", services),
                ("secrets", secrets),
                ("configmaps", configmaps),
            ]),
            container_defaults: ContainerDefaults {
                default: map(&[("cpu", "500m"), ("memory", "512Mi")]),
                default_request: map(&[("cpu", "100m"), ("memory", "128Mi")]),
            },
            network: NetworkDefaults::default(),
        }
    };
    vec![
        profile(
            "small",
            "Up to 2 CPUs and 4 GiB requested, 20 pods",
            ["2", "4Gi", "4", "8Gi", "20"],
            ["20", "100", "100"],
        ),
        profile(
            "medium",
            "Up to 8 CPUs and 16 GiB requested, 50 pods",
            ["8", "16Gi", "16", "32Gi", "50"],
            ["50", "250", "250"],
        ),
        profile(
            "large",
            "Up to 32 CPUs and 64 GiB requested, 200 pods",
            ["32", "64Gi", "64", "128Gi", "200"],
            ["200", "1000", "1000"],
        ),
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

/// The cluster Berth manages, and what it creates there for a grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// A kubeconfig file with Berth's own credential. Unset: `KUBECONFIG`, `~/.kube/config`, or the
    /// in-cluster ServiceAccount, in that order.
    pub kubeconfig: Option<PathBuf>,
    /// The namespace Berth runs in; nobody may request it.
    pub namespace: String,
    /// The namespace that holds the requesters' identities; nobody may request it.
    pub identities_namespace: String,
    /// The API server's URL as the kubeconfigs' users reach it (a laptop, Jenkins). Unset: the URL Berth
    /// itself uses, which is right only when Berth reaches the cluster the way its users do (not in-cluster).
    pub external_url: Option<url::Url>,
    /// The CA certificate (PEM) that signs the API server's certificate at `external_url`. Unset: the CA
    /// Berth itself trusts for the cluster (in-cluster: the ServiceAccount's `ca.crt`).
    pub external_ca_file: Option<PathBuf>,
    /// `pod-security.kubernetes.io/*` labels on every granted namespace.
    pub pod_security: BTreeMap<String, String>,
    /// The ClusterRole a requester's identity gets in a namespace without Tiller: `edit`, or `admin` (then
    /// list `admin` in the `bind` rule of deploy/base/rbac.yaml too).
    pub identity_cluster_role: String,
    /// The image of the per-namespace Tiller.
    pub tiller_image: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            namespace: "berth".to_string(),
            identities_namespace: "berth-identities".to_string(),
            external_url: None,
            external_ca_file: None,
            pod_security: BTreeMap::from([
                ("pod-security.kubernetes.io/enforce".to_string(), "baseline".to_string()),
                ("pod-security.kubernetes.io/warn".to_string(), "restricted".to_string()),
                ("pod-security.kubernetes.io/audit".to_string(), "restricted".to_string()),
            ]),
            identity_cluster_role: "edit".to_string(),
            tiller_image: "ghcr.io/helm/tiller:v2.17.0".to_string(),
        }
    }
}

/// The background worker that provisions approved requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningConfig {
    /// Whether this replica runs the worker. Off: it serves pages only (approved requests wait for a
    /// replica that runs it).
    pub enabled: bool,
    /// How often the worker looks for work it was not woken for (another replica's approval, a due retry).
    pub poll_seconds: u64,
    /// How long a worker holds a request it provisions before another may take it over (renewed with every
    /// object applied). Also how long a request waits after a crash before it is taken up again.
    pub lease_seconds: u64,
    /// Attempts after transient errors (the API server unreachable or overloaded) before the request is
    /// marked failed. An error the cluster gives for the objects themselves fails it at once.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles for each further one, up to `max_backoff_seconds`.
    pub initial_backoff_ms: u64,
    pub max_backoff_seconds: u64,
    /// How long before a grant ends its owner is warned (on its page and through the webhook), once.
    pub expiry_warning_hours: u32,
    /// Of the replicas that run the worker, one at a time reconciles: the holder of the leader lease in the
    /// database. It renews the lease every `leader_renew_seconds`; the others try to take it as often, and
    /// succeed once it has not been renewed for `leader_lease_seconds` (the leader died). A replica that
    /// stops cleanly hands the lease back at once.
    pub leader_lease_seconds: u64,
    pub leader_renew_seconds: u64,
    /// How often the leader checks every ready grant for drift (what a tenant changed of Berth's objects)
    /// besides the changes its watches report: in memory, no API call unless something drifted. It catches a
    /// deletion a restarted watch did not report.
    pub drift_full_check_seconds: u64,
    /// Grants the leader provisions at once. Each is a handful of server-side applies, mostly waiting on the
    /// API server, so a burst of approvals is done in a fraction of the time it takes one after another; the
    /// bound keeps the API server's load (and Berth's database connections) in check.
    pub concurrency: usize,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            // Short: it is how soon the leader sees an approval made on another replica (a pass is a few
            // indexed queries).
            poll_seconds: 2,
            // Short, so that after a leader dies the next one takes over its request soon after the
            // leadership (both run out within about `leader_lease_seconds` of the death).
            lease_seconds: 15,
            max_attempts: 8,
            initial_backoff_ms: 1_000,
            max_backoff_seconds: 300,
            expiry_warning_hours: 72,
            leader_lease_seconds: 15,
            leader_renew_seconds: 5,
            drift_full_check_seconds: 600,
            concurrency: 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialsConfig {
    /// For a person's own machine: short.
    pub personal_hours: Bounds,
    /// For a CI system such as Jenkins: longer, still bounded.
    pub ci_hours: Bounds,
    /// Kubeconfigs of one grant that may be in force at once (neither revoked nor expired): each is a token
    /// and an anchor Secret in the cluster, and a grant rarely needs more than a few.
    pub max_active_per_grant: u32,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        Self {
            personal_hours: Bounds::new(1, 24, 8),
            ci_hours: Bounds::new(1, 90 * 24, 30 * 24),
            max_active_per_grant: 20,
        }
    }
}

/// The problems with these sections, in the form `Config::validate` reports them.
pub(super) fn problems(
    requests: &RequestsConfig,
    notifications: &NotificationsConfig,
    cluster: &ClusterConfig,
    provisioning: &ProvisioningConfig,
    credentials: &CredentialsConfig,
) -> Vec<String> {
    let mut problems = request_problems(requests);
    problems.extend(cluster_problems(cluster, notifications));
    problems.extend(worker_problems(provisioning, credentials));
    problems
}

/// What is wrong with `[requests]`.
fn request_problems(requests: &RequestsConfig) -> Vec<String> {
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
        for cidr in &profile.network.blocked_egress {
            if !is_cidr(cidr) {
                problems.push(format!(
                    "  - requests.quota_profiles: {:?} network.blocked_egress: {cidr:?} is not a CIDR such as \
                     169.254.169.254/32",
                    profile.name
                ));
            }
        }
        if !names.insert(profile.name.as_str()) {
            problems.push(format!("  - requests.quota_profiles: {:?} is listed twice", profile.name));
        }
    }
    let lifetime = requests.lifetime_days;
    if !lifetime.is_ordered() {
        problems.push("  - requests.lifetime_days: needs 1 <= min <= default <= max".to_string());
    }
    if requests.max_pending_per_person == 0 || requests.pending_lapse_days == 0 {
        problems.push("  - requests: max_pending_per_person and pending_lapse_days must be at least 1".to_string());
    }
    if !(1..=10_000).contains(&requests.purpose_max_chars) {
        problems.push("  - requests.purpose_max_chars: must be between 1 and 10000".to_string());
    }
    if let Some(pattern) = &requests.name_pattern
        && let Err(error) = regex::Regex::new(&pattern.replace(TEAM_PLACEHOLDER, "team"))
    {
        problems.push(format!("  - requests.name_pattern: not a regular expression: {error}"));
    }
    problems
}

/// What is wrong with `[cluster]` and `[notifications]`.
fn cluster_problems(cluster: &ClusterConfig, notifications: &NotificationsConfig) -> Vec<String> {
    let mut problems = Vec::new();
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
    if let Some(url) = &cluster.external_url
        && (url.scheme() != "https" || url.host().is_none())
    {
        problems.push(format!("  - cluster.external_url: {:?} must be an https URL with a host", url.as_str()));
    }
    if cluster.identity_cluster_role.trim().is_empty() || cluster.tiller_image.trim().is_empty() {
        problems.push("  - cluster: identity_cluster_role and tiller_image must not be empty".to_string());
    }
    if notifications.max_attempts == 0 || notifications.timeout_seconds == 0 {
        problems.push("  - notifications: max_attempts and timeout_seconds must be at least 1".to_string());
    }
    problems
}

/// What is wrong with `[provisioning]` and `[credentials]`.
fn worker_problems(provisioning: &ProvisioningConfig, credentials: &CredentialsConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if provisioning.poll_seconds == 0
        || provisioning.lease_seconds == 0
        || provisioning.max_attempts == 0
        || provisioning.drift_full_check_seconds == 0
    {
        problems.push(
            "  - provisioning: poll_seconds, lease_seconds, max_attempts and drift_full_check_seconds must be at \
             least 1"
                .to_string(),
        );
    }
    if provisioning.leader_renew_seconds == 0
        || provisioning.leader_lease_seconds < 2 * provisioning.leader_renew_seconds
    {
        problems.push(
            "  - provisioning: leader_renew_seconds must be at least 1 and leader_lease_seconds at least twice it \
             (a leader must be able to miss one renewal)"
                .to_string(),
        );
    }
    if !(1..=64).contains(&provisioning.concurrency) {
        problems.push("  - provisioning.concurrency: between 1 and 64 grants at once".to_string());
    }
    if credentials.max_active_per_grant == 0 {
        problems.push("  - credentials.max_active_per_grant: must be at least 1".to_string());
    }
    // A TokenRequest lives at least 10 minutes; the API server caps the longest (often at a year or less).
    for (key, hours) in [("personal_hours", credentials.personal_hours), ("ci_hours", credentials.ci_hours)] {
        if !(hours.is_ordered() && hours.max <= 366 * 24) {
            problems.push(format!("  - credentials.{key}: needs 1 <= min <= default <= max <= 8784 (a year)"));
        }
    }
    problems
}

/// An IPv4 or IPv6 address with a prefix length that fits it (`10.0.0.0/8`, `fd00::/8`).
fn is_cidr(text: &str) -> bool {
    let Some((address, length)) = text.split_once('/') else { return false };
    let Ok(length) = length.parse::<u8>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => length <= 32,
        Ok(std::net::IpAddr::V6(_)) => length <= 128,
        Err(_) => false,
    }
}
