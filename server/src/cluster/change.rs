//! A ready grant's quota use, and applying an approved change of its quota profile or Helm mode: exactly the
//! objects that differ between the grant before and after ([`difference`], pure), each with one call.
//!
//! A profile change applies the ResourceQuota and the LimitRange (and the default NetworkPolicy if the
//! profiles block different addresses). Tiller to Helm 3 deletes Tiller's Deployment, ServiceAccount,
//! RoleBinding and NetworkPolicy, and binds the identity to `edit` instead of `tiller-user`: a RoleBinding's
//! role cannot be changed in place, so that binding is deleted and created again.

use app::requests::QuotaUse;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams};

use super::manifests::{Object, QUOTA_NAME};
use super::{Cluster, ClusterError};

/// What applying a change did, each object described (`ResourceQuota team-a/berth-quota`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeApplied {
    pub deleted: Vec<String>,
    pub applied: Vec<String>,
}

impl ChangeApplied {
    /// The calls to the API server it took: one per object.
    pub fn calls(&self) -> usize {
        self.deleted.len() + self.applied.len()
    }

    /// For the audit log.
    pub fn note(&self) -> String {
        let mut parts = Vec::new();
        if !self.applied.is_empty() {
            parts.push(format!("applied {}", self.applied.join(", ")));
        }
        if !self.deleted.is_empty() {
            parts.push(format!("deleted {}", self.deleted.join(", ")));
        }
        if parts.is_empty() { "nothing to change in the cluster".to_string() } else { parts.join("; ") }
    }
}

/// What to delete and what to apply to go from the objects `before` to the objects `after`: objects only
/// before are deleted (in reverse apply order: a Deployment before the ServiceAccount it runs as); objects
/// new or different are applied (in apply order); a RoleBinding whose role differs is deleted first.
pub fn difference<'a>(before: &'a [Object], after: &'a [Object]) -> (Vec<&'a Object>, Vec<&'a Object>) {
    let same_object = |a: &Object, b: &Object| a.describe() == b.describe();
    let mut delete: Vec<&Object> = before
        .iter()
        .filter(|old| match after.iter().find(|new| same_object(old, new)) {
            None => true,
            Some(new) => role_differs(old, new),
        })
        .collect();
    delete.reverse();
    let apply = after
        .iter()
        .filter(|new| before.iter().find(|old| same_object(old, new)).is_none_or(|old| old != *new))
        .collect();
    (delete, apply)
}

fn role_differs(old: &Object, new: &Object) -> bool {
    match (old, new) {
        (Object::RoleBinding(old), Object::RoleBinding(new)) => old.role_ref != new.role_ref,
        _ => false,
    }
}

impl Cluster {
    /// The grant's quota use: its ResourceQuota's `status.used` against `status.hard`, by resource.
    pub async fn quota_use(&self, namespace: &str) -> Result<Vec<QuotaUse>, ClusterError> {
        let quota = Api::<ResourceQuota>::namespaced(self.client.clone(), namespace).get(QUOTA_NAME).await?;
        let status = quota.status.unwrap_or_default();
        let used = status.used.unwrap_or_default();
        Ok(status
            .hard
            .unwrap_or_default()
            .into_iter()
            .map(|(resource, hard)| QuotaUse {
                used: used.get(&resource).map_or_else(|| "0".to_string(), |quantity| quantity.0.clone()),
                hard: hard.0,
                resource,
            })
            .collect())
    }

    /// Goes from the objects `before` to the objects `after` (see [`difference`]).
    pub async fn apply_change(&self, before: &[Object], after: &[Object]) -> Result<ChangeApplied, ClusterError> {
        let (delete, apply) = difference(before, after);
        let mut done = ChangeApplied::default();
        for object in delete {
            self.delete(object).await?;
            done.deleted.push(object.describe());
        }
        for object in apply {
            self.apply(object).await?;
            done.applied.push(object.describe());
        }
        Ok(done)
    }

    /// Deletes `object`; one already gone is fine.
    async fn delete(&self, object: &Object) -> Result<(), ClusterError> {
        let client = self.client.clone();
        let params = DeleteParams::background();
        let outcome = match object {
            Object::Namespace(o) => Api::<Namespace>::all(client).delete(name(&o.metadata), &params).await.map(drop),
            Object::ResourceQuota(o) => {
                namespaced::<ResourceQuota>(client, &o.metadata).delete(name(&o.metadata), &params).await.map(drop)
            }
            Object::LimitRange(o) => {
                namespaced::<LimitRange>(client, &o.metadata).delete(name(&o.metadata), &params).await.map(drop)
            }
            Object::NetworkPolicy(o) => {
                namespaced::<NetworkPolicy>(client, &o.metadata).delete(name(&o.metadata), &params).await.map(drop)
            }
            Object::ServiceAccount(o) => {
                namespaced::<ServiceAccount>(client, &o.metadata).delete(name(&o.metadata), &params).await.map(drop)
            }
            Object::RoleBinding(o) => {
                namespaced::<RoleBinding>(client, &o.metadata).delete(name(&o.metadata), &params).await.map(drop)
            }
            Object::Deployment(o) => {
                namespaced::<Deployment>(client, &o.metadata).delete(name(&o.metadata), &params).await.map(drop)
            }
        };
        match outcome {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            other => Ok(other?),
        }
    }
}

fn name(metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    metadata.name.as_deref().unwrap_or_default()
}

fn namespaced<K>(client: kube::Client, metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client, metadata.namespace.as_deref().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use app::requests::HelmMode;

    use super::*;
    use crate::cluster::manifests::{Grant, GrantRef, Settings, objects};
    use crate::config::{ClusterConfig, RequestsConfig};

    fn grant_objects(profile: &str, helm_mode: HelmMode) -> Vec<Object> {
        let config = RequestsConfig::default();
        let profile = config.quota_profiles.iter().find(|p| p.name == profile).unwrap();
        let grant = Grant {
            of: GrantRef { request_id: "r1", namespace: "team-a", owner_id: "u1", owner_hint: "dave", helm_mode },
            profile,
        };
        objects(&grant, &Settings::of(&ClusterConfig::default()))
    }

    fn described(objects: &[&Object]) -> Vec<String> {
        objects.iter().map(|object| object.describe()).collect()
    }

    #[test]
    fn a_profile_change_applies_the_quota_and_the_limits_only() {
        let (before, after) = (grant_objects("small", HelmMode::NoTiller), grant_objects("medium", HelmMode::NoTiller));
        let (delete, apply) = difference(&before, &after);
        assert!(delete.is_empty());
        assert_eq!(described(&apply), ["ResourceQuota team-a/berth-quota"], "the profiles share their limits");
    }

    #[test]
    fn tiller_to_helm_3_deletes_tiller_and_binds_the_identity_anew() {
        let (before, after) = (grant_objects("small", HelmMode::Tiller), grant_objects("small", HelmMode::NoTiller));
        let (delete, apply) = difference(&before, &after);
        assert_eq!(
            described(&delete),
            [
                "RoleBinding team-a/berth.person.dave.u1",
                "Deployment team-a/tiller-deploy",
                "NetworkPolicy team-a/tiller-deny-ingress",
                "RoleBinding team-a/tiller-edit",
                "ServiceAccount team-a/tiller",
            ]
        );
        assert_eq!(described(&apply), ["RoleBinding team-a/berth.person.dave.u1"]);
    }

    #[test]
    fn nothing_differs_nothing_is_done() {
        let same = grant_objects("small", HelmMode::Tiller);
        let (delete, apply) = difference(&same, &same);
        assert!(delete.is_empty() && apply.is_empty());
    }
}
