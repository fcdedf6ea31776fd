//! The identities of a grant's members and robots: made when first needed (a member's first kubeconfig, a
//! robot's creation) and removed alone, each with its own RoleBinding in the grant's namespace. Removing one
//! deletes its binding (from then on its tokens may do nothing in the namespace), its anchors and its
//! ServiceAccount (from then on the API server refuses its tokens outright).

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};

use super::manifests::{
    GrantRef, Object, PERSON_LABEL, REQUEST_LABEL, ROBOT_LABEL, Settings, Subject, identity_binding_of,
    identity_objects,
};
use super::{Cluster, ClusterError};

impl Cluster {
    /// Applies `subject`'s identity and its binding (two calls; idempotent, so also after a crash between
    /// them, and for a grant made before identities were per person).
    pub async fn ensure_identity(
        &self,
        grant: &GrantRef<'_>,
        subject: Subject<'_>,
        settings: &Settings,
    ) -> Result<(), ClusterError> {
        for object in identity_objects(grant, subject, settings) {
            self.apply(&object).await?;
        }
        Ok(())
    }

    /// Removes `subject`'s access to `grant`: its binding (only in a namespace that is this grant's), the
    /// anchors of its kubeconfigs `credential_ids`, and its identity. Idempotent.
    pub async fn remove_identity(
        &self,
        grant: &GrantRef<'_>,
        subject: Subject<'_>,
        credential_ids: &[String],
        settings: &Settings,
    ) -> Result<(), ClusterError> {
        let ours =
            Api::<Namespace>::all(self.client.clone()).get_opt(grant.namespace).await?.is_some_and(|namespace| {
                namespace.labels().get(REQUEST_LABEL).map(String::as_str) == Some(grant.request_id)
            });
        if ours {
            let bindings = Api::<RoleBinding>::namespaced(self.client.clone(), grant.namespace);
            gone(bindings.delete(&subject.binding_name(grant.namespace), &DeleteParams::default()).await)?;
        }
        for id in credential_ids {
            self.delete_anchor(&settings.identities_namespace, id).await?;
        }
        let identities = Api::<ServiceAccount>::namespaced(self.client.clone(), &settings.identities_namespace);
        let name = subject.identity_name(grant.namespace);
        if let Some(identity) = identities.get_opt(&name).await?
            && identity.labels().get(REQUEST_LABEL).map(String::as_str) == Some(grant.request_id)
        {
            gone(identities.delete(&name, &DeleteParams::default()).await)?;
        }
        Ok(())
    }

    /// Binds every identity of `grant` anew to the role its Helm mode gives (after Tiller became Helm 3): a
    /// RoleBinding's role cannot change, so each binding whose role differs is deleted and created again.
    /// Returns the bindings it replaced.
    pub async fn rebind_identities(
        &self,
        grant: &GrantRef<'_>,
        settings: &Settings,
    ) -> Result<Vec<String>, ClusterError> {
        let identities = Api::<ServiceAccount>::namespaced(self.client.clone(), &settings.identities_namespace);
        let selector = format!("{REQUEST_LABEL}={}", grant.request_id);
        let listed = identities.list_metadata(&ListParams::default().labels(&selector)).await?;
        let bindings = Api::<RoleBinding>::namespaced(self.client.clone(), grant.namespace);
        let mut replaced = Vec::new();
        for identity in listed {
            let name = identity.metadata.name.clone().unwrap_or_default();
            let labels = identity.metadata.labels.unwrap_or_default();
            let label = match (labels.get(PERSON_LABEL), labels.get(ROBOT_LABEL)) {
                (Some(id), _) => (PERSON_LABEL, id.as_str()),
                (None, Some(id)) => (ROBOT_LABEL, id.as_str()),
                // The one identity of a grant made before identities were per person: its binding is one of
                // the grant's objects, which the change itself replaced.
                (None, None) => continue,
            };
            let wanted = identity_binding_of(grant, &name, label, settings);
            let binding_name = wanted.metadata.name.clone().unwrap_or_default();
            let live = bindings.get_opt(&binding_name).await?;
            if live.as_ref().is_some_and(|live| live.role_ref == wanted.role_ref) {
                continue;
            }
            if live.is_some() {
                gone(bindings.delete(&binding_name, &DeleteParams::default()).await)?;
            }
            self.apply(&Object::RoleBinding(wanted)).await?;
            replaced.push(format!("RoleBinding {}/{binding_name}", grant.namespace));
        }
        Ok(replaced)
    }
}

/// A delete that found nothing has nothing left to do.
fn gone<T>(result: Result<T, kube::Error>) -> Result<(), ClusterError> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error.into()),
    }
}
