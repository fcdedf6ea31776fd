//! Prometheus metrics, served at `/metrics` on a listener of its own (`metrics.listen`), never on the
//! public one.
//!
//! Counted in memory per replica (sum them across replicas): HTTP requests and their latency by route,
//! sign-ins by outcome, provisioning and revocation durations and failures, answers refused by a rate
//! limit, drift corrections and the objects the drift watch holds, and whether this replica leads the
//! reconciler. Read from the database at each scrape, so every
//! replica reports the same: requests by state and the reconciler's queue depth.
//!
//! Labels come from closed sets only (a route's pattern, never its path), so nobody can grow the series
//! by sending odd URLs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;
use crate::store::Store;
use crate::telemetry::error_chain;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric Berth keeps; shared by the HTTP layer, the sign-in, the worker and the leader election.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    sign_ins: Family<OutcomeLabels, Counter>,
    provisioning_duration: Histogram,
    provisioning_failures: Family<OutcomeLabels, Counter>,
    revocation_duration: Histogram,
    revocation_failures: Counter,
    rate_limited: Family<LimitLabels, Counter>,
    drift_corrections: Family<KindLabels, Counter>,
    watched_objects: Gauge,
    leader: Gauge,
    requests: Family<StateLabels, Gauge>,
    queue_depth: Gauge,
}

/// HTTP latency buckets: 1 ms to about 16 s.
fn http_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Reconcile buckets: 10 ms to about 80 s (a provisioning with retries takes seconds).
fn work_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let metrics = Self {
            registry: Registry::with_prefix("berth"),
            http_requests: Family::default(),
            http_duration: Histograms::new_with_constructor(http_buckets),
            sign_ins: Family::default(),
            provisioning_duration: work_buckets(),
            provisioning_failures: Family::default(),
            revocation_duration: work_buckets(),
            revocation_failures: Counter::default(),
            rate_limited: Family::default(),
            drift_corrections: Family::default(),
            watched_objects: Gauge::default(),
            leader: Gauge::default(),
            requests: Family::default(),
            queue_depth: Gauge::default(),
        };
        Arc::new(metrics.registered())
    }

    /// Registers every metric (each handle shares its value with the clone the registry keeps).
    fn registered(mut self) -> Self {
        let registry = &mut self.registry;
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern and status",
            self.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response's head, by route pattern",
            self.http_duration.clone(),
        );
        registry.register("sign_ins", "Sign-in round trips finished, by outcome", self.sign_ins.clone());
        registry.register(
            "provisioning_duration_seconds",
            "From an attempt's start to the grant being ready",
            self.provisioning_duration.clone(),
        );
        registry.register(
            "provisioning_failures",
            "Provisioning attempts that did not finish: failed (the cluster refused) or retrying (transient)",
            self.provisioning_failures.clone(),
        );
        registry.register(
            "revocation_duration_seconds",
            "From an attempt's start to the access being gone",
            self.revocation_duration.clone(),
        );
        registry.register(
            "revocation_failures",
            "Revocation attempts the cluster did not let finish (retried)",
            self.revocation_failures.clone(),
        );
        registry.register("rate_limited", "Requests refused with 429, by limit", self.rate_limited.clone());
        registry.register(
            "drift_corrections",
            "Objects of a grant put back after a tenant changed or deleted them, by kind",
            self.drift_corrections.clone(),
        );
        registry.register(
            "drift_watched_objects",
            "Objects Berth labelled that its drift watch holds in memory",
            self.watched_objects.clone(),
        );
        registry.register("leader", "1 if this replica's worker leads the reconciler, else 0", self.leader.clone());
        registry.register("requests", "Namespace requests by state (from the database)", self.requests.clone());
        registry.register(
            "sql_statements",
            "SQL statements this process has run (from sqlx's per-statement event; 0 without `telemetry::init`)",
            crate::telemetry::SQL_STATEMENTS.clone(),
        );
        registry.register(
            "reconcile_queue_depth",
            "Reconciler work due now: provisioning, revocations, namespace deletions, anchors (from the database)",
            self.queue_depth.clone(),
        );
        self
    }

    pub fn sign_in(&self, outcome: &'static str) {
        self.sign_ins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn provisioned(&self, took: Duration) {
        self.provisioning_duration.observe(took.as_secs_f64());
    }

    /// `outcome`: "failed" (given up, for an admin to retry) or "retrying".
    pub fn provisioning_failed(&self, outcome: &'static str) {
        self.provisioning_failures.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn revoked(&self, took: Duration) {
        self.revocation_duration.observe(took.as_secs_f64());
    }

    pub fn revocation_failed(&self) {
        self.revocation_failures.inc();
    }

    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited.get_or_create(&LimitLabels { limit }).inc();
    }

    /// `kind`: the Kubernetes kind of the object put back.
    pub fn drift_corrected(&self, kind: &'static str) {
        self.drift_corrections.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn set_watched_objects(&self, count: usize) {
        self.watched_objects.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The text exposition, after reading the database's figures (left at their last values if it fails).
    async fn render(&self, store: &Store, clock: &Clock) -> String {
        match store.requests_by_state().await {
            Ok(counts) => {
                self.requests.clear();
                for (state, count) in counts {
                    self.requests.get_or_create(&StateLabels { state }).set(count);
                }
            }
            Err(error) => tracing::warn!(error = %error_chain(&error), "metrics: cannot count requests"),
        }
        match store.reconcile_queue_depth(clock.now()).await {
            Ok(depth) => {
                self.queue_depth.set(depth);
            }
            Err(error) => tracing::warn!(error = %error_chain(&error), "metrics: cannot read the queue depth"),
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Counts every request by its route pattern (what the router matched, or a fixed name for static files and
/// everything unmatched) and times it to the response's head.
pub async fn count_requests(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_string(),
        None if request.uri().path().starts_with("/pkg/") => "/pkg/{file}".to_string(),
        None => "unmatched".to_string(),
    };
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics
        .http_duration
        .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    metrics.http_requests.get_or_create(&HttpLabels { method, route, status }).inc();
    response
}

/// The metrics listener's routes: `/metrics` only, behind `bearer_token` if there is one.
pub fn router(metrics: Arc<Metrics>, store: Store, clock: Clock, bearer_token: Option<SecretString>) -> Router {
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let (metrics, store, clock, bearer_token) =
                (metrics.clone(), store.clone(), clock.clone(), bearer_token.clone());
            async move {
                if let Some(expected) = &bearer_token
                    && !bears(&headers, expected)
                {
                    let challenge = HeaderValue::from_static("Bearer realm=\"berth-metrics\"");
                    return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response();
                }
                let body = metrics.render(&store, &clock).await;
                let content_type =
                    HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
                (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
            }
        }),
    )
}

/// Whether `headers` carry `Authorization: Bearer <expected>`, compared in constant time (the time taken
/// tells nothing of how much of a guess was right).
fn bears(headers: &HeaderMap, expected: &SecretString) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(given) = given.strip_prefix("Bearer ") else { return false };
    let (given, expected) = (given.as_bytes(), expected.expose_secret().as_bytes());
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
