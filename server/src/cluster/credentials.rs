//! Minting the token of one kubeconfig, and checking the kubeconfig before it is handed out.
//!
//! Each credential has an anchor Secret in the identities namespace, and its token is a TokenRequest for the
//! grant's identity bound to that Secret: deleting the Secret kills the token (the API server refuses it
//! within seconds), so revoking one credential never touches the others.

use app::requests::HelmMode;
use chrono::{DateTime, Utc};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::manifests::{MANAGED_BY, OWNER_LABEL, REQUEST_LABEL};
use super::{Cluster, ClusterError};

/// Labels the anchor Secret with the credential it anchors.
pub const CREDENTIAL_LABEL: &str = "berth.dev/credential";

/// The anchor Secret's name for credential `id`.
pub fn anchor_name(credential_id: &str) -> String {
    format!("credential-{credential_id}")
}

/// Who the token is for and how long it lives.
pub struct TokenFor<'a> {
    pub credential_id: &'a str,
    pub request_id: &'a str,
    pub owner_id: &'a str,
    pub identities_namespace: &'a str,
    /// The identity ServiceAccount's name.
    pub identity: &'a str,
    pub lifetime_seconds: i64,
    /// When it is asked for: its expiry counts from here if the API server does not say.
    pub asked_at: DateTime<Utc>,
}

/// A freshly minted token. Never logged (its `Debug` is redacted) and never stored.
#[derive(Debug)]
pub struct MintedToken {
    pub token: SecretString,
    /// As the API server set it (it may shorten what was asked).
    pub expires_at: DateTime<Utc>,
}

/// Why a kubeconfig failed its check before being handed out.
#[derive(Debug, thiserror::Error)]
pub enum CheckFailed {
    #[error("the kubeconfig cannot be read back: {0}")]
    Unreadable(String),
    #[error("the kubeconfig's token may not {0} in its namespace")]
    CannotAct(&'static str),
    #[error("the kubeconfig's token may {}, which it must not", in_words(.0))]
    MayTooMuch(Vec<&'static str>),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl Cluster {
    /// Creates the anchor Secret and a token for the identity bound to it.
    pub async fn mint_token(&self, request: &TokenFor<'_>) -> Result<MintedToken, ClusterError> {
        let secrets = Api::<Secret>::namespaced(self.client.clone(), request.identities_namespace);
        let anchor: Secret = serde_json::from_value(json!({
            "metadata": {
                "name": anchor_name(request.credential_id),
                "labels": {
                    MANAGED_BY.0: MANAGED_BY.1,
                    REQUEST_LABEL: request.request_id,
                    OWNER_LABEL: request.owner_id,
                    CREDENTIAL_LABEL: request.credential_id,
                },
            },
            "type": "Opaque",
        }))
        .map_err(kube::Error::SerdeError)?;
        let anchor = secrets.create(&PostParams::default(), &anchor).await?;
        let token_request: TokenRequest = serde_json::from_value(json!({
            "spec": {
                "expirationSeconds": request.lifetime_seconds,
                "boundObjectRef": { "apiVersion": "v1", "kind": "Secret", "name": anchor.name_any(), "uid": anchor.uid() },
            },
        }))
        .map_err(kube::Error::SerdeError)?;
        let minted = Api::<ServiceAccount>::namespaced(self.client.clone(), request.identities_namespace)
            .create_token_request(request.identity, &PostParams::default(), &token_request)
            .await;
        let status = match minted {
            Ok(answer) => answer.status,
            Err(error) => {
                // No token, so no use for its anchor.
                self.delete_anchor(request.identities_namespace, request.credential_id).await.ok();
                return Err(error.into());
            }
        };
        // The API server answers a TokenRequest with the token and its expiry; an empty token fails the
        // kubeconfig's check before anyone sees it.
        let status = status.unwrap_or_default();
        let expires_at = status
            .expiration_timestamp
            .and_then(|time| DateTime::from_timestamp(time.0.as_second(), 0))
            .unwrap_or_else(|| request.asked_at + chrono::TimeDelta::seconds(request.lifetime_seconds));
        Ok(MintedToken { token: SecretString::from(status.token.unwrap_or_default()), expires_at })
    }

    /// Deletes a credential's anchor Secret, which invalidates its token. Deleting one that is gone is fine.
    pub async fn delete_anchor(&self, identities_namespace: &str, credential_id: &str) -> Result<(), ClusterError> {
        let secrets = Api::<Secret>::namespaced(self.client.clone(), identities_namespace);
        match secrets.delete(&anchor_name(credential_id), &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// Checks a kubeconfig the way its user will use it, with a client built from that very file: it may list
/// pods in `namespace` and do what its Helm mode needs there (create Deployments with Helm 3, port-forward
/// to Tiller in Tiller mode), and it may not list namespaces, read Secrets in `kube-system`, or read anything
/// in the identities namespace (where the other grants' identities and anchors live). A grant whose identity
/// someone bound to more (a `view` ClusterRoleBinding, say) is refused here, naming everything it may do
/// beyond its namespace. Six API calls, at once; the answer does not depend on which returns first.
pub async fn check_kubeconfig(
    kubeconfig: &SecretString,
    namespace: &str,
    helm_mode: HelmMode,
    identities_namespace: &str,
) -> Result<(), CheckFailed> {
    let parsed =
        Kubeconfig::from_yaml(kubeconfig.expose_secret()).map_err(|e| CheckFailed::Unreadable(e.to_string()))?;
    let mut config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .map_err(|e| CheckFailed::Unreadable(e.to_string()))?;
    config.connect_timeout = Some(super::CONNECT_TIMEOUT);
    config.read_timeout = Some(super::READ_TIMEOUT);
    let client = Client::try_from(config).map_err(|e| CheckFailed::Unreadable(e.to_string()))?;
    let one = ListParams::default().limit(1);

    let (verb, group, resource, subresource, what) = match helm_mode {
        HelmMode::NoTiller => ("create", "apps", "deployments", "", "create Deployments"),
        HelmMode::Tiller => ("create", "", "pods", "portforward", "port-forward to Tiller"),
    };
    let lists_pods = async {
        match Api::<Pod>::namespaced(client.clone(), namespace).list_metadata(&one).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 401 || status.code == 403 => {
                Err(CheckFailed::CannotAct("list pods"))
            }
            Err(other) => Err(CheckFailed::Cluster(other.into())),
        }
    };
    let does_its_mode = async {
        match may(&client, namespace, verb, group, resource, subresource).await? {
            true => Ok(()),
            false => Err(CheckFailed::CannotAct(what)),
        }
    };
    let namespaces =
        async { refused(Api::<Namespace>::all(client.clone()).list_metadata(&one).await, "list namespaces") };
    let system_secrets = async {
        let answer = Api::<Secret>::namespaced(client.clone(), "kube-system").list_metadata(&one).await;
        refused(answer, "read Secrets in kube-system")
    };
    let anchors = async {
        let answer = Api::<Secret>::namespaced(client.clone(), identities_namespace).list_metadata(&one).await;
        refused(answer, "read the anchor Secrets of Berth's identities namespace")
    };
    let identities = async {
        let answer = Api::<ServiceAccount>::namespaced(client.clone(), identities_namespace).list_metadata(&one).await;
        refused(answer, "read the identities in Berth's identities namespace")
    };
    let (lists_pods, does_its_mode, namespaces, system_secrets, anchors, identities) =
        tokio::join!(lists_pods, does_its_mode, namespaces, system_secrets, anchors, identities);
    // Too much access outranks everything else: it is what an admin must act on, and retrying cannot help.
    let mut too_much = Vec::new();
    let mut first_other = None;
    for answer in [lists_pods, does_its_mode, namespaces, system_secrets, anchors, identities] {
        match answer {
            Ok(()) => {}
            Err(CheckFailed::MayTooMuch(what)) => too_much.extend(what),
            Err(other) => {
                first_other.get_or_insert(other);
            }
        }
    }
    match (too_much.is_empty(), first_other) {
        (false, _) => Err(CheckFailed::MayTooMuch(too_much)),
        (true, Some(other)) => Err(other),
        (true, None) => Ok(()),
    }
}

/// "a", "a and b", "a, b and c".
pub fn in_words(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether the client's own user may take this action (a SelfSubjectAccessReview: what the API server would
/// decide, without doing it).
async fn may(
    client: &Client,
    namespace: &str,
    verb: &str,
    group: &str,
    resource: &str,
    subresource: &str,
) -> Result<bool, CheckFailed> {
    let review: SelfSubjectAccessReview = serde_json::from_value(json!({
        "spec": { "resourceAttributes": {
            "namespace": namespace, "verb": verb, "group": group, "resource": resource, "subresource": subresource,
        } },
    }))
    .map_err(|e| CheckFailed::Unreadable(e.to_string()))?;
    let answer = Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| CheckFailed::Cluster(e.into()))?;
    Ok(answer.status.is_some_and(|status| status.allowed))
}

/// `Ok` when the API server refused (403), as it must.
fn refused<T>(answer: Result<T, kube::Error>, what: &'static str) -> Result<(), CheckFailed> {
    match answer {
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(()),
        Ok(_) => Err(CheckFailed::MayTooMuch(vec![what])),
        Err(other) => Err(CheckFailed::Cluster(other.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_a_kubeconfig_may_do_too_much_reads_as_one_phrase() {
        assert_eq!(in_words(&["list namespaces"]), "list namespaces");
        assert_eq!(in_words(&["list namespaces", "read Secrets"]), "list namespaces and read Secrets");
        assert_eq!(in_words(&["a", "b", "c"]), "a, b and c");
        let failed = CheckFailed::MayTooMuch(vec!["list namespaces", "read Secrets in kube-system"]);
        assert_eq!(
            failed.to_string(),
            "the kubeconfig's token may list namespaces and read Secrets in kube-system, which it must not"
        );
    }
}
