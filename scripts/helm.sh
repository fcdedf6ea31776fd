#!/usr/bin/env bash
# The real Helm clients and Tiller the tests run against the local control plane, built from Go modules like
# the control plane itself (scripts/cluster.sh) into the same cache, once per pinned module set:
#
#   helm3, helm4    Helm 3 and Helm 4 (tools/helm/go.mod): Berth's "Helm 3 or later" mode must work with both
#   helm2, tiller   Helm 2.17's client and Tiller (tools/helm2/go.mod), for Tiller mode
#
#   scripts/helm.sh build   build whatever is missing (idempotent; seconds when all is there)
#   scripts/helm.sh bin     print the directory holding the four binaries
#
# Each binary has its own name so that one PATH holds all four; a test that runs a snippet saying `helm`
# links the version it means as `helm` in a directory of its own.
set -euo pipefail
source "$(dirname "$0")/env.sh"

HELM_MODULE="$REPO_ROOT/tools/helm"
HELM2_MODULE="$REPO_ROOT/tools/helm2"

# pinned MODULE_DIR MODULE: the version go.mod requires of MODULE.
pinned() {
  awk -v module="$2" '$1 == module && $2 ~ /^v/ { print $2; exit }
    $1 == "require" && $2 == module { print $3; exit }' "$1/go.mod"
}

# Keyed by the exact module sets: any change to a go.mod/go.sum (or a stub of Helm 2's) builds anew, beside.
pin_hash() {
  (cd "$REPO_ROOT" && find tools/helm tools/helm2 -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-12
}

HELM3_VERSION="$(pinned "$HELM_MODULE" helm.sh/helm/v3)"
HELM4_VERSION="$(pinned "$HELM_MODULE" helm.sh/helm/v4)"
HELM2_VERSION="$(pinned "$HELM2_MODULE" k8s.io/helm)"
HELM2_VERSION="${HELM2_VERSION%+incompatible}"
for version in "$HELM3_VERSION" "$HELM4_VERSION" "$HELM2_VERSION"; do
  [ -n "$version" ] || { echo "cannot read a pinned Helm version from tools/helm*/go.mod" >&2; exit 1; }
done
BIN_DIR="$CACHE_DIR/helm-$HELM3_VERSION-$HELM4_VERSION-$HELM2_VERSION-$(pin_hash)/bin"

build() {
  local name
  local missing=()
  for name in helm3 helm4 helm2 tiller; do
    [ -x "$BIN_DIR/$name" ] || missing+=("$name")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local partial="$BIN_DIR.partial"
  mkdir -p "$partial"
  # What `helm version` reports; without these the builds call themselves "v3.22", "v4.3" and "v2.17+unreleased".
  local helm3_flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION"
  local helm4_flags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION"
  local helm2_flags="-s -w -X k8s.io/helm/pkg/version.Version=$HELM2_VERSION -X k8s.io/helm/pkg/version.BuildMetadata="
  helm2_flags+=" -X k8s.io/helm/pkg/version.GitTreeState=clean"
  local started
  for name in "${missing[@]}"; do
    started=$SECONDS
    log "building $name from Go modules (once per version; takes minutes)"
    case "$name" in
      helm3) (cd "$HELM_MODULE" && go build -mod=readonly -trimpath -ldflags "$helm3_flags" -o "$partial/helm3" helm.sh/helm/v3/cmd/helm) ;;
      helm4) (cd "$HELM_MODULE" && go build -mod=readonly -trimpath -ldflags "$helm4_flags" -o "$partial/helm4" helm.sh/helm/v4/cmd/helm) ;;
      helm2) (cd "$HELM2_MODULE" && go build -mod=readonly -trimpath -ldflags "$helm2_flags" -o "$partial/helm2" k8s.io/helm/cmd/helm) ;;
      tiller) (cd "$HELM2_MODULE" && go build -mod=readonly -trimpath -ldflags "$helm2_flags" -o "$partial/tiller" k8s.io/helm/cmd/tiller) ;;
    esac
    log "built $name in $((SECONDS - started)) s, $(du -h "$partial/$name" | cut -f1)"
  done
  mkdir -p "$BIN_DIR"
  for name in "${missing[@]}"; do
    mv "$partial/$name" "$BIN_DIR/$name"
  done
  rmdir "$partial"
}

case "${1:-}" in
  build) build ;;
  bin) echo "$BIN_DIR" ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
