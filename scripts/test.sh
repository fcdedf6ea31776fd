#!/usr/bin/env bash
# Every check Berth has, in the order that fails fastest: formatting, lints (Rust and shell), Rust tests, the
# release build, then the browser suite against the running release server. This is the README's test command
# and CI's.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

started=$SECONDS
# A CI machine builds each crate once: incremental state would only fill its disk.
[ -n "${CI:-}" ] && export CARGO_INCREMENTAL=0
bash scripts/tools.sh test

log "cargo fmt --check"
cargo fmt --all --check

log "shellcheck (scripts/, .ci/)"
shellcheck scripts/*.sh .ci/run

log "clippy: server side (ssr)"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "clippy: browser side (hydrate, wasm32)"
cargo clippy -p app --all-targets --locked --no-default-features --features hydrate \
  --target wasm32-unknown-unknown -- -D warnings

work="$(mktemp -d)"
trap 'stop_release_server; stop_dev_idp; stop_test_postgres; bash scripts/cluster.sh down "$work/cluster" >/dev/null 2>&1; rm -rf "$work"' EXIT
# A control plane of this run's own (fresh ports, fresh data), beside any demo cluster that may be running.
log "local control plane (built once per pinned version)"
bash scripts/cluster.sh up "$work/cluster"
export LOCAL_CLUSTER_KUBECONFIG="$work/cluster/admin.kubeconfig"
# Berth itself runs with a token of its own ServiceAccount (deploy/base/rbac.yaml), never the admin credential.
export LOCAL_CLUSTER_BERTH_KUBECONFIG="$work/cluster/berth.kubeconfig"
# kubectl of the same release, for the tests that act as an admin (installing deploy/) or as a user would.
PATH="$(bash scripts/cluster.sh bin):$PATH"
export PATH

log "Helm 3, Helm 4, Helm 2 and Tiller (built once per pinned version)"
bash scripts/helm.sh build
# The tests that run real Helm find the four binaries (helm3, helm4, helm2, tiller) here.
HELM_BIN_DIR="$(bash scripts/helm.sh bin)"
export HELM_BIN_DIR

log "PostgreSQL (the store tests run on SQLite and on PostgreSQL)"
start_test_postgres "$work/postgres" "$(free_port)"

log "development identity provider"
# Once more on another port if it does not answer (seen once in CI, with nothing in its log to say why).
start_dev_idp "$(free_port)" "$work/dev-idp.log" || start_dev_idp "$(free_port)" "$work/dev-idp-again.log"

log "Rust tests"
# --nocapture shows the cluster tests' FIGURE lines (measured times) in the log.
cargo test --workspace --locked -- --nocapture

build_release

# The browser bundle holds the islands and nothing else: the pages' formatting (chrono), the router, the
# server function client, serde_json (islands take no props; answers go through the browser's JSON.parse)
# and the server's crates stay on the server. A crate's panic locations (its source
# path) are in the WASM whenever its code is, so its name found there means the code came back.
log "browser bundle: no server-only crates"
for crate in chrono leptos_router serde_qs serde_json sqlx-core kube-client openidconnect; do
  if grep -q -a "/$crate-[0-9]" target/site/pkg/berth.wasm; then
    log "target/site/pkg/berth.wasm contains $crate: an island pulls it in (see twiggy top / dominators)"
    exit 1
  fi
done

log "end2end: type check"
(cd end2end && npx --no-install tsc --noEmit)

port="$(free_port)"
log "starting the release server on 127.0.0.1:$port"
# The browser tests' installation: production needs approvers of two groups (end2end/berth.toml).
BERTH_CONFIG="$REPO_ROOT/end2end/berth.toml" start_release_server "$port" "$work/server"

log "Playwright (Chromium): js-off and js-on"
(cd end2end && E2E_BASE_URL="http://127.0.0.1:$port" npx --no-install playwright test)

log "all tests passed in $((SECONDS - started)) s"
