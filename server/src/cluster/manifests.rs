//! Pure builders of every object Berth creates for a grant (DESIGN.md, "What the portal creates"). No I/O:
//! the same input always gives the same objects, which the snapshot tests pin and the reconciler applies
//! with server-side apply under one field manager.
//!
//! For a grant of namespace X:
//! - in X: the Namespace (labels marking it as Berth's, Pod Security labels), ResourceQuota and LimitRange of
//!   the quota profile, the default NetworkPolicy, and the `default` ServiceAccount without token automount;
//! - in Berth's identities namespace: the requester's identity ServiceAccount (outside X, so nothing with
//!   write access in X can mint tokens for it); each member and robot gets one of its own the same way
//!   ([`identity_objects`], applied when they first need it), so the API server names who acted;
//! - Helm 3 and later: a RoleBinding in X from each identity to the `edit` ClusterRole;
//! - Tiller mode: the `tiller` ServiceAccount and its RoleBinding to `edit`, the hardened `tiller-deploy`
//!   Deployment (listening on 127.0.0.1 only, release data in Secrets, non-root, read-only root, no Service),
//!   a NetworkPolicy admitting no ingress to it, and a RoleBinding from the identity to `tiller-user` (list
//!   pods, port-forward) instead of `edit`.
//!
//! Berth only binds ClusterRoles an admin installed once (`deploy/`), never creates Roles, so it needs the
//! `bind` verb on those names and never `escalate`.

use std::collections::BTreeMap;

use app::requests::HelmMode;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use serde::Serialize;
use serde_json::json;

use crate::config::{ClusterConfig, QuotaProfile};

/// Marks every object Berth manages (the standard label), so it can find and clean them up.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "berth");
/// The request a managed object belongs to.
pub const REQUEST_LABEL: &str = "berth.dev/request";
/// Berth's id of the person the grant is for.
pub const OWNER_LABEL: &str = "berth.dev/owner";

/// Names of the objects in X.
pub const QUOTA_NAME: &str = "berth-quota";
pub const LIMITS_NAME: &str = "berth-limits";
pub const DEFAULT_POLICY_NAME: &str = "berth-default";
/// On an identity ServiceAccount: the person (`users.id`) or the robot (`robots.id`) it is for.
pub const PERSON_LABEL: &str = "berth.dev/person";
pub const ROBOT_LABEL: &str = "berth.dev/robot";
pub const TILLER_NAME: &str = "tiller";
pub const TILLER_DEPLOYMENT_NAME: &str = "tiller-deploy";
pub const TILLER_BINDING_NAME: &str = "tiller-edit";
pub const TILLER_POLICY_NAME: &str = "tiller-deny-ingress";
/// Tiller's gRPC port, on the pod's loopback only; its probes (and `/metrics`) stay on 44135.
const TILLER_LISTEN: &str = "--listen=127.0.0.1:44134";
const TILLER_PROBE_PORT: i32 = 44135;

/// The installation-wide choices the objects depend on (from the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where identities live (`cluster.identities_namespace`).
    pub identities_namespace: String,
    /// `pod-security.kubernetes.io/*` labels on X.
    pub pod_security: BTreeMap<String, String>,
    /// What the identity gets in X without Tiller: `edit` (or `admin`).
    pub identity_cluster_role: String,
    /// What the identity gets in X with Tiller (installed by `deploy/`).
    pub tiller_user_cluster_role: String,
    pub tiller_image: String,
}

impl Settings {
    /// The choices `config` makes (the defaults live in the configuration, as everything an operator sets).
    pub fn of(config: &ClusterConfig) -> Self {
        Self {
            identities_namespace: config.identities_namespace.clone(),
            pod_security: config.pod_security.clone(),
            identity_cluster_role: config.identity_cluster_role.clone(),
            tiller_user_cluster_role: TILLER_USER_CLUSTER_ROLE.to_string(),
            tiller_image: config.tiller_image.clone(),
        }
    }
}

/// The ClusterRole `deploy/` installs for the users of a namespace with Tiller.
const TILLER_USER_CLUSTER_ROLE: &str = "tiller-user";

impl Default for Settings {
    /// Those of the default configuration.
    fn default() -> Self {
        Self::of(&ClusterConfig::default())
    }
}

/// A grant as its names, its identities and its revocation know it: all but the quota profile.
#[derive(Debug, Clone, Copy)]
pub struct GrantRef<'a> {
    pub request_id: &'a str,
    pub namespace: &'a str,
    /// `users.id` of the requester.
    pub owner_id: &'a str,
    /// The requester's email (or name): the readable part of their identity's name.
    pub owner_hint: &'a str,
    pub helm_mode: HelmMode,
}

/// The grant the objects are for: the grant, and the quota profile its namespace is made with.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub of: GrantRef<'a>,
    pub profile: &'a QuotaProfile,
}

/// A grant's names are read straight off it (`grant.namespace`), and it is handed where a [`GrantRef`] is
/// asked for.
impl<'a> std::ops::Deref for Grant<'a> {
    type Target = GrantRef<'a>;

    fn deref(&self) -> &GrantRef<'a> {
        &self.of
    }
}

impl<'a> GrantRef<'a> {
    /// The requester, whose identity is made with the namespace.
    pub fn owner(&self) -> Subject<'a> {
        Subject::Person { id: self.owner_id, hint: self.owner_hint }
    }

    /// The name every identity of grants made before identities were per person had (`ns-X`): revocation
    /// still removes it.
    pub fn legacy_identity_name(&self) -> String {
        format!("ns-{}", self.namespace)
    }
}

/// Who an identity is for: a person (the requester or a member) or a robot of the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// `id` is `users.id`; `hint` their email or name, of which the identity's name keeps a readable part.
    Person { id: &'a str, hint: &'a str },
    /// `id` is `robots.id`; `name` its name on the grant (`jenkins-prod`).
    Robot { id: &'a str, name: &'a str },
}

impl Subject<'_> {
    /// The identity ServiceAccount's name in the identities namespace, which the API server's audit log and
    /// `kubectl auth whoami` show: `X.person.alice.<users.id>` or `X.robot.jenkins-prod`. Unique per grant
    /// (a namespace is held by one grant at a time, and revoking it deletes its identities); the person's id
    /// keeps two people with the same readable part apart.
    pub fn identity_name(&self, namespace: &str) -> String {
        match self {
            Subject::Person { id, hint } => format!("{namespace}.person.{}.{id}", readable(hint)),
            Subject::Robot { name, .. } => format!("{namespace}.robot.{name}"),
        }
    }

    /// The RoleBinding's name in X: one per identity, so removing one touches no other.
    pub fn binding_name(&self, namespace: &str) -> String {
        binding_name_of(namespace, &self.identity_name(namespace))
    }

    /// The label on the identity (and its binding) that says whose it is.
    pub fn label(&self) -> (&'static str, &str) {
        match self {
            Subject::Person { id, .. } => (PERSON_LABEL, id),
            Subject::Robot { id, .. } => (ROBOT_LABEL, id),
        }
    }
}

/// The RoleBinding in X of identity `identity_name` (`X.robot.ci` binds as `berth.robot.ci`).
pub fn binding_name_of(namespace: &str, identity_name: &str) -> String {
    let own = identity_name.strip_prefix(namespace).and_then(|rest| rest.strip_prefix('.')).unwrap_or(identity_name);
    format!("berth.{own}")
}

/// How the API server names ServiceAccount `name` of `namespace` (what `kubectl auth whoami` prints).
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// The readable part of a person's identity name: the local part of their email (or their name), lower
/// case, letters and digits with single dashes, at most 20 characters; `person` if nothing is left.
fn readable(hint: &str) -> String {
    let local = hint.split('@').next().unwrap_or_default().to_lowercase();
    let mut out = String::new();
    for c in local.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 20 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() { "person".to_string() } else { out.to_string() }
}

/// One object to apply, typed, in the order they are applied (the namespace first; Tiller's ServiceAccount
/// before the Deployment that runs as it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    Namespace(Namespace),
    ResourceQuota(ResourceQuota),
    LimitRange(LimitRange),
    NetworkPolicy(NetworkPolicy),
    ServiceAccount(ServiceAccount),
    RoleBinding(RoleBinding),
    /// Boxed: a Deployment is several times the size of the other objects.
    Deployment(Box<Deployment>),
}

impl Object {
    /// Its Kubernetes kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Namespace(_) => "Namespace",
            Object::ResourceQuota(_) => "ResourceQuota",
            Object::LimitRange(_) => "LimitRange",
            Object::NetworkPolicy(_) => "NetworkPolicy",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::RoleBinding(_) => "RoleBinding",
            Object::Deployment(_) => "Deployment",
        }
    }

    /// Its kind and name (`ResourceQuota team-a/berth-quota`), for progress and error messages.
    pub fn describe(&self) -> String {
        let metadata = match self {
            Object::Namespace(o) => &o.metadata,
            Object::ResourceQuota(o) => &o.metadata,
            Object::LimitRange(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
        };
        let kind = self.kind();
        let name = metadata.name.as_deref().unwrap_or_default();
        match metadata.namespace.as_deref() {
            Some(namespace) => format!("{kind} {namespace}/{name}"),
            None => format!("{kind} {name}"),
        }
    }
}

/// Every object of `grant`, in apply order.
pub fn objects(grant: &Grant<'_>, settings: &Settings) -> Vec<Object> {
    let mut objects = vec![
        Object::Namespace(namespace(grant, settings)),
        Object::ResourceQuota(resource_quota(grant)),
        Object::LimitRange(limit_range(grant)),
        Object::NetworkPolicy(default_network_policy(grant)),
        Object::ServiceAccount(default_service_account(grant)),
    ];
    let [identity, binding] = identity_objects(grant, grant.owner(), settings);
    objects.push(identity);
    if grant.helm_mode == HelmMode::Tiller {
        objects.extend([
            Object::ServiceAccount(tiller_service_account(grant)),
            Object::RoleBinding(tiller_binding(grant)),
            Object::NetworkPolicy(tiller_network_policy(grant)),
            Object::Deployment(Box::new(tiller_deployment(grant, settings))),
        ]);
    }
    objects.push(binding);
    objects
}

/// The identity of `subject` on `grant`, and its RoleBinding in X: to `edit` (or what the configuration
/// says) without Tiller; with Tiller to `tiller-user`, so deployments go through Tiller.
pub fn identity_objects(grant: &GrantRef<'_>, subject: Subject<'_>, settings: &Settings) -> [Object; 2] {
    let name = subject.identity_name(grant.namespace);
    [
        Object::ServiceAccount(identity(grant, subject, settings)),
        Object::RoleBinding(identity_binding_of(grant, &name, subject.label(), settings)),
    ]
}

/// The binding identity `identity_name` (labelled `label`) should have in X, by the grant's Helm mode.
pub fn identity_binding_of(
    grant: &GrantRef<'_>,
    identity_name: &str,
    label: (&str, &str),
    settings: &Settings,
) -> RoleBinding {
    let cluster_role = match grant.helm_mode {
        HelmMode::NoTiller => &settings.identity_cluster_role,
        HelmMode::Tiller => &settings.tiller_user_cluster_role,
    };
    identity_binding(grant, identity_name, label, settings, cluster_role)
}

/// Labels on every object of the grant.
fn labels(grant: &GrantRef<'_>) -> serde_json::Value {
    json!({
        MANAGED_BY.0: MANAGED_BY.1,
        REQUEST_LABEL: grant.request_id,
        OWNER_LABEL: grant.owner_id,
    })
}

/// Builds a typed object from its JSON form. The inputs are Berth's own constants and validated names, so a
/// failure is a bug in this module, caught by its tests.
fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    #[allow(clippy::expect_used)]
    serde_json::from_value(value).expect("a manifest built by this module matches its Kubernetes type")
}

fn namespace(grant: &GrantRef<'_>, settings: &Settings) -> Namespace {
    let mut labels = labels(grant);
    for (key, value) in &settings.pod_security {
        labels[key] = json!(value);
    }
    typed(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": grant.namespace, "labels": labels },
    }))
}

fn resource_quota(grant: &Grant<'_>) -> ResourceQuota {
    typed(json!({
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": { "name": QUOTA_NAME, "namespace": grant.namespace, "labels": labels(grant) },
        "spec": { "hard": grant.profile.effective_quota() },
    }))
}

fn limit_range(grant: &Grant<'_>) -> LimitRange {
    let defaults = &grant.profile.container_defaults;
    let mut limit = json!({ "type": "Container" });
    if !defaults.default.is_empty() {
        limit["default"] = json!(defaults.default);
    }
    if !defaults.default_request.is_empty() {
        limit["defaultRequest"] = json!(defaults.default_request);
    }
    typed(json!({
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": { "name": LIMITS_NAME, "namespace": grant.namespace, "labels": labels(grant) },
        "spec": { "limits": [limit] },
    }))
}

/// Pods in X accept traffic from pods in X only, Tiller's pod excepted (policies add up: a policy admitting
/// the namespace's pods to every pod would admit them to Tiller too, whatever Tiller's own policy says).
/// Egress is open (pulling images, calling APIs, every pod of the cluster) except to the profile's blocked
/// addresses: by default the cloud metadata service, which hands out the node's cloud credentials.
fn default_network_policy(grant: &Grant<'_>) -> NetworkPolicy {
    let blocked = &grant.profile.network.blocked_egress;
    let (v4, v6): (Vec<&String>, Vec<&String>) = blocked.iter().partition(|cidr| !cidr.contains(':'));
    let block = |cidr: &str, except: Vec<&String>| match except.is_empty() {
        true => json!({ "ipBlock": { "cidr": cidr } }),
        false => json!({ "ipBlock": { "cidr": cidr, "except": except } }),
    };
    let egress = json!([
        { "to": [{ "namespaceSelector": {} }] },
        { "to": [block("0.0.0.0/0", v4), block("::/0", v6)] },
    ]);
    typed(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": DEFAULT_POLICY_NAME, "namespace": grant.namespace, "labels": labels(grant) },
        "spec": {
            "podSelector": not_tiller(),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{ "from": [{ "podSelector": {} }] }],
            "egress": egress,
        },
    }))
}

/// Marks Tiller's pod, so that the namespace's policies can tell it apart (a pod template label, not part of
/// the Deployment's selector, which cannot change once created).
pub const TILLER_POD_LABEL: &str = "berth.dev/tiller";

/// Every pod but Tiller's.
fn not_tiller() -> serde_json::Value {
    json!({ "matchExpressions": [{ "key": TILLER_POD_LABEL, "operator": "DoesNotExist" }] })
}

/// The controller creates `default`; Berth owns only this field of it (and its labels, which is how Berth's
/// watch finds it again when a tenant changes it), so workloads get no token unless they ask for one.
fn default_service_account(grant: &GrantRef<'_>) -> ServiceAccount {
    typed(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": { "name": "default", "namespace": grant.namespace, "labels": labels(grant) },
        "automountServiceAccountToken": false,
    }))
}

fn identity(grant: &GrantRef<'_>, subject: Subject<'_>, settings: &Settings) -> ServiceAccount {
    let mut labels = labels(grant);
    labels["berth.dev/namespace"] = json!(grant.namespace);
    let (key, value) = subject.label();
    labels[key] = json!(value);
    typed(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": subject.identity_name(grant.namespace),
            "namespace": settings.identities_namespace,
            "labels": labels,
        },
        "automountServiceAccountToken": false,
    }))
}

fn identity_binding(
    grant: &GrantRef<'_>,
    identity_name: &str,
    (key, value): (&str, &str),
    settings: &Settings,
    cluster_role: &str,
) -> RoleBinding {
    let mut labels = labels(grant);
    labels[key] = json!(value);
    typed(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": binding_name_of(grant.namespace, identity_name),
            "namespace": grant.namespace,
            "labels": labels,
        },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role },
        "subjects": [{ "kind": "ServiceAccount", "name": identity_name, "namespace": settings.identities_namespace }],
    }))
}

pub fn tiller_service_account(grant: &GrantRef<'_>) -> ServiceAccount {
    typed(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": { "name": TILLER_NAME, "namespace": grant.namespace, "labels": labels(grant) },
    }))
}

/// Tiller acts with `edit` in X: not on Roles, RoleBindings, the ResourceQuota or the Namespace itself.
fn tiller_binding(grant: &GrantRef<'_>) -> RoleBinding {
    typed(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": { "name": TILLER_BINDING_NAME, "namespace": grant.namespace, "labels": labels(grant) },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit" },
        "subjects": [{ "kind": "ServiceAccount", "name": TILLER_NAME, "namespace": grant.namespace }],
    }))
}

/// What `helm init` labels Tiller with: the Deployment's selector, and what `helm` v2 looks for when it
/// port-forwards.
fn tiller_pod_labels() -> serde_json::Value {
    json!({ "app": "helm", "name": "tiller" })
}

fn tiller_template_labels() -> serde_json::Value {
    let mut labels = tiller_pod_labels();
    labels[TILLER_POD_LABEL] = json!("true");
    labels
}

/// Defence in depth: Tiller listens on the pod's loopback only, and no pod may connect to it at all (which
/// also hides the unauthenticated `/metrics` on the probe port).
fn tiller_network_policy(grant: &GrantRef<'_>) -> NetworkPolicy {
    typed(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": TILLER_POLICY_NAME, "namespace": grant.namespace, "labels": labels(grant) },
        "spec": { "podSelector": { "matchLabels": { TILLER_POD_LABEL: "true" } }, "policyTypes": ["Ingress"] },
    }))
}

/// `helm init`'s Deployment, hardened (cluster-reference.md §1.3): `--storage=secret`, gRPC on 127.0.0.1 only
/// (`helm` reaches it by port-forward, which needs `tiller-user`), no Service, non-root, no privilege
/// escalation, read-only root filesystem, all capabilities dropped, RuntimeDefault seccomp.
fn tiller_deployment(grant: &GrantRef<'_>, settings: &Settings) -> Deployment {
    let mut labels = labels(grant);
    for (key, value) in tiller_pod_labels().as_object().into_iter().flatten() {
        labels[key] = value.clone();
    }
    let probe = |path: &str| json!({ "httpGet": { "path": path, "port": TILLER_PROBE_PORT }, "initialDelaySeconds": 1, "timeoutSeconds": 1 });
    typed(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": TILLER_DEPLOYMENT_NAME, "namespace": grant.namespace, "labels": labels },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": tiller_pod_labels() },
            "template": {
                "metadata": { "labels": tiller_template_labels() },
                "spec": {
                    "serviceAccountName": TILLER_NAME,
                    // Tiller talks to the API server with its own token.
                    "automountServiceAccountToken": true,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65534,
                        "seccompProfile": { "type": "RuntimeDefault" },
                    },
                    "containers": [{
                        "name": "tiller",
                        "image": settings.tiller_image,
                        "command": ["/tiller", "--storage=secret", TILLER_LISTEN, format!("--probe-listen=:{TILLER_PROBE_PORT}")],
                        // 44134 is deliberately not declared: nothing outside the pod should reach it.
                        "ports": [{ "containerPort": TILLER_PROBE_PORT, "name": "http" }],
                        "env": [
                            { "name": "TILLER_NAMESPACE", "value": grant.namespace },
                            { "name": "TILLER_HISTORY_MAX", "value": "20" },
                        ],
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": { "drop": ["ALL"] },
                        },
                        "livenessProbe": probe("/liveness"),
                        "readinessProbe": probe("/readiness"),
                        "resources": {
                            "requests": { "cpu": "50m", "memory": "64Mi" },
                            "limits": { "memory": "256Mi" },
                        },
                    }],
                },
            },
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ContainerDefaults;

    fn profile() -> QuotaProfile {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        QuotaProfile {
            name: "small".into(),
            description: "Small".into(),
            quota: map(&[("requests.cpu", "2"), ("requests.memory", "4Gi"), ("pods", "20")]),
            container_defaults: ContainerDefaults {
                default: map(&[("cpu", "500m"), ("memory", "512Mi")]),
                default_request: map(&[("cpu", "100m"), ("memory", "128Mi")]),
            },
            network: Default::default(),
        }
    }

    fn grant(helm_mode: HelmMode, profile: &QuotaProfile) -> Grant<'_> {
        Grant {
            of: GrantRef {
                request_id: "0b8f8a4e-5d0c-4a59-9f3e-2f1c7d9b6a11",
                namespace: "team-a-ci",
                owner_id: "5e0c2b1a-7f4d-4c3b-8a9e-1d2f3a4b5c6d",
                owner_hint: "Dave.Dev+ci@example.com",
                helm_mode,
            },
            profile,
        }
    }

    /// What `kubectl get -o yaml` would show, one document per object.
    fn render(objects: &[Object]) -> Vec<serde_json::Value> {
        objects.iter().map(|object| serde_json::to_value(object).unwrap()).collect()
    }

    #[test]
    fn helm_3_grant() {
        let profile = profile();
        insta::assert_yaml_snapshot!(render(&objects(&grant(HelmMode::NoTiller, &profile), &Settings::default())));
    }

    #[test]
    fn tiller_grant() {
        let profile = profile();
        insta::assert_yaml_snapshot!(render(&objects(&grant(HelmMode::Tiller, &profile), &Settings::default())));
    }

    #[test]
    fn every_object_is_labelled_with_its_request_and_owner() {
        let profile = profile();
        for object in objects(&grant(HelmMode::Tiller, &profile), &Settings::default()) {
            let value = serde_json::to_value(&object).unwrap();
            let name = value["metadata"]["name"].as_str().unwrap().to_string();
            let labels = &value["metadata"]["labels"];
            assert_eq!(labels[MANAGED_BY.0], MANAGED_BY.1, "{name}");
            assert_eq!(labels[REQUEST_LABEL], "0b8f8a4e-5d0c-4a59-9f3e-2f1c7d9b6a11", "{name}");
        }
    }

    #[test]
    fn the_identity_lives_outside_the_namespace_and_gets_edit_only_without_tiller() {
        let profile = profile();
        let settings = Settings::default();
        let bindings = |mode| {
            objects(&grant(mode, &profile), &settings)
                .into_iter()
                .filter_map(|object| match object {
                    Object::RoleBinding(binding) => Some(binding),
                    _ => None,
                })
                .filter(|binding| {
                    binding.subjects.iter().flatten().any(|s| s.namespace.as_deref() == Some("berth-identities"))
                })
                .map(|binding| binding.role_ref.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(bindings(HelmMode::NoTiller), ["edit"]);
        assert_eq!(bindings(HelmMode::Tiller), ["tiller-user"], "with Tiller, deployments go through Tiller");
    }

    #[test]
    fn every_person_and_robot_has_an_identity_whose_name_says_who_it_is() {
        let person = Subject::Person { id: "5e0c2b1a", hint: "Dave.Dev+ci@example.com" };
        assert_eq!(person.identity_name("team-a"), "team-a.person.dave-dev-ci.5e0c2b1a");
        assert_eq!(person.binding_name("team-a"), "berth.person.dave-dev-ci.5e0c2b1a");
        let robot = Subject::Robot { id: "9a", name: "jenkins-prod" };
        assert_eq!(robot.identity_name("team-a"), "team-a.robot.jenkins-prod");
        assert_eq!(robot.binding_name("team-a"), "berth.robot.jenkins-prod");
        assert_eq!(readable("Ünïcode Name"), "n-code-name");
        assert_eq!(readable("@example.com"), "person");
        assert_eq!(readable(&"x".repeat(60)), "x".repeat(20));
        let profile = profile();
        let [identity, binding] = identity_objects(&grant(HelmMode::Tiller, &profile), robot, &Settings::default());
        let (identity, binding) = (serde_json::to_value(identity).unwrap(), serde_json::to_value(binding).unwrap());
        assert_eq!(identity["metadata"]["labels"][ROBOT_LABEL], "9a");
        assert_eq!(identity["metadata"]["namespace"], "berth-identities");
        assert_eq!(binding["roleRef"]["name"], "tiller-user");
        assert_eq!(binding["subjects"][0]["name"], "team-a-ci.robot.jenkins-prod");
    }

    #[test]
    fn tiller_listens_on_loopback_only_and_runs_hardened() {
        let profile = profile();
        let deployment = objects(&grant(HelmMode::Tiller, &profile), &Settings::default())
            .into_iter()
            .find_map(|object| match object {
                Object::Deployment(deployment) => Some(*deployment),
                _ => None,
            })
            .expect("Tiller mode has a Deployment");
        let pod = deployment.spec.template.spec.unwrap();
        let container = &pod.containers[0];
        let command = container.command.clone().unwrap();
        assert!(
            command.contains(&"--listen=127.0.0.1:44134".to_string())
                && command.contains(&"--storage=secret".to_string())
        );
        assert!(container.ports.iter().flatten().all(|port| port.container_port != 44134), "gRPC port not declared");
        let security = container.security_context.clone().unwrap();
        assert_eq!(
            (security.allow_privilege_escalation, security.read_only_root_filesystem),
            (Some(false), Some(true))
        );
        assert_eq!(pod.security_context.unwrap().run_as_non_root, Some(true));
    }

    #[test]
    fn without_tiller_there_is_no_tiller() {
        let profile = profile();
        let names: Vec<String> = objects(&grant(HelmMode::NoTiller, &profile), &Settings::default())
            .iter()
            .map(|object| serde_json::to_value(object).unwrap()["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert!(names.iter().all(|name| !name.starts_with("tiller")), "{names:?}");
    }

    /// Whether `selector` (a LabelSelector as JSON) selects a pod with `labels`: matchLabels, and the
    /// matchExpressions operators Berth's policies use.
    fn selects(selector: &serde_json::Value, labels: &serde_json::Value) -> bool {
        let wanted = selector["matchLabels"].as_object().into_iter().flatten();
        let expressions = selector["matchExpressions"].as_array().into_iter().flatten();
        wanted.into_iter().all(|(key, value)| labels.get(key) == Some(value))
            && expressions.into_iter().all(|e| match e["operator"].as_str() {
                Some("DoesNotExist") => labels.get(e["key"].as_str().unwrap()).is_none(),
                Some("Exists") => labels.get(e["key"].as_str().unwrap()).is_some(),
                other => panic!("operator {other:?} not handled here"),
            })
    }

    #[test]
    fn no_policy_of_the_namespace_admits_anything_to_tiller_and_other_pods_keep_their_own() {
        let profile = profile();
        let objects = objects(&grant(HelmMode::Tiller, &profile), &Settings::default());
        let policies: Vec<serde_json::Value> = objects
            .iter()
            .filter(|o| matches!(o, Object::NetworkPolicy(_)))
            .map(|o| serde_json::to_value(o).unwrap())
            .collect();
        let tiller = objects
            .iter()
            .find_map(|o| match o {
                Object::Deployment(d) => Some(serde_json::to_value(&d.spec.template.metadata).unwrap()),
                _ => None,
            })
            .unwrap()["labels"]
            .clone();
        let app = serde_json::json!({ "app": "web" });
        // Policies add up: a pod is reachable from wherever any policy selecting it admits traffic.
        let admitted = |pod: &serde_json::Value| -> Vec<String> {
            policies
                .iter()
                .filter(|p| selects(&p["spec"]["podSelector"], pod))
                .filter(|p| p["spec"]["ingress"].as_array().is_some_and(|rules| !rules.is_empty()))
                .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(admitted(&tiller).is_empty(), "Tiller's pod is admitted by {:?}", admitted(&tiller));
        let selecting_tiller: Vec<_> = policies
            .iter()
            .filter(|p| selects(&p["spec"]["podSelector"], &tiller))
            .map(|p| &p["metadata"]["name"])
            .collect();
        assert_eq!(selecting_tiller, ["tiller-deny-ingress"], "Tiller is isolated for ingress");
        assert_eq!(admitted(&app), ["berth-default"], "the namespace's other pods accept its own traffic");
        let default = policies.iter().find(|p| p["metadata"]["name"] == DEFAULT_POLICY_NAME).unwrap();
        assert_eq!(
            default["spec"]["egress"][1]["to"][0]["ipBlock"]["except"],
            serde_json::json!(["169.254.169.254/32"])
        );
    }
}
