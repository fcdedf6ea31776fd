//! Berth's access to the cluster: the only place that holds a Kubernetes credential.
//!
//! So far it answers whether a namespace exists, and [`manifests`] builds every object of a grant; the
//! reconciler that applies them follows (issue 6).

pub mod manifests;

use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};

use crate::config::ClusterConfig;

/// How long to wait for the API server to accept a connection, and for an answer. Short: a person is waiting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct Cluster {
    client: Client,
}

/// The cluster did not answer (unreachable, timed out, or refused Berth's credential).
#[derive(Debug, thiserror::Error)]
#[error("the Kubernetes API server did not answer")]
pub struct ClusterError(#[from] kube::Error);

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
        let client = Client::try_from(kube_config).context("cannot build the Kubernetes client")?;
        Ok(Self { client })
    }

    /// Whether namespace `name` exists in the cluster (in any phase, including terminating).
    pub async fn namespace_exists(&self, name: &str) -> Result<bool, ClusterError> {
        Ok(Api::<Namespace>::all(self.client.clone()).get_opt(name).await?.is_some())
    }
}
