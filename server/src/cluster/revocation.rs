//! Taking a grant's access away (DESIGN.md, "Credentials"): the identity's RoleBinding in the namespace,
//! every anchor Secret of its kubeconfigs, and the identity itself (which kills every token minted for it);
//! in Tiller mode also Tiller's ServiceAccount, recreated with a new uid (so tokens anyone minted for the
//! old one die) and Tiller restarted to pick it up. The namespace and its workloads stay: deleting them is
//! a separate, explicit admin action. Every step tolerates what an earlier, interrupted run already did.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;

use super::manifests::{self, Grant, IDENTITY_BINDING_NAME, REQUEST_LABEL, TILLER_DEPLOYMENT_NAME, TILLER_NAME};
use super::{Cluster, ClusterError, FIELD_MANAGER};

/// Annotates Tiller's pod template when its ServiceAccount is recreated, which rolls its pod.
pub const RESTARTED_AT: &str = "berth.dev/restarted-at";

impl Cluster {
    /// Removes `grant`'s access, as described above. Idempotent.
    pub async fn revoke_grant(&self, grant: &Grant<'_>, identities_namespace: &str) -> Result<(), ClusterError> {
        let bindings = Api::<RoleBinding>::namespaced(self.client.clone(), grant.namespace);
        gone(bindings.delete(IDENTITY_BINDING_NAME, &DeleteParams::default()).await)?;

        let secrets = Api::<Secret>::namespaced(self.client.clone(), identities_namespace);
        let anchors = secrets
            .list_metadata(&ListParams::default().labels(&format!("{REQUEST_LABEL}={}", grant.request_id)))
            .await?;
        for anchor in anchors {
            if let Some(name) = anchor.metadata.name {
                gone(secrets.delete(&name, &DeleteParams::default()).await)?;
            }
        }
        let identities = Api::<ServiceAccount>::namespaced(self.client.clone(), identities_namespace);
        gone(identities.delete(&grant.identity_name(), &DeleteParams::default()).await)?;

        if grant.helm_mode == app::requests::HelmMode::Tiller {
            let accounts = Api::<ServiceAccount>::namespaced(self.client.clone(), grant.namespace);
            // Delete, wait until it is gone, create anew: a new uid, so the old account's tokens are refused.
            gone(accounts.delete(TILLER_NAME, &DeleteParams::foreground()).await)?;
            for _ in 0..50 {
                if accounts.get_opt(TILLER_NAME).await?.is_none() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let account = manifests::tiller_service_account(grant);
            accounts.patch(TILLER_NAME, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&account)).await?;
            let restart = json!({ "spec": { "template": { "metadata": { "annotations": {
                RESTARTED_AT: chrono::Utc::now().to_rfc3339(),
            }}}}});
            let deployments = Api::<Deployment>::namespaced(self.client.clone(), grant.namespace);
            gone(
                deployments.patch(TILLER_DEPLOYMENT_NAME, &restart_params(), &Patch::Merge(&restart)).await.map(|_| ()),
            )?;
        }
        Ok(())
    }
}

/// A plain patch (not an apply: the annotation is a one-off nudge, not a field Berth keeps), under Berth's name.
fn restart_params() -> PatchParams {
    PatchParams { field_manager: Some(FIELD_MANAGER.to_string()), ..Default::default() }
}

/// A delete (or patch) that found nothing to act on has nothing left to do.
fn gone<T>(result: Result<T, kube::Error>) -> Result<(), ClusterError> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error.into()),
    }
}
