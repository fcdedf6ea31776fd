//! Berth's server: serves the Leptos app (pages and server functions), the health probes and the static
//! site, and owns every piece of I/O the app reaches through its ports.
//!
//! `main.rs` only parses arguments and wires signals; everything else is here so tests can build the same
//! server on port 0 with a database of their own.

pub mod audit_export;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod downloads;
pub mod error;
pub mod health;
pub mod notify;
pub mod state;
pub mod store;
pub mod system;
pub mod telemetry;
pub mod users;
pub mod workflow;

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use app::ports::Ports;
use axum::{Router, http::HeaderName, middleware, routing::get};
use chrono::Utc;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_sessions::ExpiredDeletion;

use crate::auth::Auth;
use crate::auth::origin::PublicOrigin;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::notify::Notifier;
use crate::state::AppState;
use crate::store::Store;
use crate::system::SystemService;
use crate::users::UsersService;
use crate::workflow::admin::AdminService;
use crate::workflow::credentials::CredentialsService;
use crate::workflow::requests::RequestsService;
use crate::workflow::validation::Rules;
use crate::workflow::worker::{Waker, Worker};

/// How often expired session records are deleted from the database.
const SESSION_CLEANUP_INTERVAL: Duration = Duration::from_secs(5 * 60);

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A server ready to accept connections: its database is open and migrated.
pub struct Berth {
    router: Router,
    store: Store,
    sessions: store::sessions::SessionBackend,
    /// The background worker, started with the server (unless switched off for this replica).
    worker: Option<Arc<Worker>>,
}

impl Berth {
    /// Opens the database, applies migrations and assembles the router. Fails with the reason if the
    /// database cannot be opened or migrated, single sign-on is not configured, or there is no cluster
    /// credential. Neither the identity provider nor the cluster is contacted yet (that happens at the first
    /// sign-in and the first request), so Berth starts while they are down.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let auth_config = config.auth.as_ref().context("single sign-on (auth) is not configured")?;
        let auth = Arc::new(Auth::new(auth_config, &config.session, &config.public_url).context("auth")?);
        let started_at = Utc::now();
        let store = Store::open(&config.database).await.context("database")?;
        let installation = store
            .installation(&uuid::Uuid::new_v4().to_string(), started_at)
            .await
            .context("database: reading the installation id")?;
        tracing::info!(installation = %installation.id, "database ready");

        let sessions = store.session_store().await.context("database: session table")?;
        let cluster = Cluster::connect(&config.cluster).await.context("cluster")?;
        let rules = Rules::new(&config.requests, &config.cluster).context("requests")?;
        let notifier = Notifier::start(&config.notifications, &config.public_url).context("notifications")?;

        let waker = Waker::default();
        let worker = config.provisioning.enabled.then(|| {
            Arc::new(Worker {
                store: store.clone(),
                cluster: cluster.clone(),
                settings: config.cluster.manifest_settings(),
                profiles: config.requests.quota_profiles.clone(),
                config: config.provisioning.clone(),
                notifier: notifier.clone(),
                waker: waker.clone(),
            })
        });
        let credentials = Arc::new(CredentialsService {
            store: store.clone(),
            cluster: cluster.clone(),
            config: config.credentials.clone(),
            identities_namespace: config.cluster.identities_namespace.clone(),
            worker: waker.clone(),
        });
        let ports = Ports {
            system: Arc::new(SystemService { installation, started_at }),
            users: Arc::new(UsersService { store: store.clone() }),
            requests: Arc::new(RequestsService {
                store: store.clone(),
                cluster,
                rules,
                notifier,
                worker: waker.clone(),
                credentials: config.credentials.clone(),
            }),
            credentials: credentials.clone(),
            admin: Arc::new(AdminService { store: store.clone(), worker: waker }),
        };
        let state = AppState { leptos: leptos_options(config), store: store.clone(), auth, credentials };
        let session_layer = auth::session::layer(sessions.clone(), &config.session, &config.public_url);
        let router = router(state, ports)
            .layer(session_layer)
            // Outside the session layer: a cross-site request is refused before its session is even loaded.
            .layer(middleware::from_fn_with_state(
                PublicOrigin::of(&config.public_url),
                auth::origin::refuse_cross_site,
            ));
        Ok(Self { router: with_request_tracing(router), store, sessions, worker })
    }

    /// The database, for tests that need to break it.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish for at most `grace`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> anyhow::Result<()> {
        let cleanup = tokio::spawn(self.sessions.clone().continuously_delete_expired(SESSION_CLEANUP_INTERVAL));
        // Stopped with the server wherever it is: everything it does is idempotent and its lease runs out.
        let worker = self.worker.map(|worker| tokio::spawn(worker.run()));
        let signalled = Arc::new(tokio::sync::Notify::new());
        let notify = signalled.clone();
        let server = axum::serve(listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!(grace_seconds = grace.as_secs(), "shutting down: finishing requests in flight");
            notify.notify_one();
        });
        let deadline = async move {
            signalled.notified().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            result = server.into_future() => result.context("HTTP server")?,
            () = deadline => tracing::warn!("shutdown grace period over: closing remaining connections"),
        }
        cleanup.abort();
        if let Some(worker) = worker {
            worker.abort();
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Leptos's settings, derived from Berth's configuration so there is one source of truth (Leptos's own
/// `LEPTOS_*` variables are not read).
fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(app::BUNDLE_NAME)
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(Env::PROD)
        .build()
}

/// Every route: probes, sign-in, pages, server functions, and static files (with the not-found page as
/// fallback), each seeing the request's resolved session.
fn router(state: AppState, ports: Ports) -> Router {
    let context = move || provide_context(ports.clone());
    let leptos = state.leptos.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(auth::routes::routes())
        .merge(downloads::routes())
        .merge(audit_export::routes())
        .leptos_routes_with_context(&state, generate_route_list(app::App), context.clone(), move || {
            app::shell(leptos.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(context, app::shell))
        .layer(middleware::from_fn_with_state(state.clone(), auth::session::resolve))
        .with_state(state)
}

/// The outermost layers: a request id, set first, seen by the trace span and echoed in the response.
fn with_request_tracing(router: Router) -> Router {
    router
        .layer(telemetry::http_trace_layer())
        // Layers run outside-in from the bottom: the id is set first, seen by the trace span, and echoed back.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
}
