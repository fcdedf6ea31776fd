//! The `berth` command line (cli/) against a running Berth, the development identity provider and the local
//! control plane: sign in through the provider (loopback redirect), list, request, approve, robots, and a
//! kubeconfig whose user is an exec credential plugin: no token on disk, and nothing works once access is
//! revoked. Runs the binary `cargo test --workspace` builds (`target/debug/berth`). The server runs in the
//! test's own runtime, so the tests have two threads: one may wait for the command line while the other
//! answers it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use app::requests::RequestState;

use crate::grants::{clean_up, kubectl_as, ready_grant, wait_for};
use crate::requests::post;
use crate::support::{Browser, TestServer};

/// The command line's binary: `BERTH_CLI`, else `berth` beside this test's own binary's folder.
fn cli_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BERTH_CLI") {
        return PathBuf::from(path);
    }
    let own = std::env::current_exe().unwrap();
    let path = own.parent().and_then(Path::parent).unwrap().join("berth");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p berth-cli` (cargo test --workspace does)",
        path.display()
    );
    path
}

/// `berth ARGS` with its settings in `home`; (success, stdout, stderr).
fn berth(home: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(cli_binary())
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("BERTH_TOKEN")
        .env_remove("BERTH_SERVER")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

/// `berth login` as `user`: the test plays the browser, through the provider's login form to the command
/// line's loopback address.
async fn login(server: &TestServer, home: &Path, user: &str) {
    let mut child = Command::new(cli_binary())
        .args(["login", "--no-browser", "--server", &server.base])
        .env("XDG_CONFIG_HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let line = tokio::task::block_in_place(|| {
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        line
    });
    let address = line.trim().rsplit(' ').next().unwrap().to_string();
    let authorization = url::Url::parse(&address).unwrap_or_else(|_| panic!("berth login printed {line:?}"));
    let redirect = authorization.query_pairs().find(|(k, _)| k == "redirect_uri").unwrap().1.to_string();
    let browser = Browser::new();
    let back = browser.through_provider(authorization, user, &redirect).await;
    let answer = browser.get(back.as_str()).await;
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("Signed in to Berth"));
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("Signed in to"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berth_kubeconfig_exec_holds_no_token_works_with_kubectl_and_stops_at_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let home = tempfile::tempdir().unwrap();
    login(&server, home.path(), "alice").await;
    let saved = std::fs::read_to_string(home.path().join("berth/credentials.json")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(home.path().join("berth/credentials.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the saved token is its owner's only");
    }
    assert!(saved.contains("\"token\": \"berth_"), "{saved}");

    let (ok, listed, err) = berth(home.path(), &["ls"]);
    assert!(ok && listed.contains(&namespace) && listed.contains("ready"), "{listed}{err}");

    let file = dir.path().join("exec.kubeconfig");
    let (ok, out, err) = berth(home.path(), &["kubeconfig", &namespace, "--exec", "-o", file.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let user = written["users"][0]["user"].as_object().unwrap();
    assert_eq!(user.keys().collect::<Vec<_>>(), ["exec"], "no token on disk: {written}");
    assert_eq!(user["exec"]["args"][0], "token");
    assert_eq!(written["contexts"][0]["context"]["namespace"], namespace.as_str());

    // kubectl runs `berth token` for each command; the settings folder reaches it through the environment.
    let kubectl = |args: &[&str]| {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&file)
            .args(args)
            .env("XDG_CONFIG_HOME", home.path())
            .env_remove("BERTH_TOKEN")
            .output()
            .unwrap();
        (
            output.status.success(),
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
        )
    };
    let (ok, out) = kubectl(&["create", "configmap", "from-the-cli"]);
    assert!(ok, "{out}");
    let (ok, out) = kubectl(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert!(ok && out.contains(&format!("{namespace}.person.alice.")), "{out}");

    // The time kubectl waits for a fresh token: `berth token` from start to its ExecCredential.
    let mut times = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let (ok, credential, err) = berth(home.path(), &["token", &namespace]);
        times.push(started.elapsed());
        assert!(ok && credential.contains("\"kind\":\"ExecCredential\""), "{credential}{err}");
    }
    times.sort();
    println!(
        "FIGURE kubectl to a fresh exec-plugin token (berth token, 10 runs): median {:.0} ms, p90 {:.0} ms",
        times[4].as_secs_f64() * 1000.0,
        times[8].as_secs_f64() * 1000.0
    );

    // Revoked: the next command gets no token (and the ones minted before die with their anchors).
    let carol = Browser::signed_in(&server, "carol").await;
    let revoke = [("id", id.clone()), ("reason", "project over".to_string())];
    assert_eq!(post(&carol, &server, "requests/revoke", &revoke).await.status(), 200);
    wait_for(&alice, &server, &id, RequestState::Revoked).await;
    let (ok, out) = kubectl(&["get", "configmaps"]);
    assert!(!ok && out.contains("berth:"), "refused, in Berth's words: {out}");
    server.stop().await;
    clean_up(&namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_requests_approves_and_makes_a_robot_whose_token_gets_its_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _alice, _id, namespace) = ready_grant(&dir, "none").await;
    let (alice_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    login(&server, alice_home.path(), "alice").await;
    login(&server, bob_home.path(), "bob").await;

    // alice requests, bob finds it among what he may approve and approves it.
    let wanted = crate::cluster::unique("cli");
    let (ok, out, err) = berth(alice_home.path(), &["request", &wanted, "--purpose", "tried from the command line"]);
    assert!(ok && out.contains("pending"), "{out}{err}");
    let (ok, out, err) = berth(bob_home.path(), &["approve"]);
    assert!(ok && out.contains(&wanted), "{out}{err}");
    let (ok, out, err) = berth(alice_home.path(), &["approve"]);
    assert!(!ok && err.contains("role does not allow"), "a developer approves nothing: {out}{err}");
    let (ok, out, err) = berth(bob_home.path(), &["approve", &wanted]);
    // The worker may have taken the approved request up already.
    let approved =
        ["approved", "provisioning", "ready"].map(|state| format!("approved by you; the request is {state}"));
    assert!(ok && approved.iter().any(|line| out.contains(line.as_str())), "{out}{err}");

    // A robot on alice's ready grant, and a token for it: in CI, BERTH_TOKEN gets the robot's kubeconfig.
    let (ok, out, err) = berth(alice_home.path(), &["robots", &namespace, "add", "jenkins"]);
    assert!(ok && out.contains(&format!("{namespace}.robot.jenkins")), "{out}{err}");
    let (ok, token, err) = berth(alice_home.path(), &["robots", &namespace, "token", "jenkins", "--days", "7"]);
    assert!(ok && token.starts_with("berth_") && err.contains("shown once"), "{token}{err}");
    let file = dir.path().join("robot.kubeconfig");
    let output = Command::new(cli_binary())
        .args(["kubeconfig", &namespace, "--hours", "1", "-o", file.to_str().unwrap(), "--server", &server.base])
        .env("BERTH_TOKEN", token.trim())
        .env("XDG_CONFIG_HOME", dir.path().join("empty"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (ok, out) = kubectl_as(&file, &["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert!(ok && out.ends_with(&format!("{namespace}.robot.jenkins")), "{out}");
    server.stop().await;
    clean_up(&namespace).await;
    clean_up(&wanted).await;
}
