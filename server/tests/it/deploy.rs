//! The manifests in `deploy/` as a platform team applies them: the example overlay, server-side dry run
//! against the local control plane (schema, field validation and admission: the `restricted` Pod Security
//! level of Berth's namespace, which `scripts/cluster.sh up` installed from the same files).

use std::path::Path;

fn kubectl(args: &[&str]) -> (bool, String, String) {
    let output = crate::support::kubectl_admin_command().args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

#[test]
fn the_example_overlay_applies_cleanly_with_a_server_side_dry_run() {
    let overlay = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/overlays/example");
    let overlay = overlay.to_str().unwrap();
    let (ok, out, err) =
        kubectl(&["apply", "--server-side", "--dry-run=server", "--field-manager=berth-deploy-check", "-k", overlay]);
    assert!(ok, "{out}{err}");
    // No warning either: an unknown field, a deprecated API or a Pod Security violation would print one.
    assert!(err.trim().is_empty(), "{err}");
    let mut applied: Vec<&str> =
        out.lines().filter_map(|line| line.strip_suffix(" serverside-applied (server dry run)")).collect();
    applied.sort();
    let expected = [
        "clusterrole.rbac.authorization.k8s.io/berth",
        "clusterrole.rbac.authorization.k8s.io/tiller-user",
        "clusterrolebinding.rbac.authorization.k8s.io/berth",
        "deployment.apps/berth",
        "ingress.networking.k8s.io/berth",
        "namespace/berth",
        "namespace/berth-identities",
        "networkpolicy.networking.k8s.io/berth",
        "poddisruptionbudget.policy/berth",
        "role.rbac.authorization.k8s.io/berth-credentials",
        "rolebinding.rbac.authorization.k8s.io/berth-credentials",
        "service/berth",
        "serviceaccount/berth",
        "validatingadmissionpolicy.admissionregistration.k8s.io/berth-confinement",
        "validatingadmissionpolicybinding.admissionregistration.k8s.io/berth-confinement",
    ];
    let names: Vec<&str> = applied
        .iter()
        .copied()
        .filter(|name| !name.starts_with("configmap/") && !name.starts_with("secret/"))
        .collect();
    assert_eq!(names, expected, "{out}");
    // The generated ConfigMap and Secret carry a hash of their content, so a change rolls the pods.
    assert!(applied.iter().any(|name| name.starts_with("configmap/berth-config-")), "{out}");
    assert!(applied.iter().any(|name| name.starts_with("secret/berth-secrets-")), "{out}");
}

#[test]
fn the_deployment_runs_two_restricted_replicas_with_probes_and_limits() {
    let overlay = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/overlays/example");
    let (ok, out, err) = kubectl(&["kustomize", overlay.to_str().unwrap()]);
    assert!(ok, "{err}");
    let deployment = out.split("\n---\n").find(|doc| doc.contains("kind: Deployment")).expect("a Deployment");
    for expected in [
        "replicas: 2",
        "path: /healthz",
        "path: /readyz",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "runAsNonRoot: true",
        "memory: 256Mi",
        "image: registry.example.com/platform/berth:0.1.0",
        "value: 0.0.0.0:9090",
    ] {
        assert!(deployment.contains(expected), "{expected} missing from\n{deployment}");
    }
}
