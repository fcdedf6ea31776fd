//! Berth's access to the cluster: the only place that holds a Kubernetes credential.
//!
//! [`manifests`] builds every object of a grant (pure), [`Cluster::apply`] writes one with server-side
//! apply, [`credentials`] mints and checks the tokens of kubeconfigs, [`kubeconfig`] renders them, and
//! [`tiller`] reads how a namespace's Tiller is doing.

pub mod change;
pub mod credentials;
pub mod drift;
pub mod identities;
pub mod kubeconfig;
pub mod manifests;
pub mod quantity;
pub mod revocation;
pub mod tiller;

use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::api::{Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ClusterConfig;

/// The one field manager of everything Berth applies, so server-side apply tracks Berth's fields as one owner.
pub const FIELD_MANAGER: &str = "berth";

/// How long to wait for the API server to accept a connection, and for an answer. Short: a person is waiting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct Cluster {
    client: Client,
    /// Where the kubeconfigs Berth hands out point.
    endpoint: kubeconfig::ApiEndpoint,
}

/// The cluster did not answer (unreachable, timed out), or refused what Berth asked.
#[derive(Debug, thiserror::Error)]
#[error("the Kubernetes API server did not answer")]
pub struct ClusterError(#[from] kube::Error);

impl ClusterError {
    /// The API server's own answer (status code and message) when it refused the request; `None` when it
    /// did not answer at all.
    pub fn refusal(&self) -> Option<(u16, &str)> {
        match &self.0 {
            kube::Error::Api(status) => Some((status.code, status.message.as_str())),
            _ => None,
        }
    }

    /// Whether trying again later may help: no answer, or an answer that says "later" (429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self.refusal() {
            None => true,
            Some((code, _)) => code == 429 || code >= 500,
        }
    }
}

impl Cluster {
    /// Reads the credential (the configured kubeconfig, else `KUBECONFIG`, `~/.kube/config` or the in-cluster
    /// ServiceAccount). Does not contact the API server: Berth starts while the cluster is down.
    pub async fn connect(config: &ClusterConfig) -> anyhow::Result<Self> {
        let mut kube_config = match &config.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path)
                    .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                    .await
                    .with_context(|| format!("unusable kubeconfig {}", path.display()))?
            }
            None => kube::Config::infer().await.context(
                "no cluster credential: set cluster.kubeconfig (BERTH_CLUSTER__KUBECONFIG) or KUBECONFIG, \
                 or run Berth in the cluster with its ServiceAccount",
            )?,
        };
        kube_config.connect_timeout = Some(CONNECT_TIMEOUT);
        kube_config.read_timeout = Some(READ_TIMEOUT);
        let endpoint = external_endpoint(config, &kube_config)?;
        let client = Client::try_from(kube_config).context("cannot build the Kubernetes client")?;
        Ok(Self { client, endpoint })
    }

    /// A cluster reached through `client`, handing out kubeconfigs for `endpoint` (tests and benchmarks
    /// build one from a token of Berth's ServiceAccount, or wrap the client to count its calls).
    pub fn from_client(client: Client, endpoint: kubeconfig::ApiEndpoint) -> Self {
        Self { client, endpoint }
    }

    /// Where the kubeconfigs Berth hands out point.
    pub fn endpoint(&self) -> &kubeconfig::ApiEndpoint {
        &self.endpoint
    }

    /// Applies `object` with server-side apply under [`FIELD_MANAGER`], forcing ownership of the fields Berth
    /// sets (what Berth manages is what Berth says, also after someone edited it by hand). Idempotent:
    /// applying the same object again changes nothing. Returns the object's resourceVersion afterwards.
    pub async fn apply(&self, object: &manifests::Object) -> Result<Option<String>, ClusterError> {
        use manifests::Object;
        Ok(match object {
            Object::Namespace(o) => self.apply_cluster_scoped(o).await?,
            Object::ResourceQuota(o) => self.apply_namespaced(o).await?,
            Object::LimitRange(o) => self.apply_namespaced(o).await?,
            Object::NetworkPolicy(o) => self.apply_namespaced(o).await?,
            Object::ServiceAccount(o) => self.apply_namespaced(o).await?,
            Object::RoleBinding(o) => self.apply_namespaced(o).await?,
            Object::Deployment(o) => self.apply_namespaced(o.as_ref()).await?,
        })
    }

    async fn apply_cluster_scoped<K>(&self, object: &K) -> Result<Option<String>, kube::Error>
    where
        K: Resource<Scope = ClusterResourceScope, DynamicType = ()>
            + Clone
            + Serialize
            + DeserializeOwned
            + std::fmt::Debug,
    {
        patch(&Api::<K>::all(self.client.clone()), object).await
    }

    async fn apply_namespaced<K>(&self, object: &K) -> Result<Option<String>, kube::Error>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Serialize
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let namespace = object.meta().namespace.as_deref().unwrap_or_default();
        patch(&Api::<K>::namespaced(self.client.clone(), namespace), object).await
    }

    /// Creates the grant's namespace, or, if it exists already, applies it only when it is this request's
    /// own (a restart after a crash, or a retry). A namespace someone else created meanwhile is never taken
    /// over: that would hand its contents to the requester. One API call when the namespace is new.
    pub async fn claim_namespace(
        &self,
        namespace: &Namespace,
        request_id: &str,
    ) -> Result<NamespaceClaim, ClusterError> {
        let namespaces = Api::<Namespace>::all(self.client.clone());
        let name = namespace.metadata.name.as_deref().unwrap_or_default();
        let params = PostParams { field_manager: Some(FIELD_MANAGER.to_string()), ..Default::default() };
        match namespaces.create(&params, namespace).await {
            Ok(_) => return Ok(NamespaceClaim::Created),
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => return Err(error.into()),
        }
        let existing = namespaces.get(name).await?;
        // Being deleted (whoever's it was): gone soon, then it can be created.
        if existing.metadata.deletion_timestamp.is_some() {
            return Ok(NamespaceClaim::Terminating);
        }
        if existing.labels().get(manifests::REQUEST_LABEL).map(String::as_str) != Some(request_id) {
            return Ok(NamespaceClaim::Foreign);
        }
        patch(&namespaces, namespace).await?;
        Ok(NamespaceClaim::Reapplied)
    }

    /// Deletes namespace `name` and everything in it, if it is `request_id`'s (Berth's label says so): a
    /// namespace someone else created under that name (the request failed on it) is left alone. The delete
    /// is conditional on the uid read, so a namespace recreated in between is not touched either.
    pub async fn delete_granted_namespace(
        &self,
        name: &str,
        request_id: &str,
    ) -> Result<NamespaceDeleteOutcome, ClusterError> {
        let namespaces = Api::<Namespace>::all(self.client.clone());
        let Some(existing) = namespaces.get_opt(name).await? else { return Ok(NamespaceDeleteOutcome::Gone) };
        if existing.labels().get(manifests::REQUEST_LABEL).map(String::as_str) != Some(request_id) {
            return Ok(NamespaceDeleteOutcome::Foreign);
        }
        if existing.metadata.deletion_timestamp.is_some() {
            return Ok(NamespaceDeleteOutcome::Deleted);
        }
        let params = kube::api::DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: existing.metadata.uid.clone(),
                resource_version: None,
            }),
            ..Default::default()
        };
        match namespaces.delete(name, &params).await {
            Ok(_) => Ok(NamespaceDeleteOutcome::Deleted),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(NamespaceDeleteOutcome::Gone),
            // 409: the uid changed (recreated meanwhile, so not ours any more).
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(NamespaceDeleteOutcome::Foreign),
            Err(error) => Err(error.into()),
        }
    }

    /// Whether namespace `name` exists in the cluster (in any phase, including terminating).
    pub async fn namespace_exists(&self, name: &str) -> Result<bool, ClusterError> {
        Ok(Api::<Namespace>::all(self.client.clone()).get_opt(name).await?.is_some())
    }
}

/// The API server as the kubeconfigs' users reach it: the configured external URL and CA, else the ones
/// Berth itself uses (its kubeconfig's, or in-cluster the ServiceAccount's `ca.crt`).
pub fn external_endpoint(config: &ClusterConfig, own: &kube::Config) -> anyhow::Result<kubeconfig::ApiEndpoint> {
    let url = match &config.external_url {
        Some(url) => url.as_str().trim_end_matches('/').to_string(),
        None => {
            let own_url = own.cluster_url.to_string().trim_end_matches('/').to_string();
            // In the cluster, Berth reaches the API server at an address only pods can use.
            if own_url.contains(".svc") || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
                tracing::warn!(url = %own_url, "cluster.external_url is not set: kubeconfigs will point at Berth's \
                    in-cluster address, which people and CI outside the cluster cannot reach");
            }
            own_url
        }
    };
    let ca_pem = match &config.external_ca_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read cluster.external_ca_file {}", path.display()))?,
        ),
        None => match (&own.root_cert, &own.root_cert_file) {
            (Some(certificates), _) => Some(certificates.iter().map(|der| pem("CERTIFICATE", der)).collect()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the cluster CA {}", path.display()))?,
            ),
            (None, None) => None,
        },
    };
    Ok(kubeconfig::ApiEndpoint { url, ca_pem })
}

/// DER bytes as a PEM block.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// What [`Cluster::delete_granted_namespace`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceDeleteOutcome {
    /// It is being deleted (the controller manager removes its contents, then the namespace).
    Deleted,
    /// There was nothing to delete.
    Gone,
    /// A namespace of that name exists but is not this grant's: left alone.
    Foreign,
}

/// What [`Cluster::claim_namespace`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceClaim {
    Created,
    /// It was this request's already, and is applied again.
    Reapplied,
    /// It exists and is not this request's.
    Foreign,
    /// It is being deleted; it can be created once it is gone.
    Terminating,
}

async fn patch<K>(api: &Api<K>, object: &K) -> Result<Option<String>, kube::Error>
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = object.meta().name.as_deref().unwrap_or_default();
    let applied = api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(object)).await?;
    Ok(applied.meta().resource_version.clone())
}
