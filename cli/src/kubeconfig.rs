//! The kubeconfig `berth kubeconfig --exec` writes, and the ExecCredential `berth token` prints.
//!
//! The kubeconfig is JSON (which kubectl reads like YAML): the cluster's address and CA, a context in the
//! namespace, and a user that is an `exec` credential plugin running `berth token NAMESPACE`. No token is
//! in the file: kubectl asks for one of a few minutes whenever the last one ends, so revoking access stops
//! new tokens at once.

use anyhow::anyhow;
use serde_json::{Value, json};

/// A kubeconfig for `namespace` on the cluster Berth describes (`cluster`: its `server` and
/// `certificate_authority_data`), whose user runs this very program.
pub fn with_exec_plugin(cluster: &Value, namespace: &str, robot: Option<&str>, server: &str) -> anyhow::Result<String> {
    let program = std::env::current_exe()?.to_string_lossy().into_owned();
    let mut args = vec!["token".to_string(), namespace.to_string(), "--server".to_string(), server.to_string()];
    if let Some(robot) = robot {
        args.extend(["--robot".to_string(), robot.to_string()]);
    }
    let name = match robot {
        Some(robot) => format!("berth-{namespace}-{robot}"),
        None => format!("berth-{namespace}"),
    };
    let mut cluster_entry = json!({ "server": cluster["server"] });
    if let Some(ca) = cluster["certificate_authority_data"].as_str() {
        cluster_entry["certificate-authority-data"] = json!(ca);
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": name, "cluster": cluster_entry }],
        "users": [{ "name": name, "user": { "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": program,
            "args": args,
            "interactiveMode": "Never",
            "provideClusterInfo": false,
        } } }],
        "contexts": [{ "name": name, "context": { "cluster": name, "user": name, "namespace": namespace } }],
        "current-context": name,
    });
    Ok(serde_json::to_string_pretty(&config)?)
}

/// The ExecCredential kubectl reads from `berth token`: the token and when it ends.
pub fn exec_credential(issued: &Value) -> anyhow::Result<String> {
    let token = issued["token"].as_str().ok_or_else(|| anyhow!("Berth's answer has no token"))?;
    let credential = json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": { "token": token, "expirationTimestamp": issued["expires_at"] },
    });
    Ok(credential.to_string())
}
