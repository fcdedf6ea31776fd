# shellcheck shell=bash
# Shared settings for Berth's scripts. Source it; do not run it.
#
# Everything the scripts install lives in a cache outside the repository, keyed by version, so a fresh clone on
# a warm machine skips it and a version bump installs side by side instead of overwriting.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Not BERTH_-prefixed: that prefix belongs to the server's configuration, which rejects unknown keys.
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/berth"
TOOLS_DIR="$CACHE_DIR/tools"

# Pinned tool versions. wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock exactly; tools.sh
# reads it from there, this is only the fallback before the first lockfile exists.
CARGO_LEPTOS_VERSION="0.3.11"
WASM_BINDGEN_FALLBACK_VERSION="0.2.130"
# npm's `binaryen` is Binaryen compiled to WASM: installs in seconds, where the `wasm-opt` crate needs about 9
# minutes of C++ compilation. Debian's binaryen (108) is too old: its output fails to hydrate.
BINARYEN_NPM_VERSION="132.0.0"
# shellcheck disable=SC2034 # read by tools.sh and load.sh, which source this file
OHA_VERSION="1.16.0"

wasm_bindgen_version() {
  local lock="$REPO_ROOT/Cargo.lock"
  if [ -f "$lock" ]; then
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$lock"
  else
    echo "$WASM_BINDGEN_FALLBACK_VERSION"
  fi
}

berth_tool_path() {
  local wb
  wb="$(wasm_bindgen_version)"
  echo "$TOOLS_DIR/cargo-leptos-$CARGO_LEPTOS_VERSION/bin:$TOOLS_DIR/wasm-bindgen-cli-$wb/bin:$TOOLS_DIR/binaryen-$BINARYEN_NPM_VERSION/node_modules/.bin"
}

# The tools must come before /usr/bin: cargo-leptos runs whatever `wasm-opt` it finds first.
PATH="$(berth_tool_path):$PATH"
export PATH

# Each step with the seconds since the script started, so slow steps show in CI logs.
log() { printf '\033[1m==> [%4ss] %s\033[0m\n' "$SECONDS" "$*" >&2; }

# A free TCP port on loopback (the kernel picks it; released before use, so a race is possible but rare).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Builds the site (WASM bundle, stylesheet, assets) and the server binary in release mode with cargo-leptos.
# The served binary must come from the same build as the bundle: a mismatch fails to hydrate.
build_release() {
  log "cargo leptos build --release"
  (cd "$REPO_ROOT" && cargo leptos build --release)
  # Content-hashed names and brotli/gzip copies of the bundle (the server serves them as they are).
  node "$REPO_ROOT/scripts/finish-site.mjs" "$REPO_ROOT/target/site" >&2
}

# Starts the release server in the background on 127.0.0.1:$1 with its data under $2, writing its log to
# $2/berth.log, and waits until /readyz answers. Sets SERVER_PID. Extra BERTH_* settings pass through; single
# sign-on is the development identity provider (start_dev_idp first).
start_release_server() {
  local port="$1" data="$2"
  mkdir -p "$data"
  # Every person the browser tests (and a demo's visitors) play signs in from 127.0.0.1, so the sign-in limit
  # per address is raised unless the caller set it; other BERTH_* variables of the caller pass through.
  # shellcheck disable=SC2046 # word splitting of the NAME=value list is intended
  env $(dev_idp_auth_env) \
    BERTH_HTTP__RATE_LIMITS__SIGN_IN_PER_MINUTE="${BERTH_HTTP__RATE_LIMITS__SIGN_IN_PER_MINUTE:-600}" \
    BERTH_LISTEN="127.0.0.1:$port" \
    BERTH_PUBLIC_URL="http://127.0.0.1:$port" \
    BERTH_DATABASE__URL="sqlite://$data/berth.db" \
    BERTH_SITE_ROOT="$REPO_ROOT/target/site" \
    BERTH_CLUSTER__KUBECONFIG="${LOCAL_CLUSTER_BERTH_KUBECONFIG:?start a cluster first (scripts/cluster.sh up DIR) and set LOCAL_CLUSTER_BERTH_KUBECONFIG=DIR/berth.kubeconfig}" \
    "$REPO_ROOT/target/release/berth-server" >"$data/berth.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$data/berth.log" >&2
      log "berth exited before it was ready"
      return 1
    fi
    [ "$SECONDS" -lt "$deadline" ] || { log "berth not ready within 60 s"; return 1; }
    sleep 0.01
  done
}

stop_release_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# The development identity provider (end2end/dev-idp/main.mjs): a real OpenID provider with seeded people, for
# the demo and the tests only. Starts it on 127.0.0.1:$1, logging to $2, waits for its discovery document, sets
# IDP_PID and exports DEV_IDP_URL (the issuer). `dev_idp_auth_env` prints the settings that point Berth at it.
start_dev_idp() {
  local port="$1" logfile="$2"
  if curl -sS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    log "port $port is taken (another identity provider?); stop it or set DEV_IDP_PORT"
    return 1
  fi
  DEV_IDP_PORT="$port" node "$REPO_ROOT/end2end/dev-idp/main.mjs" >"$logfile" 2>&1 &
  IDP_PID=$!
  local issuer="http://127.0.0.1:$port"
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null "$issuer/.well-known/openid-configuration" 2>/dev/null; do
    if ! kill -0 "$IDP_PID" 2>/dev/null; then
      cat "$logfile" >&2
      log "the development identity provider exited"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      # Say what it said, and leave nothing behind for a second try.
      cat "$logfile" >&2
      log "the development identity provider did not answer within 30 s"
      stop_dev_idp
      return 1
    fi
    sleep 0.1
  done
  export DEV_IDP_URL="$issuer"
}

# For `env`: Berth's single sign-on settings for the development identity provider at $DEV_IDP_URL, with its
# default client secret (end2end/dev-idp/main.mjs); a real deployment sets its own.
dev_idp_auth_env() {
  echo "BERTH_AUTH__ISSUER_URL=${DEV_IDP_URL:-http://127.0.0.1:5556}" "BERTH_AUTH__CLIENT_ID=berth" "BERTH_AUTH__CLIENT_SECRET=berth-dev-secret" "BERTH_AUTH__CLI_CLIENT_ID=berth-cli"
}

stop_dev_idp() {
  [ -n "${IDP_PID:-}" ] || return 0
  kill -TERM "$IDP_PID" 2>/dev/null || true
  wait "$IDP_PID" 2>/dev/null || true
  IDP_PID=""
}

# A throw-away PostgreSQL server for the tests, from Debian's package: data, socket and log in $1, listening on
# 127.0.0.1:$2 with trust authentication (loopback only, deleted after the run). Sets PG_DATA and exports
# TEST_POSTGRES_URL (a superuser URL the tests create their own databases with).
start_test_postgres() {
  local dir="$1" port="$2" bin
  bin="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  [ -x "$bin/initdb" ] || { log "PostgreSQL server not installed (scripts/tools.sh test installs it)"; return 1; }
  mkdir -p "$dir"
  PG_DATA="$dir/data"
  # initdb and postgres refuse to run as root: run them as the package's `postgres` user then.
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    # The postgres user must reach $dir: let it traverse (not list) the parent, typically a mktemp folder.
    chmod o+x "$(dirname "$dir")"
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$PG_DATA" -U berth -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DATA" -l "$dir/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null \
    || { cat "$dir/postgres.log" >&2; return 1; }
  PG_BIN="$bin"
  export TEST_POSTGRES_URL="postgres://berth@127.0.0.1:$port/postgres"
}

stop_test_postgres() {
  [ -n "${PG_DATA:-}" ] && [ -d "$PG_DATA" ] || return 0
  local as=()
  [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  PG_DATA=""
}
