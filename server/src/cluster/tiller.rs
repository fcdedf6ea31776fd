//! How a namespace's Tiller is doing, read from its Deployment's status (what the Deployment and ReplicaSet
//! controllers report), for the grant page: "ready" means the grant's objects exist, not that Tiller runs.

use app::requests::{TillerRollout, TillerState};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition};
use kube::Api;

use super::Cluster;
use super::manifests::TILLER_DEPLOYMENT_NAME;

impl Cluster {
    /// Tiller's rollout in `namespace`. Never fails: an unreadable status is `Unknown`, with the reason.
    pub async fn tiller_rollout(&self, namespace: &str) -> TillerRollout {
        match Api::<Deployment>::namespaced(self.client.clone(), namespace).get_opt(TILLER_DEPLOYMENT_NAME).await {
            Ok(deployment) => rollout_of(deployment.as_ref()),
            Err(error) => {
                tracing::warn!(namespace, error = %error, "cannot read Tiller's Deployment");
                TillerRollout {
                    state: TillerState::Unknown,
                    detail: "Berth could not read Tiller's status just now; reload the page in a moment.".into(),
                }
            }
        }
    }
}

/// The rollout as the Deployment reports it. Failing outranks waiting: a ReplicaFailure (the pod cannot even
/// be created, a quota say) or a rollout past its progress deadline will not fix itself.
pub fn rollout_of(deployment: Option<&Deployment>) -> TillerRollout {
    let Some(deployment) = deployment else {
        return TillerRollout {
            state: TillerState::Waiting,
            detail: "Tiller's Deployment is missing; Berth puts it back within seconds.".into(),
        };
    };
    let wanted = deployment.spec.replicas.unwrap_or(1);
    let status = deployment.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let condition = |kind: &str| conditions.iter().find(|c| c.type_.as_deref() == Some(kind));
    let with_status = |kind: &str, status: &str| condition(kind).filter(|c| c.status.as_deref() == Some(status));
    let said = |c: &DeploymentCondition| c.message.clone().unwrap_or_else(|| c.reason.clone().unwrap_or_default());
    let available = status.available_replicas.unwrap_or(0);
    let counted = format!("{available} of {wanted} replicas available");

    if let Some(failure) = with_status("ReplicaFailure", "True") {
        return TillerRollout { state: TillerState::Failing, detail: format!("{counted}: {}", said(failure)) };
    }
    if let Some(stuck) = with_status("Progressing", "False") {
        return TillerRollout { state: TillerState::Failing, detail: format!("{counted}: {}", said(stuck)) };
    }
    let observed = status.observed_generation.unwrap_or(0) >= deployment.metadata.generation.unwrap_or(0);
    if observed && wanted > 0 && available >= wanted && with_status("Available", "True").is_some() {
        return TillerRollout { state: TillerState::Available, detail: format!("{counted}.") };
    }
    let why = condition("Available").filter(|c| c.status.as_deref() != Some("True")).map(said);
    TillerRollout {
        state: TillerState::Waiting,
        detail: match why {
            Some(why) if !why.is_empty() => format!("{counted}: {why}"),
            _ => format!("{counted}."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": { "name": "tiller-deploy", "generation": 2 },
            "spec": { "replicas": 1, "selector": {}, "template": {} },
            "status": status,
        }))
        .unwrap()
    }

    fn condition(kind: &str, status: &str, reason: &str, message: &str) -> serde_json::Value {
        json!({ "type": kind, "status": status, "reason": reason, "message": message })
    }

    #[test]
    fn a_pod_not_available_yet_is_waiting_with_the_controller_s_words() {
        let rollout = rollout_of(Some(&deployment(json!({
            "observedGeneration": 2, "replicas": 1, "unavailableReplicas": 1,
            "conditions": [
                condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                condition("Progressing", "True", "ReplicaSetUpdated", "ReplicaSet \"tiller-deploy-1\" is progressing."),
            ],
        }))));
        assert_eq!(rollout.state, TillerState::Waiting);
        assert_eq!(rollout.detail, "0 of 1 replicas available: Deployment does not have minimum availability.");
    }

    #[test]
    fn an_available_replica_of_the_current_generation_is_available() {
        let available = json!({
            "observedGeneration": 2, "replicas": 1, "availableReplicas": 1, "readyReplicas": 1,
            "conditions": [condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")],
        });
        assert_eq!(rollout_of(Some(&deployment(available.clone()))).state, TillerState::Available);
        // Not yet observed: the controller has not looked at the newest spec.
        let mut stale = available;
        stale["observedGeneration"] = json!(1);
        assert_eq!(rollout_of(Some(&deployment(stale))).state, TillerState::Waiting);
    }

    #[test]
    fn a_pod_that_cannot_be_created_or_a_rollout_past_its_deadline_is_failing() {
        let quota = rollout_of(Some(&deployment(json!({
            "observedGeneration": 2,
            "conditions": [condition("ReplicaFailure", "True", "FailedCreate", "pods \"tiller-deploy-x\" is forbidden: exceeded quota")],
        }))));
        assert_eq!(quota.state, TillerState::Failing);
        assert_eq!(quota.detail, "0 of 1 replicas available: pods \"tiller-deploy-x\" is forbidden: exceeded quota");
        let deadline = rollout_of(Some(&deployment(json!({
            "observedGeneration": 2,
            "conditions": [condition("Progressing", "False", "ProgressDeadlineExceeded", "ReplicaSet \"x\" has timed out progressing.")],
        }))));
        assert_eq!(deadline.state, TillerState::Failing);
        assert!(rollout_of(None).detail.contains("missing"));
    }
}
