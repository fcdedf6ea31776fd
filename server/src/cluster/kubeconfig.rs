//! Renders the kubeconfig handed to a requester: one cluster (the API server's external URL and CA), one
//! user (the bound token), one context whose namespace is the granted one. Pure: the token goes in and the
//! YAML comes out, and nothing here logs or keeps either.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Where users reach the API server, and the CA that signs its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiEndpoint {
    pub url: String,
    /// PEM; `None` only for an API server with a publicly trusted certificate.
    pub ca_pem: Option<String>,
}

/// What one kubeconfig is made of.
pub struct Parts<'a> {
    pub endpoint: &'a ApiEndpoint,
    /// Names the cluster, user and context entries: `berth-<namespace>` for a personal one,
    /// `berth-<namespace>-<ci name>` for a CI system, so several merge into one file without clashing.
    pub entry_name: &'a str,
    pub namespace: &'a str,
    pub token: &'a SecretString,
}

/// The kubeconfig as YAML, the way `kubectl` writes it.
pub fn render(parts: &Parts<'_>) -> SecretString {
    use base64::Engine as _;
    let file = File {
        api_version: "v1",
        kind: "Config",
        clusters: [Named {
            name: parts.entry_name,
            cluster: ClusterEntry {
                server: &parts.endpoint.url,
                certificate_authority_data: parts
                    .endpoint
                    .ca_pem
                    .as_ref()
                    .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem)),
            },
        }],
        users: [NamedUser { name: parts.entry_name, user: UserEntry { token: parts.token.expose_secret() } }],
        contexts: [NamedContext {
            name: parts.entry_name,
            context: ContextEntry { cluster: parts.entry_name, user: parts.entry_name, namespace: parts.namespace },
        }],
        current_context: parts.entry_name,
    };
    // Plain scalars, as kubectl writes them: the token and CA on one line each (not folded blocks), so
    // `grep token:` and the simpler YAML readers of CI plugins see them whole.
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    // Serializing these plain structs cannot fail; should it ever, the result is an empty file that the
    // self-check refuses, never a panic.
    SecretString::from(serde_saphyr::to_string_with_options(&file, options).unwrap_or_default())
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct File<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    clusters: [Named<'a>; 1],
    users: [NamedUser<'a>; 1],
    contexts: [NamedContext<'a>; 1],
    current_context: &'a str,
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
    cluster: ClusterEntry<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterEntry<'a> {
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_authority_data: Option<String>,
}

#[derive(Serialize)]
struct NamedUser<'a> {
    name: &'a str,
    user: UserEntry<'a>,
}

#[derive(Serialize)]
struct UserEntry<'a> {
    token: &'a str,
}

#[derive(Serialize)]
struct NamedContext<'a> {
    name: &'a str,
    context: ContextEntry<'a>,
}

#[derive(Serialize)]
struct ContextEntry<'a> {
    cluster: &'a str,
    user: &'a str,
    namespace: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::config::Kubeconfig;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn rendered(ca_pem: Option<&str>) -> String {
        let endpoint = ApiEndpoint { url: "https://k8s.example.com:6443".into(), ca_pem: ca_pem.map(Into::into) };
        let token = SecretString::from("header.payload.signature");
        let parts =
            Parts { endpoint: &endpoint, entry_name: "berth-team-a-jenkins-prod", namespace: "team-a", token: &token };
        render(&parts).expose_secret().to_string()
    }

    #[test]
    fn kube_reads_back_the_cluster_the_token_and_the_namespace() {
        let yaml = rendered(Some(CA));
        let config = Kubeconfig::from_yaml(&yaml).expect("kubectl's format");
        assert_eq!(config.current_context.as_deref(), Some("berth-team-a-jenkins-prod"));
        let cluster = config.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://k8s.example.com:6443"));
        use base64::Engine as _;
        let ca = base64::engine::general_purpose::STANDARD.decode(cluster.certificate_authority_data.as_ref().unwrap());
        assert_eq!(ca.unwrap(), CA.as_bytes());
        let user = config.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(
            user.token.as_ref().map(|t| t.expose_secret().to_string()).as_deref(),
            Some("header.payload.signature")
        );
        let context = config.contexts[0].context.as_ref().unwrap();
        assert_eq!(
            (context.cluster.as_str(), context.namespace.as_deref()),
            ("berth-team-a-jenkins-prod", Some("team-a"))
        );
    }

    #[test]
    fn the_file_is_the_shape_kubectl_writes() {
        insta::assert_snapshot!(rendered(Some(CA)));
    }

    #[test]
    fn a_long_token_stays_on_its_line() {
        let endpoint = ApiEndpoint { url: "https://k8s.example.com".into(), ca_pem: Some("x".repeat(2000)) };
        let token = SecretString::from("eyJhbGciOiJSUzI1NiJ9.".repeat(50));
        let parts = Parts { endpoint: &endpoint, entry_name: "berth-a", namespace: "a", token: &token };
        let yaml = render(&parts).expose_secret().to_string();
        assert!(yaml.lines().any(|line| line.trim() == format!("token: {}", token.expose_secret())), "{yaml}");
    }

    #[test]
    fn without_a_ca_the_system_s_trust_applies() {
        assert!(!rendered(None).contains("certificate-authority-data"));
    }
}
