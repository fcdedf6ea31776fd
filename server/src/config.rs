//! Typed, layered configuration.
//!
//! Layers, each overriding the one before: built-in defaults, then a TOML file (`--config PATH` or
//! `BERTH_CONFIG`), then environment variables prefixed `BERTH_`, with `__` between nested keys
//! (`BERTH_DATABASE__URL` sets `database.url`). Unknown keys are errors that name the key and where it came
//! from, so a typo never silently falls back to a default. Start-up stops at the first problem.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// Names the configuration file; read by [`Config::load`], so it is not itself a configuration key.
pub const CONFIG_FILE_ENV: &str = "BERTH_CONFIG";
const ENV_PREFIX: &str = "BERTH_";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on. Loopback by default: put a TLS-terminating proxy in front.
    pub listen: SocketAddr,
    /// Folder with the built site: the WASM bundle and stylesheet under `pkg/`, and the public assets.
    pub site_root: PathBuf,
    /// How long to let in-flight requests finish after SIGTERM or Ctrl-C before exiting anyway.
    pub shutdown_grace_seconds: u64,
    pub log: LogConfig,
    pub database: DatabaseConfig,
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
    /// A `sqlite:` URL. The file and its folder are created when missing.
    pub url: String,
    pub max_connections: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: PathBuf::from("target/site"),
            shutdown_grace_seconds: 20,
            log: LogConfig { format: LogFormat::Human, filter: "info".to_string() },
            database: DatabaseConfig { url: "sqlite://data/berth.db".to_string(), max_connections: 8 },
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
        if !self.database.url.starts_with("sqlite:") {
            problems.push(format!(
                "  - database.url: {:?} is not a sqlite: URL (only SQLite is supported in this version)",
                redact_url(&self.database.url)
            ));
        }
        if self.database.max_connections == 0 {
            problems.push("  - database.max_connections: must be at least 1".to_string());
        }
        if problems.is_empty() { Ok(()) } else { Err(ConfigError { problems }) }
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

    fn load_in(jail: &Jail, file: Option<&str>) -> Result<Config, ConfigError> {
        Config::load(file.map(|f| jail.directory().join(f)).as_deref())
    }

    #[test]
    fn defaults_listen_on_loopback_port_3000_with_sqlite_under_data() {
        Jail::expect_with(|jail| {
            let config = load_in(jail, None).expect("defaults load");
            assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
            assert_eq!(config.database.url, "sqlite://data/berth.db");
            assert_eq!(config.log.format, LogFormat::Human);
            Ok(())
        });
    }

    #[test]
    fn file_overrides_defaults_and_environment_overrides_file() {
        Jail::expect_with(|jail| {
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
        Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "listen = \"127.0.0.1:4100\"")?;
            jail.set_env("BERTH_CONFIG", jail.directory().join("custom.toml").display());
            assert_eq!(load_in(jail, None).expect("loads").listen.port(), 4100);
            Ok(())
        });
    }

    #[test]
    fn unknown_key_in_file_is_rejected_by_name() {
        Jail::expect_with(|jail| {
            jail.create_file("berth.toml", "[database]\nurl = \"sqlite://x.db\"\nmax_conections = 3\n")?;
            let message = load_in(jail, Some("berth.toml")).expect_err("typo rejected").to_string();
            assert!(message.contains("max_conections"), "{message}");
            assert!(message.contains("berth.toml"), "says which file: {message}");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_variable_is_rejected_by_name() {
        Jail::expect_with(|jail| {
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
            Jail::expect_with(|jail| {
                jail.set_env(variable, value);
                let message = load_in(jail, None).expect_err("rejected").to_string();
                assert!(message.contains(key), "{variable}: {message}");
                Ok(())
            });
        }
    }

    #[test]
    fn missing_config_file_is_an_error() {
        Jail::expect_with(|jail| {
            let message = load_in(jail, Some("absent.toml")).expect_err("rejected").to_string();
            assert!(message.contains("absent.toml") && message.contains("not found"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn non_sqlite_database_is_rejected_without_echoing_the_password() {
        Jail::expect_with(|jail| {
            jail.set_env("BERTH_DATABASE__URL", "postgres://berth:hunter2@db/berth");
            let message = load_in(jail, None).expect_err("rejected").to_string();
            assert!(message.contains("database.url"), "{message}");
            assert!(!message.contains("hunter2"), "password leaked: {message}");
            Ok(())
        });
    }
}
