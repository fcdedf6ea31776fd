//go:build tools

// The Helm clients the tests run, pinned by this module's go.mod and built by scripts/helm.sh: Helm 3 and
// Helm 4, because Berth's "Helm 3 or later" mode must work with both.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
	_ "helm.sh/helm/v4/cmd/helm"
)
