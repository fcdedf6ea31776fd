// Kubernetes 1.16 lists k8s.io/sample-cli-plugin among its staging modules, but the module proxy serves no v0.16 of it
// and nothing Helm 2 builds imports it: an empty module satisfies the requirement.
module k8s.io/sample-cli-plugin
