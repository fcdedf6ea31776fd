//! The `berth` binary as an operator runs it: configuration from the environment, logs, signals.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::support::{berth_kubeconfig, client, public_dir};

/// The binary with a clean `BERTH_*` environment plus `vars`.
pub(crate) fn berth(vars: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth-server"));
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("BERTH_")) {
        command.env_remove(key);
    }
    // Single sign-on is required; the provider is only contacted at sign-in, which these tests do not do.
    command
        .env("BERTH_AUTH__ISSUER_URL", "http://127.0.0.1:5556")
        .env("BERTH_AUTH__CLIENT_ID", "berth")
        .env("BERTH_AUTH__CLIENT_SECRET", "s3cret-client-secret")
        // The cluster is only contacted when a request is checked or provisioned.
        .env("BERTH_CLUSTER__KUBECONFIG", berth_kubeconfig());
    command.envs(vars.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.kill_on_drop(true);
    command
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) async fn wait_ready(base: &str, child: &mut Child) {
    crate::support::eventually(Duration::from_secs(30), "berth ready", || {
        let exited = child.try_wait().unwrap();
        async move {
            assert!(exited.is_none(), "berth exited before becoming ready: {exited:?}");
            match client().get(format!("{base}/readyz")).send().await {
                Ok(response) if response.status() == 200 => Ok(()),
                Ok(response) => Err(format!("/readyz answered {}", response.status())),
                Err(error) => Err(error.to_string()),
            }
        }
    })
    .await
}

async fn read_all(mut pipe: impl AsyncReadExt + Unpin) -> String {
    let mut text = String::new();
    pipe.read_to_string(&mut text).await.unwrap();
    text
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly_and_json_logs_keep_queries_out() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = berth(&[
        ("BERTH_LISTEN", format!("127.0.0.1:{port}")),
        ("BERTH_DATABASE__URL", format!("sqlite://{}/berth.db", dir.path().display())),
        ("BERTH_SITE_ROOT", public_dir().display().to_string()),
        ("BERTH_LOG__FORMAT", "json".to_string()),
    ])
    .spawn()
    .unwrap();
    wait_ready(&base, &mut child).await;

    // A query string can hold an authorization code: it must never reach the log.
    let response = client().get(format!("{base}/?code=s3cret-authorization-code")).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exits promptly").unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status}");

    let stdout = read_all(child.stdout.take().unwrap()).await;
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}")))
        .collect();
    let messages: Vec<&str> = events.iter().filter_map(|e| e["message"].as_str()).collect();
    for expected in ["listening", "SIGTERM received", "stopped"] {
        assert!(messages.contains(&expected), "log lacks {expected:?}: {messages:?}");
    }
    assert!(
        events.iter().any(|e| e["message"] == "response" && e["status"] == 200),
        "requests are logged with their status: {stdout}"
    );
    assert!(!stdout.contains("s3cret"), "query string leaked into the log: {stdout}");
}

#[tokio::test]
async fn unknown_environment_key_stops_start_up_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = berth(&[
        ("BERTH_DATABASE__URL", format!("sqlite://{}/berth.db", dir.path().display())),
        ("BERTH_DATABSE__URL", "sqlite://typo.db".to_string()),
    ])
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(2), "usage error exit code");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid configuration") && stderr.contains("databse"), "{stderr}");
    assert!(!dir.path().join("berth.db").exists(), "nothing created before the configuration is valid");
}

#[tokio::test]
async fn an_unusable_database_path_is_reported_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let output = berth(&[
        ("BERTH_LISTEN", format!("127.0.0.1:{}", free_port())),
        ("BERTH_DATABASE__URL", format!("sqlite://{}/sub/berth.db", blocker.display())),
    ])
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("cannot create the database folder"), "{stdout}");
}

#[tokio::test]
async fn start_up_without_single_sign_on_stops_and_says_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = berth(&[("BERTH_DATABASE__URL", format!("sqlite://{}/berth.db", dir.path().display()))]);
    for key in ["BERTH_AUTH__ISSUER_URL", "BERTH_AUTH__CLIENT_ID", "BERTH_AUTH__CLIENT_SECRET"] {
        command.env_remove(key);
    }
    let output = command.output().await.unwrap();
    assert_eq!(output.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("auth.issuer_url") && stderr.contains("auth.client_secret"), "{stderr}");
    assert!(!dir.path().join("berth.db").exists(), "nothing created before the configuration is valid");
}
