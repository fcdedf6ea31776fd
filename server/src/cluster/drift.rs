//! Drift: what a grant's tenant changed of the objects Berth keeps for them, and putting it back.
//!
//! With `edit` in their namespace a tenant may change some of Berth's objects: the NetworkPolicies, the
//! `default` ServiceAccount (its token automount), and in Tiller mode Tiller's ServiceAccount and Deployment.
//! Berth watches every object it labels (one watch per kind, across the cluster, the way Kubernetes
//! controllers do) and keeps the latest state of each in memory, so that finding drift costs no API call: only
//! a correction does. (Berth's other objects, the Namespace, ResourceQuota, LimitRange and RoleBindings, are
//! beyond `edit`.)
//!
//! Comparing: every field Berth sets must be in the live object with the same value; for the NetworkPolicies
//! and Tiller's Deployment nothing else may be there either (a tenant's extra `matchLabels` would let pods out
//! of the policy, an extra container or `hostNetwork` would change what Tiller runs), except the fields the
//! API server fills in with defaults, listed in [`DEFAULTED`]. Labels may have extras.
//!
//! Correcting: a ServiceAccount is applied again (server-side apply, forced); a NetworkPolicy or the
//! Deployment is replaced whole (an apply would keep fields the tenant added, which the tenant's field manager
//! owns), or created again if it was deleted.

use std::collections::BTreeSet;

use futures_util::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, PostParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde_json::Value;

use super::manifests::{MANAGED_BY, Object};
use super::{Cluster, ClusterError};

/// What the API server fills in on a Deployment Berth applies, relative to its `spec` (list positions left
/// out): present in the live object though Berth never set them, and no sign of drift.
const DEFAULTED: [&str; 20] = [
    "progressDeadlineSeconds",
    "revisionHistoryLimit",
    "strategy",
    "template.spec.containers.imagePullPolicy",
    "template.spec.containers.livenessProbe.failureThreshold",
    "template.spec.containers.livenessProbe.httpGet.scheme",
    "template.spec.containers.livenessProbe.periodSeconds",
    "template.spec.containers.livenessProbe.successThreshold",
    "template.spec.containers.ports.protocol",
    "template.spec.containers.readinessProbe.failureThreshold",
    "template.spec.containers.readinessProbe.httpGet.scheme",
    "template.spec.containers.readinessProbe.periodSeconds",
    "template.spec.containers.readinessProbe.successThreshold",
    "template.spec.containers.terminationMessagePath",
    "template.spec.containers.terminationMessagePolicy",
    "template.spec.dnsPolicy",
    "template.spec.restartPolicy",
    "template.spec.schedulerName",
    // The deprecated alias of serviceAccountName, which the API server fills in from it.
    "template.spec.serviceAccount",
    "template.spec.terminationGracePeriodSeconds",
];

/// The latest state of every object Berth labelled, per kind, kept up to date by watches.
#[derive(Clone)]
pub struct LiveObjects {
    network_policies: Store<NetworkPolicy>,
    service_accounts: Store<ServiceAccount>,
    deployments: Store<Deployment>,
}

impl LiveObjects {
    /// Completes once every kind has been listed (before that, an object not seen yet would look deleted).
    pub async fn until_ready(&self) {
        let _ = self.network_policies.wait_until_ready().await;
        let _ = self.service_accounts.wait_until_ready().await;
        let _ = self.deployments.wait_until_ready().await;
    }

    /// How many objects are held, for the figures.
    pub fn len(&self) -> usize {
        self.network_policies.state().len() + self.service_accounts.state().len() + self.deployments.state().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live state of `desired` as JSON; `None` if there is no such object (or it is a kind nobody but
    /// Berth may change, which is not watched).
    pub fn state_of(&self, desired: &Object) -> Option<Value> {
        fn find<K>(store: &Store<K>, object: &K) -> Option<Value>
        where
            K: Resource<DynamicType = ()> + Clone + serde::Serialize,
        {
            let key = ObjectRef::<K>::new(&object.name_any()).within(&object.namespace().unwrap_or_default());
            store.get(&key).and_then(|live| serde_json::to_value(live.as_ref()).ok())
        }
        match desired {
            Object::NetworkPolicy(o) => find(&self.network_policies, o),
            Object::ServiceAccount(o) => find(&self.service_accounts, o),
            Object::Deployment(o) => find(&self.deployments, o.as_ref()),
            _ => None,
        }
    }
}

/// Whether `object` is one a tenant may change with `edit`, and so one Berth watches for drift.
pub fn is_watched(object: &Object, namespace: &str) -> bool {
    match object {
        Object::NetworkPolicy(_) | Object::Deployment(_) => true,
        // Of the ServiceAccounts, those in the granted namespace (the identity lives in Berth's own).
        Object::ServiceAccount(o) => o.metadata.namespace.as_deref() == Some(namespace),
        _ => false,
    }
}

/// What drifted in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// `NetworkPolicy team-a/berth-default`.
    pub object: String,
    /// The fields that differ (`spec.egress`, `automountServiceAccountToken`), or `deleted`.
    pub fields: Vec<String>,
}

impl Drift {
    pub fn describe(&self) -> String {
        format!("{} ({})", self.object, self.fields.join(", "))
    }
}

impl Cluster {
    /// Starts watching every object Berth labels; returns their live states and a stream of the namespaces
    /// in which something changed (to be polled for the states to stay current). The stream restarts its
    /// watches with backoff after errors and never ends.
    pub fn watch_grant_objects(&self) -> (LiveObjects, impl Stream<Item = String> + Send + 'static) {
        let config = watcher::Config::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
        let (network_policies, policies_writer) = reflector::store();
        let (service_accounts, accounts_writer) = reflector::store();
        let (deployments, deployments_writer) = reflector::store();
        // Each stream yields the namespace of every object listed, changed or deleted.
        fn namespaces<K>(
            writer: reflector::store::Writer<K>,
            api: Api<K>,
            config: watcher::Config,
        ) -> impl Stream<Item = String> + Send + 'static
        where
            K: Resource<DynamicType = ()>
                + Clone
                + serde::de::DeserializeOwned
                + std::fmt::Debug
                + Send
                + Sync
                + 'static,
        {
            reflector::reflector(writer, watcher(api, config)).default_backoff().touched_objects().filter_map(
                |touched| async move {
                    match touched {
                        Ok(object) => object.namespace(),
                        Err(error) => {
                            tracing::warn!(error = %crate::telemetry::error_chain(&error), "drift watch: restarting");
                            None
                        }
                    }
                },
            )
        }
        let changes = futures_util::stream::select(
            namespaces(policies_writer, Api::<NetworkPolicy>::all(self.client.clone()), config.clone()),
            futures_util::stream::select(
                namespaces(accounts_writer, Api::<ServiceAccount>::all(self.client.clone()), config.clone()),
                namespaces(deployments_writer, Api::<Deployment>::all(self.client.clone()), config),
            ),
        );
        (LiveObjects { network_policies, service_accounts, deployments }, changes)
    }

    /// Puts `desired` back as Berth made it. Returns whether anything changed in the cluster (an object
    /// already back the way it should be, by someone else or a second replica, is left alone).
    pub async fn correct(&self, desired: &Object, live: &LiveObjects) -> Result<bool, ClusterError> {
        fn version(value: &Value) -> Option<&str> {
            value["metadata"]["resourceVersion"].as_str()
        }
        let before = live.state_of(desired);
        let replaced = match (desired, &before) {
            (Object::NetworkPolicy(o), Some(current)) => Some(self.replace(o, current).await?),
            (Object::Deployment(o), Some(current)) => Some(self.replace(o.as_ref(), current).await?),
            _ => None,
        };
        let after = match replaced {
            Some(version) => version,
            None => self.apply(desired).await?,
        };
        Ok(after.as_deref() != before.as_ref().and_then(version))
    }

    /// Replaces the object with `desired` (its labels merged into the live ones), if it is still at the
    /// resourceVersion of `current`; returns the new resourceVersion.
    async fn replace<K>(&self, desired: &K, current: &Value) -> Result<Option<String>, ClusterError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let mut object = desired.clone();
        let metadata = object.meta_mut();
        metadata.resource_version = current["metadata"]["resourceVersion"].as_str().map(str::to_string);
        let mut labels: std::collections::BTreeMap<String, String> =
            serde_json::from_value(current["metadata"]["labels"].clone()).unwrap_or_default();
        labels.extend(metadata.labels.clone().unwrap_or_default());
        metadata.labels = Some(labels);
        let namespace = object.meta().namespace.clone().unwrap_or_default();
        let api = Api::<K>::namespaced(self.client.clone(), &namespace);
        let params = PostParams { field_manager: Some(super::FIELD_MANAGER.to_string()), ..Default::default() };
        let replaced = api.replace(&object.name_any(), &params, &object).await?;
        Ok(replaced.meta().resource_version.clone())
    }
}

/// How `live` (the object in the cluster, `None` if there is none) differs from `desired`.
pub fn drift(desired: &Object, live: Option<&Value>) -> Option<Drift> {
    let object = desired.describe();
    let Some(live) = live else { return Some(Drift { object, fields: vec!["deleted".to_string()] }) };
    let Ok(desired_json) = serde_json::to_value(desired) else { return None };
    let mut fields = BTreeSet::new();
    subset(&desired_json["metadata"]["labels"], &live["metadata"]["labels"], "metadata.labels", &mut fields);
    match desired {
        Object::ServiceAccount(_) => {
            let key = "automountServiceAccountToken";
            if desired_json.get(key).is_some() && desired_json[key] != live[key] {
                fields.insert(key.to_string());
            }
        }
        Object::NetworkPolicy(_) => exactly(&desired_json["spec"], &live["spec"], "spec", &[], &mut fields),
        Object::Deployment(_) => {
            let defaulted: Vec<String> = DEFAULTED.iter().map(|path| format!("spec.{path}")).collect();
            let defaulted: Vec<&str> = defaulted.iter().map(String::as_str).collect();
            exactly(&desired_json["spec"], &live["spec"], "spec", &defaulted, &mut fields);
        }
        _ => {}
    }
    (!fields.is_empty()).then(|| Drift { object, fields: fields.into_iter().collect() })
}

/// Every key of `desired` is in `live` with the same value (extra keys in `live` are fine).
fn subset(desired: &Value, live: &Value, path: &str, fields: &mut BTreeSet<String>) {
    if let Value::Object(wanted) = desired {
        for (key, value) in wanted {
            if live.get(key) != Some(value) {
                fields.insert(format!("{path}.{key}"));
            }
        }
    }
}

/// `live` is `desired`, except for keys at the `defaulted` paths (list positions left out of paths).
fn exactly(desired: &Value, live: &Value, path: &str, defaulted: &[&str], fields: &mut BTreeSet<String>) {
    match (desired, live) {
        (Value::Object(wanted), Value::Object(found)) => {
            for (key, value) in wanted {
                let at = format!("{path}.{key}");
                match found.get(key) {
                    Some(other) => exactly(value, other, &at, defaulted, fields),
                    None => {
                        fields.insert(at);
                    }
                }
            }
            for key in found.keys().filter(|key| !wanted.contains_key(*key)) {
                let at = format!("{path}.{key}");
                if !defaulted.contains(&at.as_str()) {
                    fields.insert(at);
                }
            }
        }
        (Value::Array(wanted), Value::Array(found)) if wanted.len() == found.len() => {
            for (value, other) in wanted.iter().zip(found) {
                exactly(value, other, path, defaulted, fields);
            }
        }
        _ => {
            if desired != live {
                fields.insert(path.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::manifests::{self, Grant, GrantRef, Settings};
    use crate::config::RequestsConfig;
    use app::requests::HelmMode;
    use serde_json::json;

    fn tiller_objects() -> Vec<Object> {
        let profile = RequestsConfig::default().quota_profiles.remove(0);
        let grant = Grant {
            of: GrantRef {
                request_id: "r-1",
                namespace: "team-a",
                owner_id: "o-1",
                owner_hint: "dave",
                helm_mode: HelmMode::Tiller,
            },
            profile: &profile,
        };
        manifests::objects(&grant, &Settings::default())
    }

    fn find(objects: &[Object], description: &str) -> Object {
        objects.iter().find(|o| o.describe() == description).cloned().unwrap()
    }

    /// The object as the API server stores it: Berth's fields, the server's defaults and its metadata.
    fn as_stored(object: &Object) -> Value {
        let mut value = serde_json::to_value(object).unwrap();
        value["metadata"]["resourceVersion"] = json!("42");
        value["metadata"]["uid"] = json!("u-1");
        value["metadata"]["labels"]["kubernetes.io/extra"] = json!("fine");
        if let Object::Deployment(_) = object {
            let spec = &mut value["spec"];
            spec["strategy"] =
                json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } });
            spec["revisionHistoryLimit"] = json!(10);
            spec["progressDeadlineSeconds"] = json!(600);
            let pod = &mut spec["template"]["spec"];
            pod["restartPolicy"] = json!("Always");
            pod["dnsPolicy"] = json!("ClusterFirst");
            pod["schedulerName"] = json!("default-scheduler");
            pod["terminationGracePeriodSeconds"] = json!(30);
            let container = &mut pod["containers"][0];
            container["imagePullPolicy"] = json!("IfNotPresent");
            container["terminationMessagePath"] = json!("/dev/termination-log");
            container["terminationMessagePolicy"] = json!("File");
            container["ports"][0]["protocol"] = json!("TCP");
            for probe in ["livenessProbe", "readinessProbe"] {
                container[probe]["periodSeconds"] = json!(10);
                container[probe]["successThreshold"] = json!(1);
                container[probe]["failureThreshold"] = json!(3);
                container[probe]["httpGet"]["scheme"] = json!("HTTP");
            }
        }
        value
    }

    #[test]
    fn objects_as_the_api_server_stores_them_have_not_drifted() {
        for object in tiller_objects().iter().filter(|o| is_watched(o, "team-a")) {
            assert_eq!(drift(object, Some(&as_stored(object))), None, "{}", object.describe());
        }
    }

    #[test]
    fn a_deleted_object_a_changed_field_and_an_added_one_are_drift() {
        let objects = tiller_objects();
        let policy = find(&objects, "NetworkPolicy team-a/berth-default");
        assert_eq!(drift(&policy, None).unwrap().fields, ["deleted"]);

        let mut widened = as_stored(&policy);
        widened["spec"]["podSelector"]["matchLabels"] = json!({ "escape": "yes" });
        widened["spec"]["egress"] = json!([{}]);
        assert_eq!(drift(&policy, Some(&widened)).unwrap().fields, ["spec.egress", "spec.podSelector.matchLabels"]);

        let default = find(&objects, "ServiceAccount team-a/default");
        let mut mounted = as_stored(&default);
        mounted["automountServiceAccountToken"] = json!(true);
        let found = drift(&default, Some(&mounted)).unwrap();
        assert_eq!(found.describe(), "ServiceAccount team-a/default (automountServiceAccountToken)");

        let tiller = find(&objects, "Deployment team-a/tiller-deploy");
        let mut tampered = as_stored(&tiller);
        tampered["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
        tampered["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil/tiller");
        let sidecar = tampered["spec"]["template"]["spec"]["containers"][0].clone();
        let mut with_sidecar = as_stored(&tiller);
        with_sidecar["spec"]["template"]["spec"]["containers"].as_array_mut().unwrap().push(sidecar);
        assert_eq!(
            drift(&tiller, Some(&tampered)).unwrap().fields,
            ["spec.template.spec.containers.image", "spec.template.spec.hostNetwork"]
        );
        assert_eq!(drift(&tiller, Some(&with_sidecar)).unwrap().fields, ["spec.template.spec.containers"]);

        let mut unlabelled = as_stored(&default);
        unlabelled["metadata"]["labels"] = json!({});
        assert!(
            drift(&default, Some(&unlabelled))
                .unwrap()
                .fields
                .contains(&"metadata.labels.berth.dev/request".to_string())
        );
    }
}
