//! A running server per test: its own folder, database and port, stopped when the test ends; and a
//! cookie-keeping HTTP client that signs in through the development identity provider like a browser does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use app::auth::SessionView;
use berth_server::{
    Berth,
    config::{AuthConfig, Config, RoleGroups},
};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// What `scripts/test.sh` exported in `variable`; without it (plain `cargo test`, one test from an editor),
/// what `scripts/fixtures.sh fixture` starts or finds running: the services the tests need are started once
/// and reused by later runs.
pub fn service(variable: &str, fixture: &'static str) -> String {
    std::env::var(variable).unwrap_or_else(|_| self::fixture(fixture))
}

/// What `scripts/fixtures.sh name` answers, asked once per test process.
fn fixture(name: &'static str) -> String {
    let fixture = name;
    static STARTED: Mutex<BTreeMap<&'static str, String>> = Mutex::new(BTreeMap::new());
    let mut started = STARTED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(answer) = started.get(fixture) {
        return answer.clone();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fixtures.sh");
    // Its progress goes to the test's stderr; its one line of answer comes on stdout.
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg(fixture)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(output.status.success() && !answer.is_empty(), "scripts/fixtures.sh {fixture} failed (see above)");
    started.insert(fixture, answer.clone());
    answer
}

/// The development identity provider's issuer, started by `scripts/test.sh` (`end2end/dev-idp/main.mjs`).
pub const DEV_IDP_ENV: &str = "DEV_IDP_URL";
/// The dev provider's client secret (its default; `scripts/test.sh` does not change it).
pub const DEV_IDP_CLIENT_SECRET: &str = "berth-dev-secret";
/// Every seeded person's password at the dev provider.
pub const DEV_PASSWORD: &str = "dev";

/// The dev provider's issuer.
pub fn dev_idp_url() -> String {
    service(DEV_IDP_ENV, "idp")
}

/// The local control plane's admin kubeconfig, which `scripts/test.sh` starts and names in this variable.
pub const LOCAL_CLUSTER_ENV: &str = "LOCAL_CLUSTER_KUBECONFIG";

/// The local control plane's admin kubeconfig: for tests that act as a cluster admin (checking what Berth
/// did, creating a namespace behind its back), never for Berth itself.
pub fn local_cluster_kubeconfig() -> PathBuf {
    match std::env::var_os(LOCAL_CLUSTER_ENV) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(fixture("cluster")).join("admin.kubeconfig"),
    }
}

/// `kubectl` of the local control plane's release, as an admin of it.
pub fn kubectl_admin_command() -> std::process::Command {
    let mut command = std::process::Command::new(cluster_bin().join("kubectl"));
    command.arg("--kubeconfig").arg(local_cluster_kubeconfig());
    command
}

/// The folder of the local control plane's binaries (`kubectl` among them).
pub fn cluster_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster.sh");
        let (ok, out) = run(std::process::Command::new("bash").arg(script).arg("bin"));
        assert!(ok, "scripts/cluster.sh bin: {out}");
        PathBuf::from(out.trim())
    })
    .clone()
}

/// Berth's own credential on the local control plane: a token of its least-privilege ServiceAccount
/// (`deploy/base/rbac.yaml`), which `scripts/cluster.sh up` installs and writes. A permission missing from
/// `deploy/` fails the tests that provision or issue kubeconfigs.
pub const BERTH_CLUSTER_ENV: &str = "LOCAL_CLUSTER_BERTH_KUBECONFIG";

pub fn berth_kubeconfig() -> PathBuf {
    match std::env::var_os(BERTH_CLUSTER_ENV) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(fixture("cluster")).join("berth.kubeconfig"),
    }
}

/// Runs `command` to its end; (succeeded, stdout + stderr), as a person at a terminal would read it.
pub fn run(command: &mut std::process::Command) -> (bool, String) {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Where `scripts/helm.sh` built the real Helm clients and Tiller (`helm3`, `helm4`, `helm2`, `tiller`).
pub const HELM_BIN_ENV: &str = "HELM_BIN_DIR";

/// The built `name` (`helm3`, `helm4`, `helm2` or `tiller`).
pub fn helm_tool(name: &str) -> PathBuf {
    let dir = PathBuf::from(service(HELM_BIN_ENV, "helm"));
    let tool = dir.join(name);
    assert!(tool.is_file(), "{} is missing: run `scripts/helm.sh build`", tool.display());
    tool
}

/// Single sign-on against `issuer` with the dev provider's client and the default role groups.
pub fn auth_config(issuer: &str) -> AuthConfig {
    AuthConfig {
        issuer_url: issuer.to_string(),
        client_id: "berth".to_string(),
        client_secret: DEV_IDP_CLIENT_SECRET.to_string().into(),
        redirect_url: None,
        scopes: vec!["email".into(), "profile".into(), "groups".into()],
        groups_claim: "groups".to_string(),
        roles: RoleGroups::default(),
        // The dev provider's public client for the command line.
        cli_client_id: Some("berth-cli".to_string()),
    }
}

pub struct TestServer {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The repository's `public/` folder: the static assets a real site root holds besides the bundle.
pub fn public_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../public")
}

/// A configuration for a server at `address` with its database in `dir`, signing in at the dev provider
/// (which is contacted only when a test signs in), reaching the local control plane as Berth's
/// ServiceAccount. The provisioning worker is off: tests of decisions see an approved request stay
/// approved; the provisioning tests switch it on.
pub fn config_in(dir: &Path, address: SocketAddr) -> Config {
    let issuer = dev_idp_url();
    Config {
        listen: address,
        public_url: Url::parse(&format!("http://{address}")).unwrap(),
        site_root: public_dir(),
        database: berth_server::config::DatabaseConfig {
            url: format!("sqlite://{}", dir.join("db/berth.db").display()),
            ..Config::default().database
        },
        auth: Some(auth_config(&issuer)),
        cluster: berth_server::config::ClusterConfig {
            kubeconfig: Some(berth_kubeconfig()),
            ..Config::default().cluster
        },
        provisioning: berth_server::config::ProvisioningConfig { enabled: false, ..Default::default() },
        ..Config::default()
    }
}

impl TestServer {
    pub async fn start(dir: &TempDir) -> Self {
        Self::start_with(dir, |_| {}).await
    }

    /// Starts a server whose configuration `adjust` may change first.
    pub async fn start_with(dir: &TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut config = config_in(dir.path(), listener.local_addr().expect("address"));
        adjust(&mut config);
        Self::serve(listener, Berth::build(&config).await.expect("server builds")).await
    }

    /// Serves an already built server (tests that break its parts first) on `listener`.
    pub async fn serve(listener: TcpListener, berth: Berth) -> Self {
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(berth.serve(
            listener,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(5),
        ));
        Self { base, stop: Some(stop), task: Some(task) }
    }

    /// A server a test runs elsewhere (a `berth` process), reached at `base`; the helpers work with it alike.
    pub fn at(base: String) -> Self {
        Self { base, stop: None, task: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server the way a signal does and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server stops cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A plain client: no cookies, no redirects followed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A client that keeps cookies (one browser profile) and follows redirects only when told to, so each step
/// of the sign-in round trip can be checked.
pub struct Browser {
    pub http: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Self { http, jar }
    }

    /// The `Cookie` header this browser sends to `server` (for a load tool acting as this browser).
    pub fn cookie_header(&self, server: &TestServer) -> String {
        use reqwest::cookie::CookieStore as _;
        let url = Url::parse(&server.base).expect("the server's URL");
        self.jar.cookies(&url).and_then(|value| value.to_str().ok().map(String::from)).unwrap_or_default()
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).header("accept", "text/html").send().await.unwrap()
    }

    /// Calls a server function the way the hydrated page does (same-origin `fetch`).
    pub async fn call(&self, server: &TestServer, endpoint: &str) -> reqwest::Response {
        self.http
            .post(server.url(&format!("/api/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("origin", &server.base)
            .body("")
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function with form-encoded arguments, as the hydrated page does.
    pub async fn call_with(&self, server: &TestServer, endpoint: &str, args: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(server.url(&format!("/api/{endpoint}")))
            .header("accept", "application/json")
            .header("origin", &server.base)
            .form(args)
            .send()
            .await
            .unwrap()
    }

    /// A new browser signed in at `server` as `user`.
    pub async fn signed_in(server: &TestServer, user: &str) -> Self {
        let browser = Self::new();
        let landing = browser.sign_in(server, user, "/").await;
        assert_eq!(landing.status(), 303, "{user} signs in");
        browser
    }

    /// Who the server thinks this browser is.
    pub async fn session(&self, server: &TestServer) -> SessionView {
        let response = self.call(server, "session").await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Starts a sign-in at `server` (asking to come back to `return_to`), signs in at the dev provider as
    /// `user`, and returns the callback URL the provider sent the browser to, not yet visited.
    pub async fn authorize(&self, server: &TestServer, user: &str, return_to: &str) -> Url {
        let start = self.get(&server.url(&format!("/auth/login?return_to={return_to}"))).await;
        assert_eq!(start.status(), 303, "sign-in starts with a redirect to the provider");
        self.sign_in_at_provider(server, location(&start), user).await
    }

    /// From the provider's authorization URL through its login form to the redirect back to Berth.
    pub async fn sign_in_at_provider(&self, server: &TestServer, authorization: Url, user: &str) -> Url {
        self.through_provider(authorization, user, &server.url("/auth/callback")).await
    }

    /// From the provider's authorization URL through its login form as `user`, up to the redirect to an
    /// address starting with `back_to` (Berth's callback, or the command line's loopback), not visited.
    pub async fn through_provider(&self, authorization: Url, user: &str, back_to: &str) -> Url {
        let mut next = authorization;
        for _ in 0..10 {
            if next.as_str().starts_with(back_to) {
                return next;
            }
            let mut response = self.get(next.as_str()).await;
            // The login form, unless the provider still has a session for this browser.
            if response.status() == 200 && next.path().starts_with("/interaction/") {
                let action = next.join(&format!("{}/login", next.path())).unwrap();
                response =
                    self.http.post(action).form(&[("login", user), ("password", DEV_PASSWORD)]).send().await.unwrap();
            }
            assert!(response.status().is_redirection(), "{next}: {} {:?}", response.status(), response.text().await);
            next = location(&response);
        }
        panic!("the sign-in round trip did not come back to {back_to}");
    }

    /// The whole sign-in; returns Berth's answer to the callback (a redirect to the page asked for).
    pub async fn sign_in(&self, server: &TestServer, user: &str, return_to: &str) -> reqwest::Response {
        let callback = self.authorize(server, user, return_to).await;
        self.get(callback.as_str()).await
    }
}

/// A redirect's target, resolved against the URL that answered.
pub fn location(response: &reqwest::Response) -> Url {
    let value = response.headers().get("location").unwrap_or_else(|| panic!("no Location in {response:?}"));
    response.url().join(value.to_str().unwrap()).unwrap()
}

/// Asks `check` every 100 ms until it answers `Ok`, and returns that; fails the test once `within` has passed,
/// with `what` was awaited and the last answer (what was seen instead). The one way the tests wait for
/// something another process does (the worker, the API server, a controller).
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => {
                assert!(std::time::Instant::now() < deadline, "{what}: not within {within:?}; last seen: {seen}");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
