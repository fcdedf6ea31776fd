//! Against the real local control plane (scripts/cluster.sh): the Kubernetes behaviour Berth relies on.
//!
//! The test command starts a cluster of its own and passes its admin kubeconfig in `LOCAL_CLUSTER_KUBECONFIG`.
//! Deliberately not `KUBECONFIG`: that may point at a real cluster, and these tests create and delete things.
//! Each test works in namespaces with a random suffix and deletes what it created.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource, ResourceExt};
use serde_json::json;

use crate::support::eventually;

const FIELD_MANAGER: &str = "berth-tests";

pub(crate) fn admin_kubeconfig() -> Kubeconfig {
    let path = crate::support::local_cluster_kubeconfig();
    Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub(crate) async fn client_from(kubeconfig: Kubeconfig) -> Client {
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    Client::try_from(config).unwrap()
}

pub(crate) async fn admin() -> Client {
    client_from(admin_kubeconfig()).await
}

/// A kubeconfig for the same API server that authenticates with `token` only, as Berth will hand out.
pub(crate) fn token_kubeconfig(token: &str, namespace: &str) -> Kubeconfig {
    let admin = admin_kubeconfig();
    let cluster = admin.clusters[0].cluster.clone().unwrap();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "local", "cluster": {
            "server": cluster.server,
            "certificate-authority-data": cluster.certificate_authority_data,
        }}],
        "users": [{ "name": "identity", "user": { "token": token } }],
        "contexts": [{ "name": "local", "context": { "cluster": "local", "user": "identity", "namespace": namespace } }],
        "current-context": "local",
    }))
    .unwrap()
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn apply<K>(api: &Api<K>, object: serde_json::Value) -> K
where
    K: Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(object)).await.unwrap()
}

pub(crate) async fn delete_namespace(client: &Client, name: &str) {
    let _ = Api::<Namespace>::all(client.clone()).delete(name, &DeleteParams::background()).await;
}

async fn namespace(client: &Client, name: &str) {
    apply(
        &Api::<Namespace>::all(client.clone()),
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } }),
    )
    .await;
}

pub(crate) async fn service_account(client: &Client, namespace: &str, name: &str) -> ServiceAccount {
    apply(
        &Api::<ServiceAccount>::namespaced(client.clone(), namespace),
        json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": name } }),
    )
    .await
}

/// A token for the ServiceAccount, optionally bound to a Secret (it dies with the Secret).
pub(crate) async fn token_for(client: &Client, namespace: &str, account: &str, bound_to: Option<&Secret>) -> String {
    let bound_object_ref = bound_to
        .map(|secret| json!({ "apiVersion": "v1", "kind": "Secret", "name": secret.name_any(), "uid": secret.uid() }));
    let request: TokenRequest =
        serde_json::from_value(json!({ "spec": { "expirationSeconds": 600, "boundObjectRef": bound_object_ref } }))
            .unwrap();
    let answer = Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .unwrap();
    answer.status.and_then(|status| status.token).expect("token issued")
}

/// Asks the API server, as `client`, whether it may `verb` `resource` (in `namespace`, or cluster-wide).
/// `resource` is `plural[/subresource][.group]`, as kubectl spells it: `pods/portforward`, `deployments.apps`.
pub(crate) async fn may(
    client: &Client,
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
) -> Result<bool, kube::Error> {
    let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
    let (resource, subresource) = resource.split_once('/').map_or((resource, None), |(r, s)| (r, Some(s)));
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource: subresource.map(Into::into),
                namespace: namespace.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<SelfSubjectAccessReview>::all(client.clone()).create(&PostParams::default(), &review).await?;
    Ok(answer.status.expect("review answered").allowed)
}

pub(crate) fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[tokio::test]
async fn server_side_apply_creates_namespaced_objects_and_reapplying_changes_nothing() {
    let client = admin().await;
    let ns = unique("it-apply");
    let namespaces = Api::<Namespace>::all(client.clone());
    let configmaps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let namespace_object = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns, "labels": { "berth.dev/managed": "true" } } });
    let configmap_object = json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "settings" }, "data": { "stage": "test" }
    });

    let created_ns = apply(&namespaces, namespace_object.clone()).await;
    let created_cm = apply(&configmaps, configmap_object.clone()).await;
    assert_eq!(created_ns.labels().get("berth.dev/managed").map(String::as_str), Some("true"));
    assert_eq!(created_cm.data.as_ref().unwrap()["stage"], "test");
    let manager = created_cm.managed_fields().iter().map(|f| f.manager.clone().unwrap_or_default()).collect::<Vec<_>>();
    assert!(manager.contains(&FIELD_MANAGER.to_string()), "owned by our field manager: {manager:?}");

    // Applying the same intent again is a no-op: the stored objects do not change at all.
    let again_ns = apply(&namespaces, namespace_object).await;
    let again_cm = apply(&configmaps, configmap_object).await;
    assert_eq!(again_ns.resource_version(), created_ns.resource_version(), "namespace unchanged");
    assert_eq!(again_cm.resource_version(), created_cm.resource_version(), "configmap unchanged");

    delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn the_controller_manager_runs_default_service_accounts_and_the_root_ca_appear() {
    let client = admin().await;
    let ns = unique("it-controllers");
    namespace(&client, &ns).await;
    eventually(Duration::from_secs(30), "the default ServiceAccount and kube-root-ca.crt", || async {
        let account = Api::<ServiceAccount>::namespaced(client.clone(), &ns).get_opt("default").await.unwrap();
        let root_ca = Api::<ConfigMap>::namespaced(client.clone(), &ns).get_opt("kube-root-ca.crt").await.unwrap();
        match (account, root_ca) {
            (Some(_), Some(_)) => Ok(()),
            seen => Err(format!("ServiceAccount {}, ConfigMap {}", seen.0.is_some(), seen.1.is_some())),
        }
    })
    .await;
    // Deleting the namespace finalizes: it disappears instead of staying Terminating forever.
    Api::<Namespace>::all(client.clone()).delete(&ns, &DeleteParams::background()).await.unwrap();
    eventually(Duration::from_secs(60), &format!("namespace {ns} gone after its deletion"), || async {
        match Api::<Namespace>::all(client.clone()).get_opt(&ns).await.unwrap() {
            None => Ok(()),
            Some(namespace) => Err(format!("{:?}", namespace.status.and_then(|s| s.phase))),
        }
    })
    .await;
}

#[tokio::test]
async fn a_token_bound_to_a_secret_works_until_the_secret_is_deleted() {
    let client = admin().await;
    let ns = unique("it-token");
    namespace(&client, &ns).await;
    service_account(&client, &ns, "identity").await;
    let anchor = Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &serde_json::from_value(json!({ "metadata": { "name": "anchor" } })).unwrap())
        .await
        .unwrap();
    let token = token_for(&client, &ns, "identity", Some(&anchor)).await;
    let identity = client_from(token_kubeconfig(&token, &ns)).await;

    // Authenticated, and as who it should be: allowed nothing it was not given.
    assert!(!may(&identity, "list", "namespaces", None).await.expect("the token authenticates"));

    Api::<Secret>::namespaced(client.clone(), &ns).delete("anchor", &DeleteParams::default()).await.unwrap();
    let deleted = Instant::now();
    let rejected_after = loop {
        match may(&identity, "list", "namespaces", None).await {
            Err(error) if status_code(&error) == Some(401) => break deleted.elapsed(),
            Err(error) => panic!("expected 401, got {error}"),
            Ok(_) => {
                assert!(
                    deleted.elapsed() < Duration::from_secs(30),
                    "token still accepted 30 s after its Secret was deleted"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    println!("FIGURE token rejected {:.1} s after its anchor Secret was deleted", rejected_after.as_secs_f64());

    delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn a_rolebinding_to_edit_grants_one_namespace_only() {
    let client = admin().await;
    let (granted, other, identities) = (unique("it-granted"), unique("it-other"), unique("it-identities"));
    for ns in [&granted, &other, &identities] {
        namespace(&client, ns).await;
    }
    // The identity lives outside the namespace it may use, as DESIGN.md prescribes.
    service_account(&client, &identities, "alice").await;
    apply(
        &Api::<RoleBinding>::namespaced(client.clone(), &granted),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": { "name": "alice-edit" },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit" },
            "subjects": [{ "kind": "ServiceAccount", "name": "alice", "namespace": identities }],
        }),
    )
    .await;
    let alice = client_from(token_kubeconfig(&token_for(&client, &identities, "alice", None).await, &granted)).await;

    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": {
            "selector": { "matchLabels": { "app": "web" } },
            "template": { "metadata": { "labels": { "app": "web" } },
                          "spec": { "containers": [{ "name": "web", "image": "nginx:1.27" }] } },
        },
    }))
    .unwrap();
    Api::<Deployment>::namespaced(alice.clone(), &granted)
        .create(&PostParams::default(), &deployment)
        .await
        .expect("edit allows a Deployment in the granted namespace");
    let elsewhere =
        Api::<Deployment>::namespaced(alice.clone(), &other).create(&PostParams::default(), &deployment).await;
    assert_eq!(elsewhere.as_ref().err().and_then(status_code), Some(403), "not in another namespace: {elsewhere:?}");
    let listing = Api::<Namespace>::all(alice.clone()).list(&ListParams::default()).await;
    assert_eq!(listing.as_ref().err().and_then(status_code), Some(403), "cannot list namespaces: {listing:?}");

    for ns in [&granted, &other, &identities] {
        delete_namespace(&client, ns).await;
    }
}

#[tokio::test]
async fn bind_on_named_cluster_roles_cannot_be_escalated_to_cluster_admin() {
    let client = admin().await;
    let (target, identities) = (unique("it-target"), unique("it-binder"));
    let role_name = unique("it-bind-edit-only");
    for ns in [&target, &identities] {
        namespace(&client, ns).await;
    }
    service_account(&client, &identities, "portal").await;
    // Like Berth's own ClusterRole: manage RoleBindings, and `bind` only the named ClusterRole `edit`.
    let cluster_role: ClusterRole = serde_json::from_value(json!({
        "metadata": { "name": role_name },
        "rules": [
            { "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create", "get", "delete"] },
            { "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["edit"] },
        ],
    }))
    .unwrap();
    Api::<ClusterRole>::all(client.clone()).create(&PostParams::default(), &cluster_role).await.unwrap();
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": { "name": role_name },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name },
        "subjects": [{ "kind": "ServiceAccount", "name": "portal", "namespace": identities }],
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(client.clone()).create(&PostParams::default(), &binding).await.unwrap();
    let portal = client_from(token_kubeconfig(&token_for(&client, &identities, "portal", None).await, &target)).await;

    let role_binding = |name: &str, role: &str| -> RoleBinding {
        serde_json::from_value(json!({
            "metadata": { "name": name },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
            "subjects": [{ "kind": "ServiceAccount", "name": "someone", "namespace": identities }],
        }))
        .unwrap()
    };
    let bindings = Api::<RoleBinding>::namespaced(portal.clone(), &target);
    bindings.create(&PostParams::default(), &role_binding("grant-edit", "edit")).await.expect("may bind edit");
    let escalation = bindings.create(&PostParams::default(), &role_binding("grant-admin", "cluster-admin")).await;
    assert_eq!(escalation.as_ref().err().and_then(status_code), Some(403), "cluster-admin refused: {escalation:?}");

    let _ = Api::<ClusterRoleBinding>::all(client.clone()).delete(&role_name, &DeleteParams::default()).await;
    let _ = Api::<ClusterRole>::all(client.clone()).delete(&role_name, &DeleteParams::default()).await;
    for ns in [&target, &identities] {
        delete_namespace(&client, ns).await;
    }
}
