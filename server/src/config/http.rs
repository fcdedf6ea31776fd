//! The HTTP edge: request size and rate limits, which address a request comes from behind proxies, and
//! where the Prometheus metrics are served.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// The largest request body accepted (413 beyond it). Berth's forms and server functions send a few
    /// kilobytes at most; nothing uploads files.
    pub max_body_bytes: usize,
    /// How many proxies in front of Berth append to `X-Forwarded-For` (an ingress controller: 1). 0: the
    /// address of the TCP peer is the client's. Rate limits per address use the address this names, so a
    /// value larger than the real number of proxies lets a client pick its own address.
    pub trusted_proxy_hops: usize,
    pub rate_limits: RateLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { max_body_bytes: 64 * 1024, trusted_proxy_hops: 0, rate_limits: RateLimits::default() }
    }
}

/// Requests per minute, each with a burst of the same size (a bucket of `n` refilled at `n` per minute).
/// Counted per replica. Beyond a limit the answer is 429 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Starts and ends of sign-ins (`/auth/login`, `/auth/callback`) per client address.
    pub sign_in_per_minute: u32,
    /// Server function calls, and the other POSTs (kubeconfig downloads, sign-out), per session (signed in
    /// or not).
    pub server_functions_per_session_per_minute: u32,
    /// The same per client address, whatever the session (an office behind one NAT address shares it, so it
    /// is larger).
    pub server_functions_per_address_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            sign_in_per_minute: 30,
            server_functions_per_session_per_minute: 600,
            server_functions_per_address_per_minute: 3_000,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where `/metrics` (Prometheus text format) is served: a listener of its own, so the ingress that
    /// publishes Berth never publishes its metrics. Unset: no metrics listener.
    pub listen: Option<SocketAddr>,
    /// If set, `/metrics` answers only requests with `Authorization: Bearer <this>` (Prometheus'
    /// `authorization` setting), others get 401. A secret: never serialized, never logged.
    #[serde(default, skip_serializing)]
    pub bearer_token: Option<secrecy::SecretString>,
}

pub(super) fn problems(http: &HttpConfig, metrics: &MetricsConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(token) = &metrics.bearer_token
        && secrecy::ExposeSecret::expose_secret(token).len() < 16
    {
        problems.push("  - metrics.bearer_token: at least 16 characters (a random string)".to_string());
    }
    if http.max_body_bytes < 1024 {
        problems.push("  - http.max_body_bytes: must be at least 1024".to_string());
    }
    let limits = &http.rate_limits;
    if limits.sign_in_per_minute == 0
        || limits.server_functions_per_session_per_minute == 0
        || limits.server_functions_per_address_per_minute == 0
    {
        problems.push("  - http.rate_limits: every limit must be at least 1 per minute".to_string());
    }
    problems
}
