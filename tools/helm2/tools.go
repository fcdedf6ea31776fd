//go:build tools

// Helm 2's client and Tiller, for the tests of Berth's Tiller mode, built by scripts/helm.sh. k8s.io/helm
// v2.17.0 has no go.mod (it was built with glide), so this module pins what its glide.yaml asked for, in
// versions the module proxy serves: Kubernetes 1.16.15 with every staging module replaced by its v0.16.15
// tag (as Kubernetes' own go.mod does with ./staging), gRPC 1.23 and protobuf 1.3 of that time, and the
// last sql-migrate that does not import the vanished gopkg.in/gorp.v1. The three modules the proxy does not
// serve at all are in stubs/, each saying why.
package tools

import (
	_ "k8s.io/helm/cmd/helm"
	_ "k8s.io/helm/cmd/tiller"
)
