//! What every request handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::auth::Auth;
use crate::store::Store;
use crate::workflow::credentials::CredentialsService;

#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub store: Store,
    pub auth: Arc<Auth>,
    /// Kubeconfig downloads (an axum route, not a server function: the answer is a file).
    pub credentials: Arc<CredentialsService>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The machine API's services, for the grant page's form that makes a robot's API token.
    pub machine_api: crate::api::ApiState,
    /// Where people reach Berth (shown in the usage lines of a new API token).
    pub public_url: url::Url,
    pub clock: crate::clock::Clock,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
