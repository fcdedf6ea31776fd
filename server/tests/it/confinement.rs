//! Berth's own ServiceAccount confined by the API server (`deploy/base/admission.yaml`, installed by
//! `scripts/cluster.sh up` as an admin would): with Berth's own token, every write outside what Berth owns is
//! refused by the ValidatingAdmissionPolicy, whatever Berth's code says; Berth's own work still passes (the
//! whole suite provisions, revokes and deletes with that token).

use app::requests::HelmMode;
use berth_server::cluster::manifests::{self, Grant, GrantRef, Object, Settings};
use berth_server::config::RequestsConfig;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::cluster::{admin, delete_namespace, unique};
use crate::provisioning::{berth_client, berth_cluster};

const IDENTITIES: &str = "berth-identities";
const POLICY: &str = "ValidatingAdmissionPolicy 'berth-confinement'";

/// The API server's refusal of `answer`: its code and message. Panics if it was allowed.
fn refused<T: std::fmt::Debug>(what: &str, answer: Result<T, kube::Error>) -> (u16, String) {
    match answer {
        Err(kube::Error::Api(status)) => {
            println!("REFUSED {what}: {} {}", status.code, status.message);
            (status.code, status.message)
        }
        other => panic!("{what} must be refused by the API server, got {other:?}"),
    }
}

fn deployment_in(namespace: &str, tiller: &Deployment) -> Deployment {
    let mut deployment = tiller.clone();
    deployment.metadata.namespace = Some(namespace.to_string());
    deployment
}

#[tokio::test]
async fn the_api_server_refuses_berth_every_write_outside_the_namespaces_it_owns() {
    let berth = berth_client().await;
    let admin = admin().await;
    let profile = RequestsConfig::default().quota_profiles.remove(0);

    // A grant Berth provisioned (its own work passes the policy), and a namespace someone else made.
    let managed = unique("it-confined");
    let grant = Grant {
        of: GrantRef {
            request_id: "r-confined",
            namespace: &managed,
            owner_id: "owner-1",
            owner_hint: "owner@example.com",
            helm_mode: HelmMode::Tiller,
        },
        profile: &profile,
    };
    let objects = manifests::objects(&grant, &Settings::default());
    let cluster = berth_cluster().await;
    for object in &objects {
        cluster.apply(object).await.unwrap_or_else(|e| panic!("Berth's own work is allowed: {object:?}: {e}"));
    }
    let tiller = objects
        .iter()
        .find_map(|object| match object {
            Object::Deployment(deployment) => Some(deployment.as_ref().clone()),
            _ => None,
        })
        .unwrap();
    let theirs = unique("it-theirs");
    let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": theirs } })).unwrap();
    Api::<Namespace>::all(admin.clone()).create(&PostParams::default(), &namespace).await.unwrap();

    let apply = PatchParams::apply("berth").force();
    let binding = |namespace: &str, subject: serde_json::Value| -> RoleBinding {
        serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": { "name": "sneaky", "namespace": namespace },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit" },
            "subjects": [subject],
        }))
        .unwrap()
    };
    let identity =
        json!({ "kind": "ServiceAccount", "name": grant.owner().identity_name(&managed), "namespace": IDENTITIES });
    let mut refusals = Vec::new();

    // Outside its namespaces: kube-system, someone else's.
    let answer = Api::<RoleBinding>::namespaced(berth.clone(), "kube-system")
        .create(&PostParams::default(), &binding("kube-system", identity.clone()))
        .await;
    refusals.push(refused("a RoleBinding to edit in kube-system", answer));
    let answer = Api::<Deployment>::namespaced(berth.clone(), "kube-system")
        .create(&PostParams::default(), &deployment_in("kube-system", &tiller))
        .await;
    refusals.push(refused("a Deployment in kube-system", answer));
    let answer = Api::<ServiceAccount>::namespaced(berth.clone(), &theirs)
        .patch(
            "default",
            &apply,
            &Patch::Apply(json!({ "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": { "name": "default", "namespace": theirs }, "automountServiceAccountToken": true })),
        )
        .await;
    refusals.push(refused("a ServiceAccount in someone else's namespace", answer));

    // Namespaces: created only with Berth's labels, changed and deleted only if they carry them.
    let namespaces = Api::<Namespace>::all(berth.clone());
    let annotate = json!({ "metadata": { "annotations": { "berth.dev/note": "x" } } });
    let answer = namespaces.patch(&theirs, &PatchParams::default(), &Patch::Merge(&annotate)).await;
    refusals.push(refused("a patch of an unlabelled namespace", answer));
    let bare = unique("it-bare");
    let answer = namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({ "metadata": { "name": bare } })).unwrap())
        .await;
    refusals.push(refused("a namespace created without Berth's labels", answer));
    let claim = json!({ "metadata": { "labels": {
        "app.kubernetes.io/managed-by": "berth", "berth.dev/request": "r-confined",
        "pod-security.kubernetes.io/enforce": "baseline" } } });
    let answer = namespaces.patch(&theirs, &PatchParams::default(), &Patch::Merge(&claim)).await;
    refusals.push(refused("labelling an existing namespace as Berth's", answer));
    let answer = namespaces.delete("default", &DeleteParams::default()).await;
    refusals.push(refused("deleting default", answer));
    let answer = namespaces.delete(&theirs, &DeleteParams::default()).await;
    refusals.push(refused("deleting someone else's namespace", answer));

    // Inside its own namespace: Pod Security stays, only Berth's identities are bound, only Tiller runs.
    let level = |level: &str| json!({ "metadata": { "labels": { "pod-security.kubernetes.io/enforce": level } } });
    let answer = namespaces.patch(&managed, &PatchParams::default(), &Patch::Merge(&level("privileged"))).await;
    refusals.push(refused("lowering a managed namespace's Pod Security to privileged", answer));
    namespaces
        .patch(&managed, &PatchParams::default(), &Patch::Merge(&level("restricted")))
        .await
        .expect("raising it is allowed");
    let answer = namespaces.patch(&managed, &PatchParams::default(), &Patch::Merge(&level("baseline"))).await;
    refusals.push(refused("lowering a managed namespace's Pod Security from restricted to baseline", answer));
    let unlabel = json!({ "metadata": { "labels": { "pod-security.kubernetes.io/enforce": null } } });
    let answer = namespaces.patch(&managed, &PatchParams::default(), &Patch::Merge(&unlabel)).await;
    refusals.push(refused("removing a managed namespace's Pod Security label", answer));
    let everyone = json!({ "kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io" });
    let answer = Api::<RoleBinding>::namespaced(berth.clone(), &managed)
        .create(&PostParams::default(), &binding(&managed, everyone))
        .await;
    refusals.push(refused("binding edit to every signed-in user in a managed namespace", answer));
    let deployments = Api::<Deployment>::namespaced(berth.clone(), &managed);
    let mut privileged = deployment_in(&managed, &tiller);
    privileged.metadata.name = Some("miner".to_string());
    let answer = deployments.create(&PostParams::default(), &privileged).await;
    refusals.push(refused("a Deployment other than Tiller in a managed namespace", answer));
    // (A privileged container is refused here by the API server itself before admission: the local control
    // plane runs without --allow-privileged, which real clusters need for their kubelets. The policy refuses it
    // there; these are what the API server alone would let through.)
    let answer = deployments
        .patch(
            manifests::TILLER_DEPLOYMENT_NAME,
            &PatchParams::default(),
            &Patch::Strategic(&json!({ "spec": { "template": { "spec": { "containers": [
                { "name": "tiller", "securityContext": { "privileged": true } }] } } } })),
        )
        .await;
    refused("a privileged Tiller", answer);
    let patches = [
        (
            "Tiller allowed to escalate its privileges",
            json!({ "containers": [{ "name": "tiller", "securityContext": { "allowPrivilegeEscalation": true } }] }),
        ),
        (
            "Tiller with an added capability",
            json!({ "containers": [{ "name": "tiller", "securityContext": { "capabilities": { "add": ["SYS_ADMIN"] } } }] }),
        ),
        ("Tiller with a second container", json!({ "containers": [{ "name": "miner", "image": "miner" }] })),
        ("Tiller on the host's network", json!({ "hostNetwork": true })),
        ("Tiller as root", json!({ "securityContext": { "runAsNonRoot": false, "runAsUser": 0 } })),
        ("Tiller with a host path", json!({ "volumes": [{ "name": "root", "hostPath": { "path": "/" } }] })),
        ("Tiller as another ServiceAccount", json!({ "serviceAccountName": "default" })),
    ];
    for (what, pod) in patches {
        let patch = json!({ "spec": { "template": { "spec": pod } } });
        let answer = deployments
            .patch(manifests::TILLER_DEPLOYMENT_NAME, &PatchParams::default(), &Patch::Strategic(&patch))
            .await;
        refusals.push(refused(what, answer));
    }

    for (code, message) in &refusals {
        assert!(
            *code == 403 || *code == 422,
            "refused by admission (403, or 422 for namespaces) or the API server itself: {code} {message}"
        );
        assert!(
            message.contains(POLICY) || message.contains("may not be deleted"),
            "refused by the policy, not by chance: {message}"
        );
    }
    assert!(Api::<Namespace>::all(admin.clone()).get_opt(&bare).await.unwrap().is_none(), "nothing was created");

    // What it owns it still deletes.
    Api::<Namespace>::all(berth).delete(&managed, &DeleteParams::default()).await.expect("Berth deletes its own");
    delete_namespace(&admin, &theirs).await;
    let _ = Api::<ServiceAccount>::namespaced(admin, IDENTITIES)
        .delete(&grant.owner().identity_name(&managed), &DeleteParams::default())
        .await;
}
