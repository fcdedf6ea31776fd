//! Logging: `tracing` events as readable lines (default) or JSON lines, filtered by `log.filter`; and the
//! count of SQL statements run, from sqlx's own per-statement event (whatever `log.filter` says), for
//! `/metrics` and the load benchmark's statements per page view.
//!
//! Policy: never log a token, secret, kubeconfig or full URL with its query string (an OpenID Connect
//! callback carries the authorization code there). The HTTP layer below logs method, path, status and
//! latency only.

use std::sync::LazyLock;
use std::time::Duration;

use axum::{extract::Request, http::Response};
use prometheus_client::metrics::counter::Counter;
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    request_id::RequestId,
    trace::{MakeSpan, OnResponse, TraceLayer},
};
use tracing::{Level, Span};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::{EnvFilter, Layer, fmt, prelude::*};

use crate::config::{LogConfig, LogFormat};

/// SQL statements run by this process (every database, every replica in it), as sqlx reports them.
pub static SQL_STATEMENTS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Installs the global subscriber. Fails if the filter does not parse or a subscriber is already set.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&config.filter)
        .map_err(|e| anyhow::anyhow!("log.filter {:?} is not a valid filter: {e}", config.filter))?;
    let statements = StatementCounter.with_filter(Targets::new().with_target(SQLX_STATEMENT_TARGET, Level::DEBUG));
    let registry = tracing_subscriber::registry().with(statements);
    match config.format {
        LogFormat::Human => registry.with(fmt::layer().compact().with_filter(filter)).try_init()?,
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true).with_current_span(false).with_filter(filter))
            .try_init()?,
    }
    Ok(())
}

/// sqlx's event for each statement it has run (at `debug`, or `warn` when slow).
const SQLX_STATEMENT_TARGET: &str = "sqlx::query";

/// Counts sqlx's per-statement events into [`SQL_STATEMENTS`].
struct StatementCounter;

impl<S: tracing::Subscriber> Layer<S> for StatementCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() == SQLX_STATEMENT_TARGET {
            SQL_STATEMENTS.inc();
        }
    }
}

/// A span per HTTP request with its method, path (never the query) and request id, and one event when the
/// response is ready.
pub fn http_trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), LogResponse> {
    TraceLayer::new_for_http().make_span_with(RequestSpan).on_request(()).on_response(LogResponse)
}

#[derive(Clone, Copy, Debug)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let request_id =
            request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
        tracing::info_span!("http", method = %request.method(), path = request.uri().path(), request_id)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct LogResponse;

impl<B> OnResponse<B> for LogResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        let status = response.status().as_u16();
        let latency_ms = latency.as_secs_f64() * 1000.0;
        if response.status().is_server_error() {
            tracing::warn!(status, latency_ms, "response");
        } else {
            tracing::info!(status, latency_ms, "response");
        }
    }
}

/// An error and its causes on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
