#!/usr/bin/env bash
# Installs what is missing, builds the release site and runs the portal on http://127.0.0.1:3000 with the
# embedded defaults (SQLite under ./data/). Without a KUBECONFIG it starts the local control plane
# (data/cluster) as the demo's cluster; without single sign-on settings (BERTH_AUTH__ISSUER_URL or a config
# file) it starts the development identity provider on 127.0.0.1:5556. Both stop when the portal stops (Ctrl-C).
# Settings: BERTH_* variables or --config FILE (passed on to berth).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

bash scripts/tools.sh demo
build_release

demo_cluster=""
cleanup() {
  stop_dev_idp
  if [ -n "$demo_cluster" ]; then bash scripts/cluster.sh down "$demo_cluster"; fi
}
trap cleanup EXIT

if [ -z "${KUBECONFIG:-}" ]; then
  demo_cluster="$REPO_ROOT/data/cluster"
  bash scripts/cluster.sh up "$demo_cluster"
  # Berth runs with its own least-privilege ServiceAccount; the admin credential is for you (kubectl).
  export BERTH_CLUSTER__KUBECONFIG="${BERTH_CLUSTER__KUBECONFIG:-$demo_cluster/berth.kubeconfig}"
  log "cluster admin credential for kubectl: KUBECONFIG=$demo_cluster/admin.kubeconfig"
fi

# Single sign-on: the development identity provider on :5556, unless an issuer is configured.
if [ -z "${BERTH_AUTH__ISSUER_URL:-}" ] && [ -z "${BERTH_CONFIG:-}" ] && [[ " $* " != *" --config "* ]]; then
  mkdir -p "$REPO_ROOT/data"
  start_dev_idp "${DEV_IDP_PORT:-5556}" "$REPO_ROOT/data/dev-idp.log"
  # shellcheck disable=SC2046 # word splitting of the NAME=value list is intended
  export $(dev_idp_auth_env)
  log "development identity provider on $DEV_IDP_URL: sign in as alice, bob, carol, dave, erin or frank (password: dev)"
  # The demo decides by the documented four-stage policy (its roles name the dev provider's groups).
  export BERTH_CONFIG="$REPO_ROOT/deploy/policy.example.toml"
fi

export BERTH_METRICS__LISTEN="${BERTH_METRICS__LISTEN:-127.0.0.1:3001}"
log "Berth on http://${BERTH_LISTEN:-127.0.0.1:3000}, its metrics on http://$BERTH_METRICS__LISTEN/metrics (Ctrl-C stops it)"
export BERTH_SITE_ROOT="${BERTH_SITE_ROOT:-$REPO_ROOT/target/site}"
export BERTH_PUBLIC_URL="${BERTH_PUBLIC_URL:-http://${BERTH_LISTEN:-127.0.0.1:3000}}"
# Not exec: the trap above must run after the server stops.
"$REPO_ROOT/target/release/berth-server" "$@"
