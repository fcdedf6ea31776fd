#!/usr/bin/env bash
# Load figures: oha (a second process) against one Berth replica, the release binary on SQLite with 10,000
# pending requests, beside a minimal axum handler in the same run; and the replica's memory. Prints a table.
# Installs oha and builds what is missing first; starts a local control plane and the development identity
# provider of its own.
#
#   scripts/load.sh                                 10 s per target, 16 connections
#   LOAD_SECONDS=30 LOAD_CONNECTIONS=64 scripts/load.sh
#
# Loopback only, bounded in time. A shared 2-core machine gives figures that vary between runs; the ratio to
# the minimal handler, measured in the same run, is the stable part.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

bash scripts/tools.sh load
build_release >/dev/null 2>&1 || build_release

work="$(mktemp -d)"
trap 'stop_dev_idp; bash scripts/cluster.sh down "$work/cluster" >/dev/null 2>&1; rm -rf "$work"' EXIT
bash scripts/cluster.sh up "$work/cluster" >/dev/null
export LOCAL_CLUSTER_KUBECONFIG="$work/cluster/admin.kubeconfig"
export LOCAL_CLUSTER_BERTH_KUBECONFIG="$work/cluster/berth.kubeconfig"
start_dev_idp "$(free_port)" "$work/dev-idp.log"
export OHA="$TOOLS_DIR/oha-$OHA_VERSION/bin/oha"
cargo bench --locked -p berth-server --bench load 2>/dev/null
