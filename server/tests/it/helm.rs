//! The continuous-delivery flow Berth exists for, with the real tools: Helm 3 and Helm 4 with a kubeconfig
//! from Berth, Helm 2 through the namespace's own Tiller (the real `tiller` binary, run as a local process as
//! its pod would run it: no kubelet runs pods here), and every line of the grant page's usage help executed
//! as shown. Against the local control plane, provisioned by Berth with its own least-privilege token.
//!
//! The binaries come from `scripts/helm.sh` (`HELM_BIN_DIR`); the charts from `server/tests/charts/`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::requests::usage::Usage;
use app::requests::{HelmMode, RequestState, TillerState};
use tempfile::TempDir;

use crate::grants::{
    IDENTITIES, clean_up, download, kubeconfig_file, kubectl_admin, kubectl_as, ready_grant, wait_for,
};
use crate::requests::{detail, post};
use crate::support::{Browser, TestServer, eventually, helm_tool, run};

/// The path of the chart `name`, as `helm` takes it.
fn chart(name: &str) -> String {
    format!("{}/tests/charts/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` and insists it succeeds; its output.
fn ok(command: &mut Command) -> String {
    let (succeeded, output) = run(command);
    assert!(succeeded, "{command:?} failed:\n{output}");
    output
}

/// One Helm client (3 or 4) with its own empty configuration and cache, using `kubeconfig` as a CI job would.
struct Helm {
    binary: PathBuf,
    home: TempDir,
    kubeconfig: PathBuf,
}

impl Helm {
    fn new(tool: &str, kubeconfig: &Path) -> Self {
        Helm { binary: helm_tool(tool), home: tempfile::tempdir().unwrap(), kubeconfig: kubeconfig.to_path_buf() }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CONFIG_HOME", self.home.path().join("config"))
            .env("HELM_CACHE_HOME", self.home.path().join("cache"))
            .env("HELM_DATA_HOME", self.home.path().join("data"))
            .env_remove("HELM_NAMESPACE");
        command
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(&mut self.command(args))
    }

    fn refused(&self, args: &[&str]) -> String {
        let (succeeded, output) = run(&mut self.command(args));
        assert!(!succeeded, "helm {args:?} should have been refused:\n{output}");
        output
    }
}

/// The release's objects of `kinds` in `namespace` (the chart labels them `app=<release>`), as an admin sees them.
fn objects_of_release(namespace: &str, release: &str, kinds: &str) -> String {
    kubectl_admin(&["get", kinds, "-n", namespace, "-l", &format!("app={release}"), "-o", "name"])
}

/// carol, an admin, revokes the grant; when she did.
async fn revoke_grant(server: &TestServer, id: &str) -> Instant {
    let carol = Browser::signed_in(server, "carol").await;
    let revoked_at = Instant::now();
    let response =
        post(&carol, server, "requests/revoke", &[("id", id.to_string()), ("reason", "Project over".into())]).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    revoked_at
}

fn config_map_value(namespace: &str, name: &str) -> String {
    kubectl_admin(&["get", "configmap", name, "-n", namespace, "-o", "jsonpath={.data.message}"])
}

/// install, upgrade, rollback, list and uninstall of the web application, with no `--namespace` anywhere:
/// the kubeconfig's context presets it. Then what must be refused, with Kubernetes' own words.
fn helm_3_or_later_in(helm: &Helm, version: &str, namespace: &str) {
    let release = format!("web{version}");
    let started = Instant::now();
    helm.ok(&["install", &release, &chart("webapp")]);
    let objects = objects_of_release(
        namespace,
        &release,
        "deployment,service,configmap,secret,ingress,networkpolicy,serviceaccount",
    );
    for kind in ["deployment.apps", "service", "configmap", "secret", "ingress.networking.k8s.io"] {
        assert!(objects.contains(&format!("{kind}/{release}")), "{kind} of {release} in {namespace}: {objects}");
    }
    assert!(objects.contains(&format!("networkpolicy.networking.k8s.io/{release}-web")), "{objects}");
    assert!(objects.contains(&format!("serviceaccount/{release}")), "{objects}");
    let records = kubectl_admin(&["get", "secrets", "-n", namespace, "-l", &format!("owner=helm,name={release}")]);
    assert!(records.contains(&format!("sh.helm.release.v1.{release}.v1")), "release record in {namespace}: {records}");

    helm.ok(&["upgrade", &release, &chart("webapp"), "--set", "message=the second release"]);
    assert_eq!(config_map_value(namespace, &format!("{release}-config")), "the second release");
    helm.ok(&["rollback", &release, "1"]);
    assert_eq!(config_map_value(namespace, &format!("{release}-config")), "hello from the first release");
    let listed = helm.ok(&["list", "-o", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let entry = listed.as_array().unwrap().iter().find(|r| r["name"] == release.as_str()).unwrap();
    assert_eq!((entry["namespace"].as_str(), entry["revision"].as_str()), (Some(namespace), Some("3")), "{entry}");
    assert_eq!(entry["status"], "deployed");
    let lifecycle = started.elapsed();

    // A Role and RoleBinding in its own namespace: `edit` may not create them (RBAC objects are `admin`'s, so
    // a tenant cannot grant itself more), and the release fails with the API server's reason.
    let rbac = helm.refused(&["install", &format!("{release}-rbac"), &chart("webapp"), "--set", "rbac.create=true"]);
    println!("MESSAGE helm {version}, a Role in its own namespace: {}", rbac.trim());
    assert!(rbac.contains("roles.rbac.authorization.k8s.io") && rbac.contains("is forbidden"), "{rbac}");
    // (Helm first reads whether the Role exists: `edit` may not even read Roles.)
    let role =
        format!("resource \"roles\" in API group \"rbac.authorization.k8s.io\" in the namespace \"{namespace}\"");
    assert!(rbac.contains(&role), "{rbac}");
    // Another namespace: refused before anything is written there.
    let elsewhere = helm.refused(&["install", &format!("{release}-stray"), &chart("webapp"), "-n", "default"]);
    println!("MESSAGE helm {version} install -n default: {}", elsewhere.trim());
    assert!(elsewhere.contains("is forbidden") && elsewhere.contains("in the namespace \"default\""), "{elsewhere}");
    // The API server names the robot whose kubeconfig it is.
    let robot = format!("User \"system:serviceaccount:{IDENTITIES}:{namespace}.robot.jenkins\"");
    assert!(elsewhere.contains(&robot), "{elsewhere}");
    // A chart with a ClusterRole.
    let cluster_wide = helm.refused(&["install", &format!("{release}-cw"), &chart("cluster-wide")]);
    println!("MESSAGE helm {version}, a ClusterRole: {}", cluster_wide.trim());
    assert!(
        cluster_wide.contains("clusterroles.rbac.authorization.k8s.io")
            && cluster_wide.contains("is forbidden")
            && cluster_wide.contains("at the cluster scope"),
        "{cluster_wide}"
    );
    let stray = objects_of_release("default", &format!("{release}-stray"), "all");
    assert_eq!(stray, "", "nothing of the stray release in default");

    let uninstalling = Instant::now();
    helm.ok(&["uninstall", &release]);
    let left = objects_of_release(namespace, &release, "deployment,service,configmap");
    assert_eq!(left, "", "uninstall removed the release's objects");
    println!(
        "FIGURE helm {version}: install, upgrade, rollback, list in {} ms; uninstall {} ms",
        lifecycle.as_millis(),
        uninstalling.elapsed().as_millis()
    );
}

#[tokio::test]
async fn helm_3_and_4_deploy_in_the_granted_namespace_only_and_stop_at_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let file = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins").await;
    let helm3 = Helm::new("helm3", &file);
    let helm4 = Helm::new("helm4", &file);
    for (helm, version) in [(&helm3, "3"), (&helm4, "4")] {
        let reported = helm.ok(&["version", "--short"]);
        assert!(reported.starts_with(&format!("v{version}.")), "{reported}");
        helm_3_or_later_in(helm, version, &namespace);
    }

    // Revoked: the next `helm list` is refused, within the revocation bound (the API server caches a token's
    // authentication for about 10 s).
    helm3.ok(&["install", "kept", &chart("webapp")]);
    let revoked_at = revoke_grant(&server, &id).await;
    for helm in [&helm3, &helm4] {
        loop {
            let (succeeded, output) = run(&mut helm.command(&["list"]));
            // client-go's words for a 401 Unauthorized.
            if !succeeded && output.contains("the server has asked for the client to provide credentials") {
                break;
            }
            // Before the token dies, its bindings are already gone: refused all the same.
            assert!(succeeded || output.contains("forbidden"), "{output}");
            assert!(
                revoked_at.elapsed() < Duration::from_secs(15),
                "helm list still authenticated after 15 s: {output}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let (_, output) = run(&mut helm4.command(&["list"]));
    println!("MESSAGE helm list after revocation: {}", output.trim());
    println!("FIGURE helm list Unauthorized {} ms after the grant was revoked", revoked_at.elapsed().as_millis());
    wait_for(&alice, &server, &id, RequestState::Revoked).await;
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// The usage help, executed.

/// A folder holding `helm`: the given build, under the name the snippets use.
fn helm_named_helm(tool: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(helm_tool(tool), dir.path().join("helm")).unwrap();
    dir
}

/// `bash -euo pipefail -c script` in `workspace`, with `helm_dir` first on PATH (then the control plane's
/// `kubectl`) and `env` set.
fn shell(workspace: &Path, helm_dir: &Path, script: &str, env: &[(&str, &OsStr)]) -> String {
    let path = format!(
        "{}:{}:{}",
        helm_dir.display(),
        crate::support::cluster_bin().display(),
        std::env::var("PATH").unwrap()
    );
    let mut command = Command::new("bash");
    command.args(["-euo", "pipefail", "-c", script]).current_dir(workspace).env("PATH", path).env_remove("KUBECONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    ok(&mut command)
}

/// A CI workspace as the snippets expect it: the chart as `chart/`, manifests in `k8s/`.
fn workspace(parent: &Path, name: &str) -> PathBuf {
    let workspace = parent.join(name);
    std::fs::create_dir_all(workspace.join("k8s")).unwrap();
    ok(Command::new("cp").arg("-r").arg(chart("webapp")).arg(workspace.join("chart")));
    std::fs::write(
        workspace.join("k8s/settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ci-settings\ndata:\n  from: the pipeline\n",
    )
    .unwrap();
    workspace
}

#[tokio::test]
async fn the_usage_help_of_a_helm_3_grant_runs_as_shown_with_helm_3_and_4() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "none").await;
    let usage = Usage::for_namespace(&namespace, HelmMode::NoTiller);
    // The page shows exactly this text.
    let page = alice.get(&server.url(&format!("/requests/{id}"))).await.text().await.unwrap();
    assert!(page.contains(&html_escape(&usage.shell_text())), "the page shows the shell snippet");
    assert!(page.contains(&html_escape(&usage.jenkinsfile(&namespace))), "the page shows the Jenkinsfile");

    // On the requester's machine: the personal kubeconfig under the name it downloads as.
    let response = download(&alice, &server, &id, &[("purpose", "personal"), ("lifetime_hours", "8")]).await;
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.contains(&format!("filename=\"{}\"", usage.personal_file)), "{disposition}");
    let laptop = workspace(dir.path(), "laptop");
    std::fs::write(laptop.join(&usage.personal_file), response.text().await.unwrap()).unwrap();
    for tool in ["helm3", "helm4"] {
        let helm = helm_named_helm(tool);
        let helm_home = tempfile::tempdir().unwrap();
        let output =
            shell(&laptop, helm.path(), &usage.shell_text(), &[("HELM_CONFIG_HOME", helm_home.path().as_os_str())]);
        assert!(output.contains("my-app"), "{tool}: helm list shows the release:\n{output}");
    }

    // In Jenkins: the steps, with KUBECONFIG naming the CI kubeconfig as withCredentials sets it.
    let response =
        download(&alice, &server, &id, &[("purpose", "ci"), ("name", "jenkins"), ("lifetime_hours", "24")]).await;
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
    let ci_file = usage.ci_file.replace("<name>", "jenkins");
    assert!(disposition.contains(&format!("filename=\"{ci_file}\"")), "{disposition}");
    let secret_file = dir.path().join("jenkins-secret-file");
    std::fs::write(&secret_file, response.text().await.unwrap()).unwrap();
    let jenkins = workspace(dir.path(), "jenkins-workspace");
    let helm = helm_named_helm("helm3");
    for step in &usage.ci_steps {
        shell(&jenkins, helm.path(), step, &[("KUBECONFIG", secret_file.as_os_str())]);
    }
    assert_eq!(
        kubectl_admin(&["get", "configmap", "ci-settings", "-n", &namespace, "-o", "jsonpath={.data.from}"]),
        "the pipeline"
    );
    assert_eq!(config_map_value(&namespace, "my-app-config"), "hello from the first release");
    server.stop().await;
    clean_up(&namespace).await;
}

/// As the server renders text into HTML.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

// ---------------------------------------------------------------------------------------------------------
// Helm 2 and the namespace's own Tiller.

/// The real `tiller`, run as the namespace's pod runs it (`--storage=secret`, `TILLER_NAMESPACE`), with a token
/// of the namespace's `tiller` ServiceAccount and gRPC on a loopback port. Stopped when dropped.
struct Tiller {
    process: Child,
    address: String,
    kubeconfig: PathBuf,
}

impl Tiller {
    /// `user_kubeconfig` gives the cluster's address and CA; the credentials become the `tiller` account's,
    /// minted as an admin would (never by Berth for the requester).
    async fn start(dir: &Path, namespace: &str, user_kubeconfig: &Path) -> Tiller {
        let token = kubectl_admin(&["create", "token", "tiller", "-n", namespace, "--duration=1h"]);
        let kubeconfig = dir.join("tiller.kubeconfig");
        std::fs::copy(user_kubeconfig, &kubeconfig).unwrap();
        let user = kubectl_as(&kubeconfig, &["config", "view", "-o", "jsonpath={.contexts[0].context.user}"]).1;
        assert!(kubectl_as(&kubeconfig, &["config", "set-credentials", &user, &format!("--token={}", token.trim())]).0);
        let port = free_port();
        let probe_port = free_port();
        let address = format!("127.0.0.1:{port}");
        let process = Command::new(helm_tool("tiller"))
            .args([
                "--storage=secret",
                &format!("--listen={address}"),
                &format!("--probe-listen=127.0.0.1:{probe_port}"),
            ])
            .env("TILLER_NAMESPACE", namespace)
            .env("KUBECONFIG", &kubeconfig)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("tiller.log")).unwrap())
            .spawn()
            .unwrap();
        let tiller = Tiller { process, address, kubeconfig };
        let readiness = format!("http://127.0.0.1:{probe_port}/readiness");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(answer) = reqwest::get(&readiness).await
                && answer.status().is_success()
            {
                return tiller;
            }
            assert!(
                Instant::now() < deadline,
                "tiller not ready: {}",
                std::fs::read_to_string(dir.join("tiller.log")).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tiller {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Helm 2's client with a home of its own (`helm init --client-only`, once, as a user does), talking to `host`.
struct Helm2 {
    home: TempDir,
    kubeconfig: PathBuf,
    host: Option<String>,
}

impl Helm2 {
    fn new(kubeconfig: &Path, host: Option<&str>) -> Self {
        let helm = Helm2 {
            home: tempfile::tempdir().unwrap(),
            kubeconfig: kubeconfig.to_path_buf(),
            host: host.map(String::from),
        };
        helm.ok(&["init", "--client-only", "--skip-refresh"]);
        helm
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(helm_tool("helm2"));
        command
            .args(args)
            .env("HELM_HOME", self.home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("TILLER_NAMESPACE");
        match &self.host {
            Some(host) => command.env("HELM_HOST", host),
            None => command.env_remove("HELM_HOST"),
        };
        command
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(&mut self.command(args))
    }
}

#[tokio::test]
async fn helm_2_deploys_through_the_namespace_s_own_tiller_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "tiller").await;
    let usage = Usage::for_namespace(&namespace, HelmMode::Tiller);
    let response = download(&alice, &server, &id, &[("purpose", "personal"), ("lifetime_hours", "8")]).await;
    assert_eq!(response.status(), 200);
    let laptop = workspace(dir.path(), "laptop");
    let personal = laptop.join(&usage.personal_file);
    std::fs::write(&personal, response.text().await.unwrap()).unwrap();

    // The requester's kubeconfig may find Tiller's pod and port-forward to it, and nothing more.
    let can = |args: &[&str]| {
        let (_, answer) = kubectl_as(&personal, &[&["auth", "can-i"], args].concat());
        answer.trim() == "yes"
    };
    assert!(can(&["list", "pods"]) && can(&["get", "pods"]) && can(&["create", "pods", "--subresource=portforward"]));
    for refused in [
        &["create", "pods"][..],
        &["create", "deployments"],
        &["get", "secrets"],
        &["create", "configmaps"],
        &["create", "pods", "--subresource=exec"],
        &["list", "pods", "-n", "default"],
        &["list", "namespaces"],
    ] {
        assert!(!can(refused), "the Tiller-mode kubeconfig may {refused:?}");
    }
    // Everything it may do in its namespace, beyond what every ServiceAccount of the cluster may (discovery,
    // self-reviews, trust bundles): listed by the API server, compared with an account bound to nothing.
    let rules = kubectl_as(&personal, &["auth", "can-i", "--list"]).1;
    println!("MESSAGE kubectl auth can-i --list, Tiller mode:\n{rules}");
    let everyone = kubectl_admin(&[
        "auth",
        "can-i",
        "--list",
        "-n",
        &namespace,
        "--as=system:serviceaccount:berth-identities:nobody",
    ]);
    let resource_rules = |listing: &str| -> Vec<String> {
        listing
            .lines()
            .skip(1)
            .filter(|line| !line.starts_with(' '))
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let baseline = resource_rules(&everyone);
    let beyond: Vec<String> = resource_rules(&rules).into_iter().filter(|rule| !baseline.contains(rule)).collect();
    assert_eq!(beyond, ["pods/portforward [] [] [create]", "pods [] [] [get list]"], "{rules}");

    // Without a port-forward's pod (no kubelet here), `helm` v2 gets as far as looking for Tiller's pod with the
    // kubeconfig: allowed, and it finds none ready. That lookup is the kubeconfig's whole job in this mode.
    let looking = Helm2::new(&personal, None);
    let (found, output) = run(&mut looking.command(&["--tiller-namespace", &namespace, "list"]));
    assert!(!found && output.contains("could not find a ready tiller pod"), "{output}");

    // The real Tiller, as its pod runs it; `helm` reaches it where the port-forward would have.
    let tiller = Tiller::start(dir.path(), &namespace, &personal).await;
    let helm = Helm2::new(&personal, Some(&tiller.address));
    let started = Instant::now();
    let webapp = chart("webapp");
    let webapp = webapp.as_str();
    helm.ok(&["install", webapp, "--name", "web2"]);
    assert!(kubectl_admin(&["get", "deployment", "web2", "-n", &namespace, "-o", "name"]).contains("web2"));
    helm.ok(&["upgrade", "web2", webapp, "--set", "message=the second release"]);
    assert_eq!(config_map_value(&namespace, "web2-config"), "the second release");
    helm.ok(&["rollback", "web2", "1"]);
    assert_eq!(config_map_value(&namespace, "web2-config"), "hello from the first release");
    let history = helm.ok(&["history", "web2"]);
    assert_eq!(history.lines().count(), 4, "three revisions:\n{history}");
    // Release records: Secrets in the namespace, not ConfigMaps in kube-system.
    let records = kubectl_admin(&["get", "secrets", "-n", &namespace, "-l", "OWNER=TILLER,NAME=web2", "-o", "name"]);
    assert_eq!(records.lines().count(), 3, "{records}");
    assert_eq!(kubectl_admin(&["get", "configmaps", "-n", "kube-system", "-l", "OWNER=TILLER", "-o", "name"]), "");
    helm.ok(&["delete", "--purge", "web2"]);
    assert_eq!(objects_of_release(&namespace, "web2", "deployment,configmap"), "");
    println!(
        "FIGURE helm 2 through Tiller: install, upgrade, rollback, delete in {} ms",
        started.elapsed().as_millis()
    );

    // Another namespace: Tiller acts with the namespace's rights only, and the API server says no.
    let (installed, elsewhere) =
        run(&mut helm.command(&["install", webapp, "--name", "stray", "--namespace", "default"]));
    println!("MESSAGE helm 2 install --namespace default: {}", elsewhere.trim());
    assert!(!installed && elsewhere.contains("is forbidden"), "{elsewhere}");
    assert!(elsewhere.contains(&format!("User \"system:serviceaccount:{namespace}:tiller\"")), "{elsewhere}");
    assert!(elsewhere.contains("in the namespace \"default\""), "{elsewhere}");
    assert_eq!(objects_of_release("default", "stray", "deployment,configmap"), "");

    // The usage help, as shown: the shell session, then the Jenkins steps with the CI kubeconfig.
    let helm_dir = helm_named_helm("helm2");
    let host = OsStr::new(&tiller.address);
    let output = shell(
        &laptop,
        helm_dir.path(),
        &usage.shell_text(),
        &[("HELM_HOME", helm.home.path().as_os_str()), ("HELM_HOST", host)],
    );
    assert!(output.contains("my-app"), "helm list shows the release:\n{output}");
    let ci = kubeconfig_file(&server, &alice, &id, dir.path(), "jenkins").await;
    let jenkins = workspace(dir.path(), "jenkins-workspace");
    for step in &usage.ci_steps {
        shell(
            &jenkins,
            helm_dir.path(),
            step,
            &[("KUBECONFIG", ci.as_os_str()), ("HELM_HOME", helm.home.path().as_os_str()), ("HELM_HOST", host)],
        );
    }

    // Revoked: Tiller's account is gone, so the running Tiller's token is refused and its next install fails.
    let revoked_at = revoke_grant(&server, &id).await;
    let refused = loop {
        let (installed, output) = run(&mut helm.command(&["install", webapp, "--name", "after"]));
        // client-go's words for a 401 Unauthorized, passed on by Tiller.
        if !installed && output.contains("the server has asked for the client to provide credentials") {
            break output;
        }
        if installed {
            let _ = run(&mut helm.command(&["delete", "--purge", "after"]));
        }
        assert!(revoked_at.elapsed() < Duration::from_secs(15), "Tiller still acting after 15 s: {output}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!("MESSAGE helm 2 install after revocation: {}", refused.trim());
    println!("FIGURE Tiller's token refused {} ms after the grant was revoked", revoked_at.elapsed().as_millis());
    let (_, output) = kubectl_as(&tiller.kubeconfig, &["get", "pods"]);
    assert!(output.contains("Unauthorized"), "{output}");
    drop(tiller);
    server.stop().await;
    clean_up(&namespace).await;
}

// ---------------------------------------------------------------------------------------------------------
// Tiller's rollout on the grant page.

#[tokio::test]
async fn the_grant_page_says_how_tiller_s_rollout_is_going() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, id, namespace) = ready_grant(&dir, "tiller").await;
    let rollout = |state: TillerState| {
        let server: &TestServer = &server;
        let alice = &alice;
        let id = &id;
        async move {
            eventually(Duration::from_secs(20), &format!("Tiller's rollout {state:?}"), || async {
                let shown = detail(alice, server, id).await.tiller.expect("a Tiller grant shows Tiller's rollout");
                if shown.state == state { Ok(shown) } else { Err(format!("{shown:?}")) }
            })
            .await
        }
    };
    // No kubelet runs the pod here: it stays Pending, and the page says Tiller is starting.
    let waiting = rollout(TillerState::Waiting).await;
    assert!(waiting.detail.starts_with("0 of 1 replicas available"), "{waiting:?}");

    // Playing the kubelet's part (which cannot run here): the pod reports Running and Ready.
    let pod = wait_for_tiller_pod(&namespace).await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let status = serde_json::json!({ "status": {
        "phase": "Running",
        "conditions": [
            { "type": "PodScheduled", "status": "True", "lastTransitionTime": now },
            { "type": "Initialized", "status": "True", "lastTransitionTime": now },
            { "type": "ContainersReady", "status": "True", "lastTransitionTime": now },
            { "type": "Ready", "status": "True", "lastTransitionTime": now },
        ],
    }});
    kubectl_admin(&[
        "patch",
        "pod",
        &pod,
        "-n",
        &namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
    let available = rollout(TillerState::Available).await;
    assert_eq!(available.detail, "1 of 1 replicas available.");
    let page = alice.get(&server.url(&format!("/requests/{id}"))).await.text().await.unwrap();
    assert!(page.contains("Tiller is available."), "the page says so");

    // A quota that admits no pod, and the pod gone: the ReplicaSet cannot create another, and the page says
    // Tiller is failing, with the API server's reason.
    kubectl_admin(&["create", "quota", "no-pods", "-n", &namespace, "--hard=pods=0"]);
    // Until the quota controller has counted the namespace, the API server refuses a pod with "status unknown
    // for quota", and the ReplicaSet keeps its first failure's words: wait for the count.
    eventually(Duration::from_secs(20), &format!("the quota controller's count of {namespace}"), || async {
        let used = kubectl_admin(&["get", "quota", "no-pods", "-n", &namespace, "-o", "jsonpath={.status.used.pods}"]);
        if used.is_empty() { Err("no count yet".to_string()) } else { Ok(()) }
    })
    .await;
    kubectl_admin(&["delete", "pod", &pod, "-n", &namespace, "--wait=false"]);
    let failing = rollout(TillerState::Failing).await;
    assert!(failing.detail.contains("exceeded quota: no-pods"), "{failing:?}");
    server.stop().await;
    clean_up(&namespace).await;
}

async fn wait_for_tiller_pod(namespace: &str) -> String {
    eventually(Duration::from_secs(20), "the ReplicaSet's Tiller pod", || async {
        let pods = kubectl_admin(&[
            "get",
            "pods",
            "-n",
            namespace,
            "-l",
            "app=helm,name=tiller",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]);
        pods.split_whitespace().next().map(str::to_string).ok_or_else(|| "no pod yet".to_string())
    })
    .await
}
