//! The command line without a server: what it offers, and what it says before anyone signed in. (Its use
//! against a running Berth is in the server's integration tests, `server/tests/it/cli.rs`, which run this
//! very binary.)

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn berth(args: &[&str], config_home: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("BERTH_TOKEN")
        .env_remove("BERTH_SERVER")
        .output()
        .unwrap();
    (
        output.status.success(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

#[test]
fn it_offers_every_command_and_says_how_to_sign_in_first() {
    let home = tempfile::tempdir().unwrap();
    let (ok, help) = berth(&["--help"], home.path());
    assert!(ok, "{help}");
    for command in ["login", "logout", "ls", "request", "kubeconfig", "token", "approve", "robots"] {
        assert!(help.contains(command), "{command} in {help}");
    }
    let (ok, out) = berth(&["ls"], home.path());
    assert!(!ok && out.contains("berth login"), "{out}");
    let (ok, out) = berth(&["ls", "--server", "http://127.0.0.1:9"], home.path());
    assert!(!ok && out.contains("not signed in to http://127.0.0.1:9"), "{out}");
}
