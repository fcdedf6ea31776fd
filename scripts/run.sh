#!/usr/bin/env bash
# Installs what is missing, builds the release site and runs the portal on http://127.0.0.1:3000 with the
# embedded defaults (SQLite under ./data/). Without a KUBECONFIG it starts the local control plane
# (data/cluster) as the demo's cluster and stops it when the portal stops. Ctrl-C stops both.
# Settings: BERTH_* variables or --config FILE (passed on to berth).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

bash scripts/tools.sh build
build_release

if [ -z "${KUBECONFIG:-}" ]; then
  demo_cluster="$REPO_ROOT/data/cluster"
  bash scripts/cluster.sh up "$demo_cluster"
  trap 'bash scripts/cluster.sh down "$demo_cluster"' EXIT
  export KUBECONFIG="$demo_cluster/admin.kubeconfig"
fi

log "Berth on http://${BERTH_LISTEN:-127.0.0.1:3000} (Ctrl-C stops it)"
export BERTH_SITE_ROOT="${BERTH_SITE_ROOT:-$REPO_ROOT/target/site}"
# Not exec: the trap above must run after the server stops.
"$REPO_ROOT/target/release/berth" "$@"
