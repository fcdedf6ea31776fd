//! Taking a grant's access away (DESIGN.md, "Credentials"). The namespace and its workloads stay: deleting
//! them is a separate, explicit admin action. Every step tolerates what an earlier, interrupted run did.
//!
//! In the identities namespace (Berth's own): every anchor Secret of the grant's kubeconfigs, and every
//! identity of the grant, its owner's, its members' and its robots' (which kills every token minted for them),
//! found by the label that says they are this grant's.
//!
//! In the granted namespace, only if it is this grant's (its `berth.dev/request` label names the request):
//! every RoleBinding whose subject is one of the grant's identities or its `tiller` account, whatever its name (a
//! binding an admin added by hand would otherwise outlive the grant, and bind a later grant's identity of the
//! same name; one that also binds others is deleted too, and the history names them: Berth may not rewrite a
//! binding to a role it cannot bind, and the namespace is Berth's); in Tiller mode Tiller is scaled to zero and its ServiceAccount deleted, so nothing that runs as
//! `tiller` (a CronJob, a sidecar someone patched in, a token minted earlier) keeps `edit`. A namespace that
//! is not this grant's (the request failed because someone else created it first) is not touched at all: its
//! `tiller` and `berth-identity` are someone else's.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{RoleBinding, Subject};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::manifests::{GrantRef, REQUEST_LABEL, TILLER_DEPLOYMENT_NAME, TILLER_NAME};
use super::{Cluster, ClusterError, FIELD_MANAGER};

/// What a revocation did in the granted namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceScope {
    /// It was this grant's: its bindings (and Tiller) are gone. Bindings that also bound others, each as
    /// `name (the others)`, deleted with them.
    Revoked { shared_bindings: Vec<String> },
    /// There is no such namespace (never created, or deleted).
    Gone,
    /// It exists but is not this grant's; nothing in it was touched.
    NotOurs,
}

impl NamespaceScope {
    /// What the audit trail says about the namespace, when there is more to say than "access removed".
    pub fn note(&self, namespace: &str) -> Option<String> {
        match self {
            NamespaceScope::Revoked { shared_bindings } if shared_bindings.is_empty() => None,
            NamespaceScope::Revoked { shared_bindings } => Some(format!(
                "Also deleted, as they bound this grant's accounts: RoleBinding {}. They bound others too; an admin \
                 re-creates them without this grant's accounts if those still need them.",
                shared_bindings.join(", RoleBinding ")
            )),
            NamespaceScope::Gone => Some(format!(
                "The namespace '{namespace}' does not exist; the identity and its kubeconfigs were removed."
            )),
            NamespaceScope::NotOurs => Some(format!(
                "The namespace '{namespace}' was not created by Berth for this request (its berth.dev/request label \
                 does not name it), so nothing in it was touched; the identity and its kubeconfigs were removed."
            )),
        }
    }
}

impl Cluster {
    /// Removes `grant`'s access, as described above. Idempotent.
    pub async fn revoke_grant(
        &self,
        grant: &GrantRef<'_>,
        identities_namespace: &str,
    ) -> Result<NamespaceScope, ClusterError> {
        let identities = Api::<ServiceAccount>::namespaced(self.client.clone(), identities_namespace);
        let of_grant = ListParams::default().labels(&format!("{REQUEST_LABEL}={}", grant.request_id));
        let grant_identities = identities.list_metadata(&of_grant).await?;
        let mut names: Vec<String> =
            grant_identities.iter().filter_map(|identity| identity.metadata.name.clone()).collect();
        // The one identity of a grant made before identities were per person, if it is still there.
        names.push(grant.legacy_identity_name());
        let namespaces = Api::<Namespace>::all(self.client.clone());
        let scope = match namespaces.get_opt(grant.namespace).await? {
            None => NamespaceScope::Gone,
            Some(namespace) if namespace.labels().get(REQUEST_LABEL).map(String::as_str) == Some(grant.request_id) => {
                // The bindings first: from this moment every token of the grant is forbidden in the namespace.
                let shared_bindings = self.unbind_grant_accounts(grant, &names, identities_namespace).await?;
                if grant.helm_mode == app::requests::HelmMode::Tiller {
                    self.stop_tiller(grant).await?;
                }
                NamespaceScope::Revoked { shared_bindings }
            }
            Some(_) => NamespaceScope::NotOurs,
        };

        let secrets = Api::<Secret>::namespaced(self.client.clone(), identities_namespace);
        for anchor in secrets.list_metadata(&of_grant).await? {
            if let Some(name) = anchor.metadata.name {
                gone(secrets.delete(&name, &DeleteParams::default()).await)?;
            }
        }
        for identity in grant_identities {
            if let Some(name) = &identity.metadata.name {
                gone(identities.delete(name, &unchanged_since(&identity.metadata)).await)?;
            }
        }
        let legacy = grant.legacy_identity_name();
        if let Some(identity) = identities.get_opt(&legacy).await?
            && identity.labels().get(REQUEST_LABEL).map(String::as_str) == Some(grant.request_id)
        {
            gone(identities.delete(&legacy, &unchanged_since(&identity.metadata)).await)?;
        }
        Ok(scope)
    }

    /// Deletes every RoleBinding in the grant's namespace that binds one of its identities (`identities`, in
    /// the identities namespace) or its `tiller` account. Returns those that bound others too, as
    /// `name (the others)`.
    async fn unbind_grant_accounts(
        &self,
        grant: &GrantRef<'_>,
        identities: &[String],
        identities_namespace: &str,
    ) -> Result<Vec<String>, ClusterError> {
        let bindings = Api::<RoleBinding>::namespaced(self.client.clone(), grant.namespace);
        let is_grants = |subject: &Subject| {
            subject.kind == "ServiceAccount"
                && ((identities.contains(&subject.name) && subject.namespace.as_deref() == Some(identities_namespace))
                    || (subject.name == TILLER_NAME && subject.namespace.as_deref() == Some(grant.namespace)))
        };
        let mut shared = Vec::new();
        for binding in bindings.list(&ListParams::default()).await? {
            let subjects = binding.subjects.clone().unwrap_or_default();
            if !subjects.iter().any(is_grants) {
                continue;
            }
            let others: Vec<String> = subjects
                .iter()
                .filter(|subject| !is_grants(subject))
                .map(|subject| match &subject.namespace {
                    Some(namespace) => format!("{} {namespace}/{}", subject.kind, subject.name),
                    None => format!("{} {}", subject.kind, subject.name),
                })
                .collect();
            gone(bindings.delete(&binding.name_any(), &unchanged_since(&binding.metadata)).await)?;
            if !others.is_empty() {
                shared.push(format!("{} ({})", binding.name_any(), others.join(", ")));
            }
        }
        Ok(shared)
    }

    /// Scales Tiller to zero and deletes its ServiceAccount: tokens minted for it die (Unauthorized within the
    /// API server's token cache, about 10 s), and no pod may run as it any more.
    async fn stop_tiller(&self, grant: &GrantRef<'_>) -> Result<(), ClusterError> {
        let deployments = Api::<Deployment>::namespaced(self.client.clone(), grant.namespace);
        let scale = json!({ "spec": { "replicas": 0 } });
        gone(deployments.patch(TILLER_DEPLOYMENT_NAME, &plain_patch(), &Patch::Merge(&scale)).await)?;
        let accounts = Api::<ServiceAccount>::namespaced(self.client.clone(), grant.namespace);
        gone(accounts.delete(TILLER_NAME, &DeleteParams::default()).await)?;
        Ok(())
    }
}

/// A delete that happens only if the object is still the one read (same uid and resourceVersion).
fn unchanged_since(metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> DeleteParams {
    DeleteParams {
        preconditions: Some(Preconditions {
            uid: metadata.uid.clone(),
            resource_version: metadata.resource_version.clone(),
        }),
        ..Default::default()
    }
}

/// A plain patch (not an apply: a one-off change, not a field Berth keeps), under Berth's name.
fn plain_patch() -> PatchParams {
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
