#!/usr/bin/env bash
# Prints the figures issues ask for, measured on this machine from the current release build:
# bundle sizes, binary size, the local control plane's disk and start-up time, Berth's start-up time to
# /readyz, idle memory, and the Approvals page benchmark (10,000 requests on SQLite). Builds what is missing
# first.
#
#   scripts/figures.sh            the table
#   STARTS=10 scripts/figures.sh  more start-ups for the timing (default 5; the median is printed)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

build_release >/dev/null 2>&1 || build_release

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
# Raw, and the gzip and brotli copies scripts/finish-site.mjs prepared (what browsers download).
raw_and_compressed() {
  local file="$1"
  [ -f "$file.br" ] || { log "missing $file.br: is the release build complete?"; exit 1; }
  printf '%s raw, %s gzip, %s brotli' "$(kib "$(stat -c %s "$file")")" "$(kib "$(stat -c %s "$file.gz")")" \
    "$(kib "$(stat -c %s "$file.br")")"
}

pkg="target/site/pkg"
echo "| figure | value |"
echo "|---|---|"
# One bundle for every page: only the islands' code is in it.
echo "| WASM bundle (berth.wasm, every page) | $(raw_and_compressed "$pkg/berth.wasm") |"
echo "| JS glue (berth.js) | $(raw_and_compressed "$pkg/berth.js") |"
echo "| stylesheet (berth.css) | $(raw_and_compressed "$pkg/berth.css") |"
echo "| server binary (target/release/berth-server) | $(awk -v b="$(stat -c %s target/release/berth-server)" 'BEGIN { printf "%.1f MiB", b / 1048576 }') |"

# The local control plane: disk of the built binaries, and `up` to ready (certificates, etcd, API server,
# controller manager publishing kube-root-ca.crt) on a fresh folder. It stays up for the measurements below
# (Berth needs a cluster credential to start).
base="$(mktemp -d)"
trap 'stop_release_server; stop_dev_idp; bash scripts/cluster.sh down "$base/cluster" >/dev/null 2>&1; rm -rf "$base"' EXIT
bash scripts/cluster.sh build
bin_dir="$(bash scripts/cluster.sh bin)"
echo "| local control plane binaries ($(basename "$(dirname "$bin_dir")")) | $(du -sh "$bin_dir" | cut -f1) |"
t0=$(date +%s%N)
bash scripts/cluster.sh up "$base/cluster" >/dev/null 2>&1
t1=$(date +%s%N)
echo "| local control plane: up to ready, fresh folder | $(((t1 - t0) / 1000000)) ms |"
export LOCAL_CLUSTER_KUBECONFIG="$base/cluster/admin.kubeconfig"
export LOCAL_CLUSTER_BERTH_KUBECONFIG="$base/cluster/berth.kubeconfig"

# Start-up: from exec to the first 200 from /readyz, each time with a fresh database (migrations included).
starts="${STARTS:-5}"
times=()
for _ in $(seq "$starts"); do
  work="$(mktemp -d)"
  port="$(free_port)"
  t0=$(date +%s%N)
  start_release_server "$port" "$work"
  t1=$(date +%s%N)
  times+=($(((t1 - t0) / 1000000)))
  stop_release_server
  rm -rf "$work"
done
median="$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
echo "| start-up to /readyz, fresh database (median of $starts) | ${median} ms (all: ${times[*]}) |"

# Idle memory: after start-up and one render of each page a visitor who has not signed in may see (the others
# answer 401 without a session), then a pause.
work="$(mktemp -d)"
port="$(free_port)"
start_release_server "$port" "$work"
for path in / /no-access "/sign-in/failed?reason=expired"; do
  curl -fsS -o /dev/null "http://127.0.0.1:$port$path"
done
for path in /requests/new /requests /approvals /admin; do
  curl -sS -o /dev/null "http://127.0.0.1:$port$path"
done
sleep 2
rss_kib="$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")"
echo "| server idle RSS (after one render of each page) | $(awk -v k="$rss_kib" 'BEGIN { printf "%.1f MiB", k / 1024 }') |"
stop_release_server

# First load of each page on a cold cache, on loopback and on an emulated 10 Mbit/s line with 40 ms round trips
# (end2end/perf/first-load.mjs, in Chromium).
bash scripts/tools.sh test >/dev/null
work="$(mktemp -d)"
port="$(free_port)"
start_dev_idp "$(free_port)" "$base/dev-idp-first-load.log" >/dev/null
start_release_server "$port" "$work"
echo
node end2end/perf/first-load.mjs "http://127.0.0.1:$port" "${FIRST_LOAD_RUNS:-3}"
echo
stop_release_server
stop_dev_idp
echo "| figure | value |"
echo "|---|---|"

# The Approvals page with 10,000 pending requests on SQLite (server/benches/approvals.rs): signs in through
# the development identity provider, so it runs one.
start_dev_idp "$(free_port)" "$base/dev-idp.log" >/dev/null
cargo bench -q -p berth-server --bench approvals 2>/dev/null | sed -n 's/^FIGURE \(.*\): \(median.*\)$/| \1 | \2 |/p'
# The admin dashboard and audit log with 10,000 grants and 50,000 kubeconfigs (server/benches/dashboard.rs),
# with the query plans behind them.
# shellcheck disable=SC2016 # the backquotes are Markdown, not a command
cargo bench -q -p berth-server --bench dashboard 2>/dev/null |
  sed -n -e 's/^FIGURE \(.*\): \(median.*\)$/| \1 | \2 |/p' -e 's/^FIGURE \(.*\): \(.*\)$/| \1 | \2 |/p' -e 's/^PLAN \(.*\): \(.*\)$/| query plan: \1 | `\2` |/p'

# Approval to ready and a kubeconfig download against the local control plane, with the API calls each
# makes (server/benches/provisioning.rs).
PATH="$(bash scripts/cluster.sh bin):$PATH" \
  cargo bench -q -p berth-server --bench provisioning 2>/dev/null | sed -n 's/^FIGURE \(.*\): \(.*\)$/| \1 | \2 |/p'
# The drift watch at 1,000 quiet ready grants: API calls and memory (server/benches/drift.rs).
PATH="$(bash scripts/cluster.sh bin):$PATH" \
  cargo bench -q -p berth-server --bench drift 2>/dev/null | sed -n 's/^FIGURE \(.*\): \(.*\)$/| \1 | \2 |/p'
# The time kubectl waits for a fresh token from `berth kubeconfig --exec`'s plugin (`berth token`), median and
# p90 of 10, against a server in the test (debug builds: the integration test server/tests/it/cli.rs).
start_dev_idp "$(free_port)" "$base/dev-idp-cli.log" >/dev/null
cargo build -q -p berth-cli
PATH="$(bash scripts/cluster.sh bin):$PATH" \
  cargo test -q -p berth-server --test it cli::berth_kubeconfig_exec -- --nocapture 2>/dev/null |
  sed -n 's/^FIGURE \(.*\): \(.*\)$/| \1 (debug build) | \2 |/p'
stop_dev_idp
