//! Provisioning against the real local control plane, with Berth's own least-privilege credential: the
//! ServiceAccount and RBAC in `deploy/base/rbac.yaml`, installed the way an admin does (`kubectl apply
//! --server-side`, by `scripts/cluster.sh up`), and a token of that ServiceAccount. A permission missing
//! from `deploy/` fails here.

use app::requests::HelmMode;
use berth_server::cluster::Cluster;
use berth_server::cluster::manifests::{self, Grant, GrantRef, Settings};
use berth_server::config::{ClusterConfig, RequestsConfig};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::Kubeconfig;
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::cluster::{admin, client_from, delete_namespace, may, status_code, token_for, token_kubeconfig, unique};
use crate::support::berth_kubeconfig;

const IDENTITIES: &str = "berth-identities";

/// A client holding Berth's own credential (`scripts/cluster.sh up` installed `deploy/base/rbac.yaml` the way an
/// admin does and minted a token of Berth's ServiceAccount), nothing more.
pub(crate) async fn berth_client() -> Client {
    client_from(Kubeconfig::read_from(berth_kubeconfig()).unwrap()).await
}

/// The cluster as Berth reaches it, with Berth's credential.
pub(crate) async fn berth_cluster() -> Cluster {
    let config = ClusterConfig { kubeconfig: Some(berth_kubeconfig()), ..Default::default() };
    Cluster::connect(&config).await.unwrap()
}

fn small_profile() -> berth_server::config::QuotaProfile {
    RequestsConfig::default().quota_profiles.into_iter().next().unwrap()
}

/// Applies every object of `grant` as Berth, in order; returns their resourceVersions.
async fn apply_all(berth: &Cluster, grant: &Grant<'_>) -> Vec<Option<String>> {
    let mut versions = Vec::new();
    for object in manifests::objects(grant, &Settings::default()) {
        versions.push(berth.apply(&object).await.unwrap_or_else(|e| panic!("{object:?}: {e}")));
    }
    versions
}

/// Provisions a grant of a fresh namespace as Berth; returns the namespace.
async fn provision(berth: &Cluster, helm_mode: HelmMode) -> String {
    let namespace = unique("it-grant");
    let profile = small_profile();
    let grant = Grant {
        of: GrantRef {
            request_id: "r-1",
            namespace: &namespace,
            owner_id: "owner-1",
            owner_hint: "owner@example.com",
            helm_mode,
        },
        profile: &profile,
    };
    apply_all(berth, &grant).await;
    namespace
}

async fn clean_up(namespace: &str) {
    let admin = admin().await;
    delete_namespace(&admin, namespace).await;
    let identities = ListParams::default().labels(&format!("berth.dev/namespace={namespace}"));
    let _ = Api::<ServiceAccount>::namespaced(admin, IDENTITIES)
        .delete_collection(&DeleteParams::default(), &identities)
        .await;
}

/// The identity of the grants these tests apply by hand (their owner is `owner-1`).
fn owner_identity(namespace: &str) -> String {
    berth_server::cluster::manifests::Subject::Person { id: "owner-1", hint: "owner@example.com" }
        .identity_name(namespace)
}

#[tokio::test]
async fn berth_s_own_credential_provisions_both_modes_and_reapplying_changes_nothing() {
    let berth = berth_cluster().await;
    let profile = small_profile();
    for (helm_mode, count) in [(HelmMode::NoTiller, 7), (HelmMode::Tiller, 11)] {
        let namespace = unique("it-grant");
        let grant = Grant {
            of: GrantRef {
                request_id: "r-1",
                namespace: &namespace,
                owner_id: "owner-1",
                owner_hint: "owner@example.com",
                helm_mode,
            },
            profile: &profile,
        };
        assert_eq!(apply_all(&berth, &grant).await.len(), count, "{helm_mode:?}");
        // Controllers write status right after creation (the quota's usage); once they are done, applying
        // the same object again is a no-op: the resourceVersion stays.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        for object in manifests::objects(&grant, &Settings::default()) {
            let before = berth.apply(&object).await.unwrap();
            let after = berth.apply(&object).await.unwrap();
            assert_eq!(before, after, "{helm_mode:?}: re-applying changed {object:?}");
        }
        clean_up(&namespace).await;
    }
}

#[tokio::test]
async fn berth_binds_edit_and_tiller_user_but_no_other_cluster_role() {
    let client = berth_client().await;
    let berth = berth_cluster().await;
    let namespace = provision(&berth, HelmMode::NoTiller).await;
    let bindings = Api::<RoleBinding>::namespaced(client, &namespace);
    for role in ["admin", "cluster-admin"] {
        let binding: RoleBinding = serde_json::from_value(json!({
            "metadata": { "name": format!("sneaky-{role}") },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
            "subjects": [{ "kind": "ServiceAccount", "name": "ns-x", "namespace": IDENTITIES }],
        }))
        .unwrap();
        let refused = bindings.create(&PostParams::default(), &binding).await.expect_err("refused");
        assert_eq!(status_code(&refused), Some(403), "binding {role}: {refused}");
    }
    clean_up(&namespace).await;
}

#[tokio::test]
async fn berth_touches_secrets_and_tokens_in_its_identities_namespace_only() {
    let client = berth_client().await;
    assert!(may(&client, "list", "secrets", Some(IDENTITIES)).await.unwrap());
    assert!(may(&client, "create", "serviceaccounts/token", Some(IDENTITIES)).await.unwrap());
    for namespace in ["kube-system", "default", "berth"] {
        assert!(!may(&client, "get", "secrets", Some(namespace)).await.unwrap(), "secrets in {namespace}");
        assert!(
            !may(&client, "create", "serviceaccounts/token", Some(namespace)).await.unwrap(),
            "tokens in {namespace}"
        );
    }
    let refused = Api::<Secret>::namespaced(client.clone(), "kube-system").list(&ListParams::default()).await;
    assert_eq!(refused.as_ref().err().and_then(status_code), Some(403));
    for verb in ["escalate", "impersonate"] {
        assert!(!may(&client, verb, "clusterroles.rbac.authorization.k8s.io", None).await.unwrap(), "{verb}");
    }
    assert!(!may(&client, "create", "clusterroles.rbac.authorization.k8s.io", None).await.unwrap());
    assert!(!may(&client, "create", "roles.rbac.authorization.k8s.io", Some("default")).await.unwrap());
}

#[tokio::test]
async fn the_identity_acts_in_its_namespace_only_and_tiller_cannot_touch_the_quota() {
    let client = berth_client().await;
    let berth = berth_cluster().await;
    let admin = admin().await;

    // Helm 3: the identity (a token minted by Berth itself) edits in its namespace and nowhere else.
    let plain = provision(&berth, HelmMode::NoTiller).await;
    let token = token_for(&client, IDENTITIES, &owner_identity(&plain), None).await;
    let identity = client_from(token_kubeconfig(&token, &plain)).await;
    assert!(may(&identity, "create", "deployments.apps", Some(&plain)).await.unwrap());
    assert!(may(&identity, "list", "pods", Some(&plain)).await.unwrap());
    assert!(!may(&identity, "list", "namespaces", None).await.unwrap());
    assert!(!may(&identity, "get", "secrets", Some("kube-system")).await.unwrap());
    assert!(!may(&identity, "create", "deployments.apps", Some("default")).await.unwrap());
    assert!(!may(&identity, "patch", "resourcequotas", Some(&plain)).await.unwrap(), "edit cannot change the quota");
    assert!(!may(&identity, "create", "serviceaccounts/token", Some(IDENTITIES)).await.unwrap());

    // Tiller mode: the identity reaches Tiller (list pods, port-forward) but deploys only through it.
    let tiller_ns = provision(&berth, HelmMode::Tiller).await;
    let token = token_for(&client, IDENTITIES, &owner_identity(&tiller_ns), None).await;
    let identity = client_from(token_kubeconfig(&token, &tiller_ns)).await;
    assert!(may(&identity, "list", "pods", Some(&tiller_ns)).await.unwrap());
    assert!(may(&identity, "create", "pods/portforward", Some(&tiller_ns)).await.unwrap());
    assert!(!may(&identity, "create", "deployments.apps", Some(&tiller_ns)).await.unwrap());
    assert!(!may(&identity, "list", "pods", Some(&plain)).await.unwrap(), "not in another grant's namespace");

    // Tiller's own ServiceAccount: deployments in its namespace, not elsewhere, and never the quota.
    let token = token_for(&admin, &tiller_ns, "tiller", None).await;
    let tiller = client_from(token_kubeconfig(&token, &tiller_ns)).await;
    assert!(may(&tiller, "create", "deployments.apps", Some(&tiller_ns)).await.unwrap());
    assert!(!may(&tiller, "create", "deployments.apps", Some(&plain)).await.unwrap());
    assert!(!may(&tiller, "patch", "resourcequotas", Some(&tiller_ns)).await.unwrap());
    assert!(!may(&tiller, "patch", "namespaces", None).await.unwrap());
    // Tokens minted inside the granted namespace cannot reach the identities namespace.
    assert!(!may(&tiller, "create", "serviceaccounts/token", Some(IDENTITIES)).await.unwrap());
    assert!(!may(&tiller, "get", "secrets", Some(IDENTITIES)).await.unwrap());

    // The default ServiceAccount of a granted namespace no longer mounts a token.
    let default = Api::<ServiceAccount>::namespaced(admin.clone(), &plain).get("default").await.unwrap();
    assert_eq!(default.automount_service_account_token, Some(false), "{}", default.name_any());

    clean_up(&plain).await;
    clean_up(&tiller_ns).await;
}

#[tokio::test]
async fn objects_as_the_api_server_stores_them_show_no_drift_and_a_tenant_s_change_does() {
    use berth_server::cluster::drift;
    let berth = berth_cluster().await;
    let admin = admin().await;
    let namespace = provision(&berth, HelmMode::Tiller).await;
    let profile = small_profile();
    let grant = Grant {
        of: GrantRef {
            request_id: "r-1",
            namespace: &namespace,
            owner_id: "owner-1",
            owner_hint: "owner@example.com",
            helm_mode: HelmMode::Tiller,
        },
        profile: &profile,
    };
    // Read back as stored (defaults filled in), the way the watch holds them.
    let live = |object: &manifests::Object| {
        let admin = admin.clone();
        let (kind, name) = (object.kind(), object.describe().rsplit('/').next().unwrap().to_string());
        let namespace = namespace.clone();
        async move {
            let value = match kind {
                "NetworkPolicy" => serde_json::to_value(
                    Api::<k8s_openapi::api::networking::v1::NetworkPolicy>::namespaced(admin, &namespace)
                        .get(&name)
                        .await
                        .unwrap(),
                ),
                "ServiceAccount" => {
                    serde_json::to_value(Api::<ServiceAccount>::namespaced(admin, &namespace).get(&name).await.unwrap())
                }
                _ => serde_json::to_value(
                    Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(admin, &namespace)
                        .get(&name)
                        .await
                        .unwrap(),
                ),
            };
            value.unwrap()
        }
    };
    let objects = manifests::objects(&grant, &Settings::default());
    let watched: Vec<_> = objects.iter().filter(|o| drift::is_watched(o, &namespace)).collect();
    assert_eq!(watched.len(), 5, "two NetworkPolicies, default and tiller, Tiller's Deployment");
    for object in &watched {
        let stored = live(object).await;
        assert_eq!(drift::drift(object, Some(&stored)), None, "{} as stored: {stored:#}", object.describe());
    }
    // A tenant's edit of Tiller (kubectl set image) is drift.
    let tiller = watched.iter().find(|o| o.kind() == "Deployment").unwrap();
    let patch =
        json!({ "spec": { "template": { "spec": { "containers": [{ "name": "tiller", "image": "evil/tiller" }] } } } });
    Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(admin.clone(), &namespace)
        .patch("tiller-deploy", &kube::api::PatchParams::default(), &kube::api::Patch::Strategic(&patch))
        .await
        .unwrap();
    let found = drift::drift(tiller, Some(&live(tiller).await)).expect("drift");
    assert_eq!(found.fields, ["spec.template.spec.containers.image"]);
    clean_up(&namespace).await;
}
