//! What the benchmarks against the local control plane share: Berth's own cluster credential with every API
//! call counted, and a SQLite database of their own with alice signed in. (A folder, so that cargo does not
//! take it for a benchmark of its own.)

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use app::auth::Role;
use berth_server::cluster::{Cluster, external_endpoint};
use berth_server::config::{ClusterConfig, DatabaseConfig};
use berth_server::store::Store;
use berth_server::store::users::SignIn;
use chrono::Utc;
use kube::config::{KubeConfigOptions, Kubeconfig};

pub fn env_path(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: start the local control plane (see the header)"))
}

/// The cluster as Berth reaches it (LOCAL_CLUSTER_BERTH_KUBECONFIG), and the count of API calls it has made
/// (a layer around the client adds one per request).
pub async fn counted_berth_cluster() -> (Cluster, Arc<AtomicU64>) {
    let kubeconfig = Kubeconfig::read_from(env_path("LOCAL_CLUSTER_BERTH_KUBECONFIG")).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    let endpoint = external_endpoint(&ClusterConfig::default(), &config).unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let counting = tower::util::MapRequestLayer::new(move |request: http::Request<kube::client::Body>| {
        counter.fetch_add(1, Ordering::Relaxed);
        request
    });
    let client = kube::client::ClientBuilder::try_from(config).unwrap().with_layer(&counting).build();
    (Cluster::from_client(client, endpoint), calls)
}

/// A SQLite database in `dir` with alice (a developer) signed in; returns it and alice's id.
pub async fn store_with_alice(dir: &Path) -> (Store, String) {
    let url = format!("sqlite://{}", dir.join("berth.db").display());
    let store = Store::open(&DatabaseConfig { url, max_connections: 4 }).await.unwrap();
    let sign_in = SignIn {
        issuer: "https://idp.example",
        subject: "alice",
        email: None,
        display_name: "Alice Anders",
        role: Some(Role::Developer),
        groups: &[],
        at: Utc::now(),
    };
    let alice = store.record_sign_in(&sign_in).await.unwrap();
    (store, alice)
}
