//! Probes for the orchestrator: `/healthz` (the process serves HTTP) and `/readyz` (it can do useful work:
//! the database answers). Both are cheap, unauthenticated and reveal no detail beyond ok / not ok.

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use crate::state::AppState;
use crate::telemetry::error_chain;

/// A readiness check that takes longer than this counts as failed: a probe must answer before its own timeout.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(error = %error_chain(&error), "readiness: database check failed");
            "failing"
        }
        Err(_) => {
            tracing::warn!("readiness: database check timed out");
            "failing"
        }
    };
    let ready = database == "ok";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": if ready { "ready" } else { "not ready" }, "checks": { "database": database } })))
}
