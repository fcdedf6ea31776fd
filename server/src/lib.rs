//! Berth's server: serves the Leptos app (pages and server functions), the health probes and the static
//! site, and owns every piece of I/O the app reaches through its ports.
//!
//! `main.rs` only parses arguments and wires signals; everything else is here so tests can build the same
//! server on port 0 with a database of their own.

pub mod api;
pub mod audit_export;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod downloads;
pub mod edge;
pub mod error;
pub mod health;
pub mod metrics;
pub mod notify;
pub mod robot_tokens;
pub mod state;
pub mod store;
pub mod system;
pub mod telemetry;
pub mod users;
pub mod workflow;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use app::ports::Ports;
use axum::handler::Handler as _;
use axum::{Router, http::HeaderName, middleware, routing::get};

use leptos::config::{Env, LeptosOptions};
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_sessions::ExpiredDeletion;

use crate::auth::Auth;
use crate::auth::origin::PublicOrigin;
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::edge::assets::BuiltSite;
use crate::edge::headers::{CspNonce, SecurityHeaders};
use crate::edge::limits::Limiters;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::state::AppState;
use crate::store::Store;
use crate::store::sessions::SessionBackend;
use crate::system::SystemService;
use crate::users::UsersService;
use crate::workflow::admin::AdminService;
use crate::workflow::credentials::CredentialsService;
use crate::workflow::leader::Leadership;
use crate::workflow::members::MembersService;
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
    /// The background worker, started with the server (unless switched off for this replica), and the
    /// leader election that decides whether it works.
    worker: Option<(Arc<Worker>, Arc<Leadership>)>,
    limiters: Arc<Limiters>,
    /// `/metrics`, served on `metrics_listen` when that is set.
    metrics_router: Router,
    metrics_listen: Option<SocketAddr>,
    clock: Clock,
}

impl Berth {
    /// Opens the database, applies migrations and assembles the router. Fails with the reason if the
    /// database cannot be opened or migrated, single sign-on is not configured, or there is no cluster
    /// credential. Neither the identity provider nor the cluster is contacted yet (that happens at the first
    /// sign-in and the first request), so Berth starts while they are down.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`Self::build`] with every part reading the time from `clock` (tests move it ahead).
    pub async fn build_with_clock(config: &Config, clock: Clock) -> anyhow::Result<Self> {
        let auth_config = config.auth.as_ref().context("single sign-on (auth) is not configured")?;
        let auth = Arc::new(Auth::new(auth_config, &config.session, &config.public_url).context("auth")?);
        let started_at = clock.now();
        let store = Store::open(&config.database).await.context("database")?;
        let installation = store
            .installation(&uuid::Uuid::new_v4().to_string(), started_at)
            .await
            .context("database: reading the installation id")?;
        tracing::info!(installation = %installation.id, "database ready");

        let sessions = store.session_store().await.context("database: session table")?;
        let cluster = Cluster::connect(&config.cluster).await.context("cluster")?;
        let rules = Rules::new(&config.requests, &config.policy, &config.cluster).context("requests")?;
        let notifier =
            Notifier::start(&config.notifications, &config.public_url, clock.clone()).context("notifications")?;

        let metrics = Metrics::new();
        let waker = Waker::default();
        let worker = config.provisioning.enabled.then(|| {
            let leadership = Leadership::new(store.clone(), &config.provisioning, metrics.clone(), clock.clone());
            let worker = Arc::new(Worker {
                store: store.clone(),
                cluster: cluster.clone(),
                settings: crate::cluster::manifests::Settings::of(&config.cluster),
                rules: rules.clone(),
                config: config.provisioning.clone(),
                notifier: notifier.clone(),
                waker: waker.clone(),
                leadership: leadership.clone(),
                metrics: metrics.clone(),
                clock: clock.clone(),
            });
            (worker, leadership)
        });
        let policy = rules.policy();
        let rules_for_api = rules.clone();
        let settings = crate::cluster::manifests::Settings::of(&config.cluster);
        let members = Arc::new(MembersService {
            store: store.clone(),
            policy: policy.clone(),
            cluster: cluster.clone(),
            rules: rules.clone(),
            settings: settings.clone(),
            worker: waker.clone(),
            clock: clock.clone(),
        });
        let credentials = Arc::new(CredentialsService {
            store: store.clone(),
            policy: policy.clone(),
            cluster: cluster.clone(),
            config: config.credentials.clone(),
            settings,
            members: members.clone(),
            worker: waker.clone(),
            clock: clock.clone(),
        });
        let credentials_for_api = credentials.clone();
        let members_for_api = members.clone();
        let ports = Ports {
            system: Arc::new(SystemService { installation, started_at, clock: clock.clone() }),
            users: Arc::new(UsersService { store: store.clone() }),
            requests: Arc::new(RequestsService {
                store: store.clone(),
                cluster,
                rules,
                notifier,
                worker: waker.clone(),
                credentials: config.credentials.clone(),
                identities_namespace: config.cluster.identities_namespace.clone(),
                clock: clock.clone(),
            }),
            credentials: credentials.clone(),
            members,
            admin: Arc::new(AdminService { store: store.clone(), policy, worker: waker, clock: clock.clone() }),
        };
        let federation = auth::federation::Federation::new(config.federation.trust.clone()).context("federation")?;
        let api = api::ApiState {
            store: store.clone(),
            auth: auth.clone(),
            federation: Arc::new(federation),
            ports: ports.clone(),
            credentials: credentials_for_api,
            members: members_for_api,
            rules: rules_for_api,
            identities_namespace: config.cluster.identities_namespace.clone(),
            clock: clock.clone(),
        };
        let site = BuiltSite::read(&config.site_root);
        let state = AppState {
            leptos: leptos_options(config, &site),
            store: store.clone(),
            auth,
            credentials,
            metrics: metrics.clone(),
            machine_api: api.clone(),
            public_url: config.public_url.clone(),
            clock: clock.clone(),
        };
        let limiters = Limiters::new(&config.http, auth::session::cookie_name(&config.public_url), metrics.clone());
        let router = with_edge(
            router(state, ports, site, metrics.clone()).merge(api::routes(api)),
            config,
            &auth_config.issuer_url,
            &sessions,
            &limiters,
        );
        Ok(Self {
            router: with_request_tracing(router),
            store: store.clone(),
            sessions,
            worker,
            limiters,
            metrics_router: metrics::router(metrics, store, clock.clone(), config.metrics.bearer_token.clone()),
            metrics_listen: config.metrics.listen,
            clock,
        })
    }

    /// `/metrics`, for tests that serve it on a listener of their own.
    pub fn metrics_router(&self) -> Router {
        self.metrics_router.clone()
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
        let mut background = tokio::task::JoinSet::new();
        let sessions = self.sessions.clone();
        background.spawn(async move {
            if let Err(error) = sessions.continuously_delete_expired(SESSION_CLEANUP_INTERVAL).await {
                tracing::error!(%error, "expired sessions are no longer deleted");
            }
        });
        background.spawn(self.limiters.clone().forget_idle_clients());
        if let Some(address) = self.metrics_listen {
            let metrics_listener =
                TcpListener::bind(address).await.with_context(|| format!("cannot listen for metrics on {address}"))?;
            tracing::info!(%address, "serving /metrics");
            let metrics_router = self.metrics_router.clone();
            background.spawn(async move {
                if let Err(error) = axum::serve(metrics_listener, metrics_router).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            });
        }
        // The worker is stopped with the server wherever it is: everything it does is idempotent, and the
        // leases it holds run out.
        let leadership = self.worker.as_ref().map(|(_, leadership)| leadership.clone());
        if let Some((worker, leadership)) = self.worker {
            background.spawn(leadership.run());
            background.spawn(worker.clone().watch_drift());
            background.spawn(worker.run());
        }
        let signalled = Arc::new(tokio::sync::Notify::new());
        let notify = signalled.clone();
        // The peer's address reaches the rate limits (`ConnectInfo`).
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!(grace_seconds = grace.as_secs(), "shutting down: finishing requests in flight");
            notify.notify_one();
        });
        let clock = self.clock.clone();
        let deadline = async move {
            signalled.notified().await;
            clock.sleep(grace).await;
        };
        tokio::select! {
            result = server.into_future() => result.context("HTTP server")?,
            () = deadline => tracing::warn!("shutdown grace period over: closing remaining connections"),
        }
        background.abort_all();
        // Wait until they have stopped, so no work is in flight when the lease is handed back.
        while background.join_next().await.is_some() {}
        if let Some(leadership) = leadership {
            leadership.release().await;
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Leptos's settings, derived from Berth's configuration so there is one source of truth (Leptos's own
/// `LEPTOS_*` variables are not read).
/// With a release build's `pkg/hash.txt`, the pages load the bundle by its content-hashed names.
fn leptos_options(config: &Config, site: &BuiltSite) -> LeptosOptions {
    let options = LeptosOptions::builder()
        .output_name(app::BUNDLE_NAME)
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(Env::PROD);
    match &site.hash_file {
        // Leptos joins this to the executable's folder; an absolute path stays as it is.
        Some(hash_file) => options.hash_files(true).hash_file(hash_file.to_string_lossy().as_ref().into()).build(),
        None => options.build(),
    }
}

/// Every route: probes, sign-in, pages, server functions, and static files (with the not-found page as
/// fallback), each seeing the request's resolved session.
/// `router` behind the edge: security headers on every answer, then the cheapest refusals first (too large,
/// cross-site, over a rate limit), and the session loaded last.
/// (`issuer_url`: the identity provider's, where the sign-in form may go.)
fn with_edge(
    router: Router,
    config: &Config,
    issuer_url: &str,
    sessions: &SessionBackend,
    limiters: &Arc<Limiters>,
) -> Router {
    let security_headers = Arc::new(SecurityHeaders::new(&config.public_url, issuer_url));
    // Layers run outside-in from the last one added.
    router
        .layer(auth::session::layer(sessions.clone(), &config.session, &config.public_url))
        .layer(middleware::from_fn_with_state(limiters.clone(), edge::limits::limit_rates))
        // Before the rate limits: a cross-site request (another site's page posting in the person's browser)
        // must not spend the person's allowance, which would lock them out.
        .layer(middleware::from_fn_with_state(PublicOrigin::of(&config.public_url), auth::origin::refuse_cross_site))
        .layer(middleware::from_fn_with_state(config.http.max_body_bytes, edge::limits::refuse_large_bodies))
        .layer(middleware::from_fn_with_state(security_headers, edge::headers::set_security_headers))
        .layer(edge::assets::compression())
}

fn router(state: AppState, ports: Ports, site: BuiltSite, metrics: Arc<Metrics>) -> Router {
    let site_root = std::path::PathBuf::from(state.leptos.site_root.as_ref());
    let context = move || {
        provide_context(ports.clone());
        provide_context(site.assets.clone());
        let parts = use_context::<axum::http::request::Parts>();
        // The session `auth::session::resolve` found for this request: pages read it without a round trip.
        provide_context(app::auth::current_session());
        // The nonce of the response's Content-Security-Policy, for the inline scripts Leptos writes (it
        // provides one of its own, which would not match the header).
        if let Some(CspNonce(nonce)) = parts.and_then(|parts| parts.extensions.get::<CspNonce>().cloned()) {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    };
    let leptos = state.leptos.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(auth::routes::routes())
        .merge(downloads::routes())
        .merge(robot_tokens::routes())
        .merge(audit_export::routes())
        .leptos_routes_with_context(&state, generate_route_list(app::App), context.clone(), move || {
            app::shell(leptos.clone())
        })
        // The site's files; anything else is the not-found page.
        .fallback_service(
            Router::new()
                .fallback_service(edge::assets::files(&site_root).not_found_service(
                    file_and_error_handler_with_context::<AppState, _>(context, app::shell).with_state(state.clone()),
                ))
                .layer(middleware::from_fn(edge::assets::cache_files)),
        )
        .layer(middleware::from_fn_with_state(state.clone(), auth::session::resolve))
        // Per route (after routing), so it sees the route's pattern.
        .layer(middleware::from_fn_with_state(metrics, metrics::count_requests))
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
