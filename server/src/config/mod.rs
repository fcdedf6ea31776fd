//! Typed, layered configuration.
//!
//! Layers, each overriding the one before: built-in defaults, then a TOML file (`--config PATH` or
//! `BERTH_CONFIG`), then environment variables prefixed `BERTH_`, with `__` between nested keys
//! (`BERTH_DATABASE__URL` sets `database.url`). Unknown keys are errors that name the key and where it came
//! from, so a typo never silently falls back to a default. Start-up stops at the first problem.

mod federation;
mod http;
mod policy;
mod workflow;

pub use federation::{FederationConfig, TrustRule};
pub use http::{HttpConfig, MetricsConfig, RateLimits};
pub use policy::{ApprovalSlotConfig, AutoApproveConfig, PolicyConfig, StageConfig};

pub use workflow::{
    ClusterConfig, ContainerDefaults, CredentialsConfig, NotificationsConfig, ProvisioningConfig, QuotaProfile,
    RequestsConfig, TEAM_PLACEHOLDER,
};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

/// Names the configuration file; read by [`Config::load`], so it is not itself a configuration key.
pub const CONFIG_FILE_ENV: &str = "BERTH_CONFIG";
const ENV_PREFIX: &str = "BERTH_";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on. Loopback by default: put a TLS-terminating proxy in front.
    pub listen: SocketAddr,
    /// The address people type into their browser (scheme, host, port; no path). It decides whether cookies are
    /// `Secure` (https), which `Origin` state-changing requests must come from, and the default sign-in
    /// redirect URL.
    pub public_url: Url,
    /// Folder with the built site: the WASM bundle and stylesheet under `pkg/`, and the public assets.
    pub site_root: PathBuf,
    /// How long to let in-flight requests finish after SIGTERM or Ctrl-C before exiting anyway.
    pub shutdown_grace_seconds: u64,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    /// Single sign-on. Required: Berth has no local accounts.
    pub auth: Option<AuthConfig>,
    pub session: SessionConfig,
    pub requests: RequestsConfig,
    /// Decisions by stage: what each allows, the approvals it needs, what is approved at once.
    pub policy: PolicyConfig,
    pub notifications: NotificationsConfig,
    pub cluster: ClusterConfig,
    pub provisioning: ProvisioningConfig,
    pub credentials: CredentialsConfig,
    pub http: HttpConfig,
    pub metrics: MetricsConfig,
    /// Trust rules for CI systems' OIDC tokens (workload identity federation).
    pub federation: FederationConfig,
}

/// The OpenID Connect provider and how its groups map to Berth's roles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The provider's issuer, exactly as the provider spells it (a trailing slash matters);
    /// `/.well-known/openid-configuration` below it is read for everything else. https, except on loopback.
    pub issuer_url: String,
    pub client_id: String,
    /// Never serialized, never logged (its `Debug` prints a placeholder).
    #[serde(skip_serializing)]
    pub client_secret: SecretString,
    /// Where the provider sends the browser back; defaults to `public_url` + `/auth/callback`. Register it at
    /// the provider, together with `public_url` + `/` as the post-logout redirect.
    #[serde(default)]
    pub redirect_url: Option<Url>,
    /// Scopes asked for besides `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID token claim that lists the person's groups.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    #[serde(default)]
    pub roles: RoleGroups,
    /// The public client (no secret) the `berth` command line signs in with, at the same provider; register
    /// `http://127.0.0.1/callback` as its redirect (a loopback address, any port: RFC 8252). Unset: the
    /// command line cannot sign in people (robots' tokens still work).
    #[serde(default)]
    pub cli_client_id: Option<String>,
}

/// Which groups grant which role. A person gets the highest role any of their groups grants; admins may do
/// everything approvers may, and approvers everything developers may. Someone in none of these groups can
/// sign in but sees only a "no access" page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleGroups {
    pub developer: Vec<String>,
    pub approver: Vec<String>,
    pub admin: Vec<String>,
}

impl Default for RoleGroups {
    fn default() -> Self {
        Self {
            developer: vec!["berth-developers".to_string()],
            approver: vec!["berth-approvers".to_string()],
            admin: vec!["berth-admins".to_string()],
        }
    }
}

fn default_scopes() -> Vec<String> {
    ["email", "profile", "groups"].map(String::from).to_vec()
}

fn default_groups_claim() -> String {
    "groups".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// A session unused for this long ends (the cookie's lifetime, renewed by every request).
    pub idle_seconds: u64,
    /// A session ends this long after sign-in however active it is, so role changes at the provider reach
    /// Berth by the next sign-in at the latest.
    pub absolute_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter directive, for example `info` or `info,berth_server=debug`.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event, for terminals.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// A `sqlite:` URL (the file and its folder are created when missing) or a `postgres:` URL (the database
    /// must exist; for several replicas).
    pub url: String,
    pub max_connections: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: Url::parse("http://127.0.0.1:3000").expect("a valid literal URL"),
            site_root: PathBuf::from("target/site"),
            shutdown_grace_seconds: 20,
            log: LogConfig { format: LogFormat::Human, filter: "info".to_string() },
            database: DatabaseConfig { url: "sqlite://data/berth.db".to_string(), max_connections: 8 },
            auth: None,
            session: SessionConfig { idle_seconds: 60 * 60, absolute_seconds: 12 * 60 * 60 },
            requests: RequestsConfig::default(),
            policy: PolicyConfig::default(),
            notifications: NotificationsConfig::default(),
            cluster: ClusterConfig::default(),
            provisioning: ProvisioningConfig::default(),
            credentials: CredentialsConfig::default(),
            http: HttpConfig::default(),
            metrics: MetricsConfig::default(),
            federation: FederationConfig::default(),
        }
    }
}

/// Why the configuration could not be loaded, naming the key and where its value came from.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    /// Loads the layers described in the module documentation. `file` wins over `BERTH_CONFIG`.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let file = file.map(Path::to_path_buf).or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from));
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            // A file that was asked for but is missing is an error, not an empty layer.
            if !path.is_file() {
                return Err(ConfigError { problems: vec![format!("configuration file {} not found", path.display())] });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = Env::prefixed(ENV_PREFIX).split("__").ignore(&["config"]);
        let config: Config = figment
            .merge(env)
            .extract()
            .map_err(|error| ConfigError { problems: error.into_iter().map(|e| format!("  - {e}")).collect() })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if !["sqlite:", "postgres:", "postgresql:"].iter().any(|scheme| self.database.url.starts_with(scheme)) {
            problems.push(format!(
                "  - database.url: {:?} is neither a sqlite: nor a postgres: URL",
                redact_url(&self.database.url)
            ));
        }
        if self.database.max_connections == 0 {
            problems.push("  - database.max_connections: must be at least 1".to_string());
        }
        if !matches!(self.public_url.scheme(), "http" | "https")
            || self.public_url.host().is_none()
            || self.public_url.path() != "/"
            || self.public_url.query().is_some()
        {
            problems.push(format!(
                "  - public_url: {:?} must be an http(s) URL with a host and no path, like https://berth.example.com",
                self.public_url.as_str()
            ));
        }
        // Over plain http the session cookie and every kubeconfig would cross the network readable; only a
        // demo on this machine may do without TLS.
        if self.public_url.scheme() == "http" && self.public_url.host().is_some() && !is_loopback(&self.public_url) {
            problems.push(format!(
                "  - public_url: {:?} must use https (put a TLS proxy in front of Berth); plain http is only for \
                 127.0.0.1 or localhost",
                self.public_url.as_str()
            ));
        }
        match &self.auth {
            None => problems.push(
                "  - auth: single sign-on is not configured: set auth.issuer_url, auth.client_id and \
                 auth.client_secret (BERTH_AUTH__ISSUER_URL, ...)"
                    .to_string(),
            ),
            Some(auth) => {
                match Url::parse(&auth.issuer_url) {
                    Ok(url) if url.scheme() == "https" => {}
                    Ok(url) if url.scheme() == "http" && is_loopback(&url) => {}
                    Ok(_) => problems.push(format!(
                        "  - auth.issuer_url: {:?} must use https (plain http only for a provider on 127.0.0.1)",
                        auth.issuer_url
                    )),
                    Err(error) => {
                        problems.push(format!("  - auth.issuer_url: {:?} is not a URL: {error}", auth.issuer_url))
                    }
                }
                if auth.client_id.trim().is_empty() {
                    problems.push("  - auth.client_id: must not be empty".to_string());
                }
                if secrecy::ExposeSecret::expose_secret(&auth.client_secret).is_empty() {
                    problems.push("  - auth.client_secret: must not be empty".to_string());
                }
                if auth.groups_claim.trim().is_empty() {
                    problems.push("  - auth.groups_claim: must not be empty".to_string());
                }
                let roles = &auth.roles;
                if roles.developer.is_empty() && roles.approver.is_empty() && roles.admin.is_empty() {
                    problems.push("  - auth.roles: no group grants any role, so nobody could use Berth".to_string());
                }
            }
        }
        if self.session.idle_seconds == 0 || self.session.absolute_seconds < self.session.idle_seconds {
            problems.push(
                "  - session: idle_seconds must be at least 1 and absolute_seconds at least idle_seconds".to_string(),
            );
        }
        problems.extend(workflow::problems(
            &self.requests,
            &self.notifications,
            &self.cluster,
            &self.provisioning,
            &self.credentials,
        ));
        problems.extend(policy::problems(&self.policy, &self.requests, self.auth.as_ref().map(|auth| &auth.roles)));
        problems.extend(http::problems(&self.http, &self.metrics));
        problems.extend(federation::problems(&self.federation));
        if problems.is_empty() { Ok(()) } else { Err(ConfigError { problems }) }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// A database URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
// figment's `Jail` closures must return its (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    /// Runs `test` in a figment jail (its own folder; variables it sets are undone afterwards).
    ///
    /// NB: not `Jail::clear_env`: the environment is the process's, and clearing it races with tests in other
    /// threads that read theirs (`TEST_POSTGRES_URL`, ...). So `BERTH_*` variables of the shell running the
    /// tests do reach these tests; `scripts/test.sh` exports none.
    fn in_jail(test: impl FnOnce(&mut Jail) -> figment::error::Result<()>) {
        Jail::expect_with(test);
    }

    /// Loads with single sign-on configured through the environment, as most tests need.
    fn load_in(jail: &mut Jail, file: Option<&str>) -> Result<Config, ConfigError> {
        jail.set_env("BERTH_AUTH__ISSUER_URL", "https://idp.example.com/realms/x");
        jail.set_env("BERTH_AUTH__CLIENT_ID", "berth");
        jail.set_env("BERTH_AUTH__CLIENT_SECRET", "s3cret-value");
        load_without_auth_defaults(jail, file)
    }

    fn load_without_auth_defaults(jail: &Jail, file: Option<&str>) -> Result<Config, ConfigError> {
        Config::load(file.map(|f| jail.directory().join(f)).as_deref())
    }

    #[test]
    fn defaults_listen_on_loopback_port_3000_with_sqlite_under_data() {
        in_jail(|jail: &mut Jail| {
            let config = load_in(jail, None).expect("defaults load");
            assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
            assert_eq!(config.database.url, "sqlite://data/berth.db");
            assert_eq!(config.log.format, LogFormat::Human);
            Ok(())
        });
    }

    #[test]
    fn file_overrides_defaults_and_environment_overrides_file() {
        in_jail(|jail: &mut Jail| {
            jail.create_file(
                "berth.toml",
                r#"
                    listen = "127.0.0.1:4000"
                    [log]
                    format = "json"
                    [database]
                    url = "sqlite://from-file.db"
                "#,
            )?;
            jail.set_env("BERTH_DATABASE__URL", "sqlite://from-env.db");
            jail.set_env("BERTH_SHUTDOWN_GRACE_SECONDS", "3");
            let config = load_in(jail, Some("berth.toml")).expect("layers load");
            assert_eq!(config.listen.port(), 4000, "from the file");
            assert_eq!(config.log.format, LogFormat::Json, "from the file");
            assert_eq!(config.log.filter, "info", "default kept where nothing overrides it");
            assert_eq!(config.database.url, "sqlite://from-env.db", "environment wins over the file");
            assert_eq!(config.shutdown_grace_seconds, 3);
            Ok(())
        });
    }

    #[test]
    fn config_file_named_by_environment_is_read() {
        in_jail(|jail: &mut Jail| {
            jail.create_file("custom.toml", "listen = \"127.0.0.1:4100\"")?;
            jail.set_env("BERTH_CONFIG", jail.directory().join("custom.toml").display());
            assert_eq!(load_in(jail, None).expect("loads").listen.port(), 4100);
            Ok(())
        });
    }

    #[test]
    fn unknown_key_in_file_is_rejected_by_name() {
        in_jail(|jail: &mut Jail| {
            jail.create_file("berth.toml", "[database]\nurl = \"sqlite://x.db\"\nmax_conections = 3\n")?;
            let message = load_in(jail, Some("berth.toml")).expect_err("typo rejected").to_string();
            assert!(message.contains("max_conections"), "{message}");
            assert!(message.contains("berth.toml"), "says which file: {message}");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_variable_is_rejected_by_name() {
        in_jail(|jail: &mut Jail| {
            jail.set_env("BERTH_LISTNE", "127.0.0.1:1");
            let message = load_in(jail, None).expect_err("typo rejected").to_string();
            assert!(message.contains("listne"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn malformed_values_are_reported_with_their_key() {
        for (variable, value, key) in [
            ("BERTH_LISTEN", "not-an-address", "LISTEN"),
            ("BERTH_LOG__FORMAT", "xml", "LOG.FORMAT"),
            ("BERTH_DATABASE__MAX_CONNECTIONS", "many", "DATABASE.MAX_CONNECTIONS"),
        ] {
            in_jail(|jail: &mut Jail| {
                jail.set_env(variable, value);
                let message = load_in(jail, None).expect_err("rejected").to_string();
                assert!(message.contains(key), "{variable}: {message}");
                Ok(())
            });
        }
    }

    #[test]
    fn missing_config_file_is_an_error() {
        in_jail(|jail: &mut Jail| {
            let message = load_in(jail, Some("absent.toml")).expect_err("rejected").to_string();
            assert!(message.contains("absent.toml") && message.contains("not found"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn single_sign_on_is_required_and_named_in_the_error() {
        in_jail(|jail: &mut Jail| {
            let message = load_without_auth_defaults(jail, None).expect_err("rejected").to_string();
            assert!(message.contains("auth") && message.contains("issuer_url"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn auth_defaults_ask_for_groups_and_map_the_berth_groups() {
        in_jail(|jail: &mut Jail| {
            let config = load_in(jail, None).expect("loads");
            let auth = config.auth.expect("configured");
            assert_eq!(auth.groups_claim, "groups");
            assert_eq!(auth.scopes, ["email", "profile", "groups"]);
            assert_eq!(auth.roles.admin, ["berth-admins"]);
            assert_eq!(auth.redirect_url, None, "derived from public_url when unset");
            Ok(())
        });
    }

    #[test]
    fn client_secret_never_shows_in_debug_output() {
        in_jail(|jail: &mut Jail| {
            let config = load_in(jail, None).expect("loads");
            let printed = format!("{config:?}");
            assert!(!printed.contains("s3cret-value"), "secret printed: {printed}");
            Ok(())
        });
    }

    #[test]
    fn role_groups_from_a_file_replace_the_defaults() {
        in_jail(|jail: &mut Jail| {
            jail.create_file(
                "berth.toml",
                "[auth.roles]\ndeveloper = [\"eng\"]\napprover = [\"leads\"]\nadmin = [\"platform\"]\n",
            )?;
            let roles = load_in(jail, Some("berth.toml")).expect("loads").auth.expect("configured").roles;
            assert_eq!(roles.developer, ["eng"]);
            assert_eq!(roles.approver, ["leads"]);
            assert_eq!(roles.admin, ["platform"]);
            Ok(())
        });
    }

    #[test]
    fn public_url_must_be_an_origin_without_a_path() {
        for bad in ["https://berth.example.com/portal", "ftp://berth.example.com"] {
            in_jail(|jail: &mut Jail| {
                jail.set_env("BERTH_PUBLIC_URL", bad);
                let message = load_in(jail, None).expect_err("rejected").to_string();
                assert!(message.contains("public_url"), "{bad}: {message}");
                Ok(())
            });
        }
    }

    #[test]
    fn a_plain_http_public_url_is_accepted_on_loopback_only() {
        for (url, accepted) in [
            ("http://127.0.0.1:3000", true),
            ("http://localhost:8080", true),
            ("http://[::1]:3000", true),
            ("https://berth.example.com", true),
            ("http://berth.example.com", false),
            ("http://10.0.0.5:3000", false),
        ] {
            in_jail(|jail: &mut Jail| {
                jail.set_env("BERTH_PUBLIC_URL", url);
                match load_in(jail, None) {
                    Ok(_) => assert!(accepted, "{url} must be refused"),
                    Err(error) => {
                        let message = error.to_string();
                        assert!(!accepted, "{url}: {message}");
                        assert!(message.contains("public_url") && message.contains("https"), "{message}");
                    }
                }
                Ok(())
            });
        }
    }

    #[test]
    fn a_plain_http_issuer_is_accepted_on_loopback_only() {
        in_jail(|jail: &mut Jail| {
            load_in(jail, None).expect("https issuer");
            jail.set_env("BERTH_AUTH__ISSUER_URL", "http://127.0.0.1:5556");
            assert_eq!(
                load_without_auth_defaults(jail, None).expect("loopback").auth.unwrap().issuer_url,
                "http://127.0.0.1:5556"
            );
            jail.set_env("BERTH_AUTH__ISSUER_URL", "http://idp.example.com");
            let message = load_without_auth_defaults(jail, None).expect_err("rejected").to_string();
            assert!(message.contains("auth.issuer_url") && message.contains("https"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn session_lifetimes_must_be_consistent() {
        in_jail(|jail: &mut Jail| {
            jail.set_env("BERTH_SESSION__IDLE_SECONDS", "600");
            jail.set_env("BERTH_SESSION__ABSOLUTE_SECONDS", "60");
            let message = load_in(jail, None).expect_err("rejected").to_string();
            assert!(message.contains("absolute_seconds"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn postgres_urls_are_accepted() {
        in_jail(|jail: &mut Jail| {
            jail.set_env("BERTH_DATABASE__URL", "postgres://berth:pw@db.internal:5432/berth?sslmode=require");
            assert!(load_in(jail, None).expect("accepted").database.url.starts_with("postgres://"));
            Ok(())
        });
    }

    #[test]
    fn other_databases_are_rejected_without_echoing_the_password() {
        in_jail(|jail: &mut Jail| {
            jail.set_env("BERTH_DATABASE__URL", "mysql://berth:hunter2@db/berth");
            let message = load_in(jail, None).expect_err("rejected").to_string();
            assert!(message.contains("database.url"), "{message}");
            assert!(!message.contains("hunter2"), "password leaked: {message}");
            Ok(())
        });
    }

    #[test]
    fn request_defaults_offer_three_profiles_smallest_first() {
        in_jail(|jail: &mut Jail| {
            let requests = load_in(jail, None).expect("loads").requests;
            let names: Vec<_> = requests.quota_profiles.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["small", "medium", "large"]);
            assert_eq!(requests.quota_profiles[0].quota["requests.cpu"], "2");
            assert_eq!(requests.stages, ["test", "staging", "pre-production", "production"]);
            assert!(requests.tiller_enabled && !requests.approvers_may_decide_own);
            Ok(())
        });
    }

    /// The example the README documents is the demo's configuration, and it loads.
    #[test]
    fn the_documented_policy_example_loads_and_is_the_one_the_readme_shows() {
        let example_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/policy.example.toml");
        let example = std::fs::read_to_string(&example_path).expect("deploy/policy.example.toml");
        let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
        let policy_part = example.split("\n\n# test:").nth(1).expect("the test stage");
        assert!(readme.contains(policy_part.trim()), "README.md shows deploy/policy.example.toml's policy");
        in_jail(|jail: &mut Jail| {
            jail.create_file("berth.toml", &example)?;
            let config = load_in(jail, Some("berth.toml")).expect("the example loads");
            let stages = config.policy.stage_policies();
            let names: Vec<&str> = stages.iter().map(|stage| stage.stage.as_str()).collect();
            assert_eq!(names, ["pre-production", "production", "staging", "test"]);
            let production = &stages[1];
            assert_eq!(production.approvals.len(), 2);
            assert_eq!(production.helm_modes, [app::requests::HelmMode::NoTiller]);
            assert_eq!(stages[3].auto_approve[0].name, "small test namespaces");
            assert_eq!(stages[2].approvals, [app::policy::approvals::Slot::any_approver()], "staging: one approver");
            Ok(())
        });
    }

    #[test]
    fn every_problem_of_a_policy_is_named_by_its_key() {
        in_jail(|jail: &mut Jail| {
            jail.create_file(
                "berth.toml",
                r#"
                    [policy.stages.prod]
                    [policy.stages.production]
                    profiles = ["small", "huge"]
                    helm_modes = ["helm4"]
                    max_lifetime_days = 400
                    max_pending_days = 0
                    approvals = [
                        { group = "berth-approvers", count = 0 },
                        { group = "berth-approvers" },
                        { group = "marketing" },
                    ]
                    [[policy.stages.production.auto_approve]]
                    name = ""
                    profiles = ["large"]
                "#,
            )?;
            let problems = load_in(jail, Some("berth.toml")).expect_err("refused").problems;
            let expected = [
                "policy.stages.prod: \"prod\" is not one of requests.stages",
                "policy.stages.production.profiles: \"huge\" is not a quota profile",
                "policy.stages.production.helm_modes: \"helm4\" is neither",
                "policy.stages.production.max_lifetime_days: 400 must be between 1 and requests.lifetime_days.max",
                "policy.stages.production.max_pending_days: must be at least 1",
                "policy.stages.production.approvals[0].count: must be at least 1",
                "policy.stages.production.approvals[1].group: \"berth-approvers\" is listed twice",
                "policy.stages.production.approvals[2].group: \"marketing\" grants neither the approver nor the admin",
                "policy.stages.production.auto_approve[0].name: must be 1 to 100 characters",
                "policy.stages.production.auto_approve[0].profiles: must list only profiles the stage allows",
            ];
            for problem in expected {
                assert!(problems.iter().any(|p| p.contains(problem)), "{problem:?} missing from {problems:#?}");
            }
            assert_eq!(problems.len(), expected.len(), "{problems:#?}");
            Ok(())
        });
    }

    #[test]
    fn quota_profiles_from_a_file_replace_the_built_in_ones_in_their_order() {
        in_jail(|jail: &mut Jail| {
            jail.create_file(
                "berth.toml",
                r#"
                    [[requests.quota_profiles]]
                    name = "ci"
                    description = "CI jobs"
                    quota = { "requests.cpu" = "4", "pods" = "30" }
                    container_defaults = { default = { cpu = "500m" } }

                    [[requests.quota_profiles]]
                    name = "big"
                    description = "Big"
                    quota = { "pods" = "100" }
                "#,
            )?;
            let profiles = load_in(jail, Some("berth.toml")).expect("loads").requests.quota_profiles;
            let names: Vec<_> = profiles.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["ci", "big"]);
            assert_eq!(profiles[0].quota["requests.cpu"], "4");
            assert_eq!(profiles[0].container_defaults.default["cpu"], "500m");
            Ok(())
        });
    }

    #[test]
    fn inconsistent_request_settings_are_each_reported() {
        in_jail(|jail: &mut Jail| {
            jail.create_file(
                "berth.toml",
                r#"
                    [requests]
                    stages = ["test", "test"]
                    name_pattern = "team-("
                    lifetime_days = { min = 10, max = 5, default = 7 }
                    [[requests.quota_profiles]]
                    name = "x"
                    description = "no quota"
                    quota = {}
                "#,
            )?;
            let message = load_in(jail, Some("berth.toml")).expect_err("rejected").to_string();
            for expected in ["\"test\" is listed twice", "name_pattern", "lifetime_days", "\"x\" needs a name"] {
                assert!(message.contains(expected), "{expected}: {message}");
            }
            Ok(())
        });
    }

    #[test]
    fn the_webhook_url_is_a_secret() {
        in_jail(|jail: &mut Jail| {
            jail.set_env("BERTH_NOTIFICATIONS__WEBHOOK_URL", "ftp://hooks.example/T0/B0/secret-token");
            let message = load_in(jail, None).expect_err("not http").to_string();
            assert!(message.contains("notifications.webhook_url") && !message.contains("secret-token"), "{message}");
            jail.set_env("BERTH_NOTIFICATIONS__WEBHOOK_URL", "https://hooks.example/T0/B0/secret-token");
            let config = load_in(jail, None).expect("loads");
            assert!(!format!("{config:?}").contains("secret-token"), "printed by Debug");
            Ok(())
        });
    }

    #[test]
    fn edge_and_leader_settings_are_checked_and_read_from_the_environment() {
        in_jail(|jail: &mut Jail| {
            jail.set_env("BERTH_HTTP__MAX_BODY_BYTES", "100");
            jail.set_env("BERTH_HTTP__RATE_LIMITS__SIGN_IN_PER_MINUTE", "0");
            jail.set_env("BERTH_PROVISIONING__LEADER_LEASE_SECONDS", "5");
            let message = load_in(jail, None).expect_err("rejected").to_string();
            for key in ["http.max_body_bytes", "http.rate_limits", "leader_lease_seconds at least twice"] {
                assert!(message.contains(key), "{key}: {message}");
            }
            jail.set_env("BERTH_HTTP__MAX_BODY_BYTES", "4096");
            jail.set_env("BERTH_HTTP__RATE_LIMITS__SIGN_IN_PER_MINUTE", "5");
            jail.set_env("BERTH_HTTP__TRUSTED_PROXY_HOPS", "1");
            jail.set_env("BERTH_PROVISIONING__LEADER_LEASE_SECONDS", "10");
            jail.set_env("BERTH_METRICS__LISTEN", "0.0.0.0:9090");
            let config = load_in(jail, None).expect("accepted");
            assert_eq!((config.http.max_body_bytes, config.http.trusted_proxy_hops), (4096, 1));
            assert_eq!(config.http.rate_limits.sign_in_per_minute, 5);
            assert_eq!(
                config.http.rate_limits.server_functions_per_session_per_minute, 600,
                "the others keep defaults"
            );
            assert_eq!(config.provisioning.leader_lease_seconds, 10);
            assert_eq!(config.metrics.listen.map(|a| a.to_string()).as_deref(), Some("0.0.0.0:9090"));
            Ok(())
        });
    }

    #[test]
    fn kubeconfig_settings_are_checked() {
        in_jail(|jail: &mut Jail| {
            jail.create_file(
                "berth.toml",
                r#"
                [cluster]
                external_url = "http://k8s.example.com:6443"

                [credentials]
                ci_hours = { min = 48, max = 24, default = 30 }

                [provisioning]
                lease_seconds = 0
                "#,
            )?;
            let message = load_in(jail, Some("berth.toml")).expect_err("rejected").to_string();
            for key in ["cluster.external_url", "credentials.ci_hours", "provisioning: poll_seconds, lease_seconds"] {
                assert!(message.contains(key), "{key}: {message}");
            }
            jail.create_file(
                "berth.toml",
                r#"
                [cluster]
                external_url = "https://k8s.example.com:6443"
                pod_security = { "pod-security.kubernetes.io/enforce" = "restricted" }

                [credentials]
                personal_hours = { min = 1, max = 12, default = 4 }
                "#,
            )?;
            let config = load_in(jail, Some("berth.toml")).expect("accepted");
            assert_eq!(config.cluster.external_url.unwrap().as_str(), "https://k8s.example.com:6443/");
            assert_eq!(config.credentials.personal_hours.max, 12);
            assert_eq!(config.credentials.ci_hours.max, 2160, "the other purpose keeps its defaults");
            let labels = &config.cluster.pod_security;
            assert_eq!(
                labels["pod-security.kubernetes.io/enforce"], "restricted",
                "a label given replaces its default"
            );
            assert_eq!(labels["pod-security.kubernetes.io/warn"], "restricted", "the others stay");
            Ok(())
        });
    }
}
