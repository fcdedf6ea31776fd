//! How to use a kubeconfig from Berth, for a namespace's Helm mode: the one source of the usage help on the
//! grant page and of what the tests execute (`server/tests/it/helm.rs` runs every line shown here with the
//! real `kubectl`, Helm 3, Helm 4, Helm 2 and Tiller), so the help cannot drift from what works.

use super::HelmMode;

/// The chart and release every snippet uses, as placeholders a reader replaces with their own.
pub const CHART: &str = "./chart";
pub const RELEASE: &str = "my-app";
/// The name the Jenkins snippet gives the file's credential.
pub fn jenkins_credential(namespace: &str) -> String {
    format!("berth-{namespace}")
}

/// Usage of one namespace's kubeconfigs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// The name the personal kubeconfig downloads as.
    pub personal_file: String,
    /// The name a CI kubeconfig downloads as, with `<name>` for the name given at download.
    pub ci_file: String,
    /// A shell session on the requester's machine, in the folder holding the personal kubeconfig and the
    /// chart: commands, with `#` comments.
    pub shell: Vec<String>,
    /// The commands of a CI job (the `sh` steps of a Jenkins pipeline), run with `KUBECONFIG` naming the CI
    /// kubeconfig, in a workspace holding `k8s/` manifests (Helm 3 mode only) and the chart.
    pub ci_steps: Vec<String>,
}

impl Usage {
    pub fn for_namespace(namespace: &str, helm_mode: HelmMode) -> Self {
        let personal_file = format!("{namespace}.kubeconfig");
        let ci_file = format!("{namespace}-<name>.kubeconfig");
        let mut shell = vec![
            format!("export KUBECONFIG=$PWD/{personal_file}"),
            format!("kubectl get pods    # in {namespace}, the context's namespace: no --namespace needed"),
        ];
        let ci_steps = match helm_mode {
            HelmMode::NoTiller => {
                shell.extend([
                    format!("# Helm 3 or 4: releases are Secrets in {namespace}"),
                    format!("helm upgrade --install {RELEASE} {CHART}"),
                    "helm list".to_string(),
                ]);
                vec!["kubectl apply -f k8s/".to_string(), format!("helm upgrade --install {RELEASE} {CHART}")]
            }
            HelmMode::Tiller => {
                // `helm` v2 finds Tiller's pod with this kubeconfig and port-forwards to it: all the kubeconfig
                // may do. Everything else (kubectl apply included) goes through Tiller, which may act in the
                // namespace only.
                let helm = format!("helm --tiller-namespace {namespace}");
                shell.extend([
                    format!(
                        "# Helm 2: reaches {namespace}'s own Tiller by port-forward (it takes no other connections)"
                    ),
                    format!("{helm} upgrade --install {RELEASE} {CHART}"),
                    format!("{helm} list"),
                ]);
                vec![format!("{helm} upgrade --install {RELEASE} {CHART}"), format!("{helm} status {RELEASE}")]
            }
        };
        Usage { personal_file, ci_file, shell, ci_steps }
    }

    /// The shell session as shown.
    pub fn shell_text(&self) -> String {
        self.shell.join("\n")
    }

    /// The Jenkins pipeline steps (inside a declarative `steps { }` or a scripted `node { }`): the CI steps
    /// with `KUBECONFIG` naming the file from Jenkins' credential store for the block.
    pub fn jenkinsfile(&self, namespace: &str) -> String {
        let steps: String = self.ci_steps.iter().map(|step| format!("    sh '{step}'\n")).collect();
        format!(
            "withCredentials([file(credentialsId: '{}', variable: 'KUBECONFIG')]) {{\n{steps}}}",
            jenkins_credential(namespace)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_3_mode_applies_manifests_and_installs_with_the_context_namespace() {
        let usage = Usage::for_namespace("team-a-ci", HelmMode::NoTiller);
        assert_eq!(usage.personal_file, "team-a-ci.kubeconfig");
        assert_eq!(usage.ci_file, "team-a-ci-<name>.kubeconfig");
        // The context presets the namespace: no command names one (comments may say so).
        let commands = usage.shell.iter().map(|line| line.split('#').next().unwrap_or_default());
        assert!(commands.clone().all(|command| !command.contains("--namespace") && !command.contains(" -n ")));
        assert_eq!(commands.filter(|command| !command.trim().is_empty()).count(), 4);
        assert_eq!(
            usage.jenkinsfile("team-a-ci"),
            "withCredentials([file(credentialsId: 'berth-team-a-ci', variable: 'KUBECONFIG')]) {\n    \
             sh 'kubectl apply -f k8s/'\n    sh 'helm upgrade --install my-app ./chart'\n}"
        );
    }

    #[test]
    fn tiller_mode_goes_through_tiller_only() {
        let usage = Usage::for_namespace("team-a-ci", HelmMode::Tiller);
        // The Tiller-mode identity may list pods and port-forward, nothing else: no kubectl apply.
        assert!(usage.ci_steps.iter().all(|step| step.starts_with("helm --tiller-namespace team-a-ci ")));
        assert!(usage.shell_text().contains("helm --tiller-namespace team-a-ci upgrade --install my-app ./chart"));
    }
}
