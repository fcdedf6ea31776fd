//! What every request handler can reach.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::store::Store;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub store: Store,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
