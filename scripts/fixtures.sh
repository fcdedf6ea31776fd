#!/usr/bin/env bash
# The services the Rust tests need, started once and then reused: a test run by plain `cargo test` (from an
# editor, one test alone) asks this script for whatever `scripts/test.sh` did not provide through its
# variables. Each command prints one line, what the tests need to reach the service; everything else goes to
# stderr. The services keep running for the next run; `stop` ends them.
#
#   scripts/fixtures.sh cluster    the local control plane (scripts/cluster.sh up); prints its folder
#   scripts/fixtures.sh idp        the development identity provider; prints its issuer URL
#   scripts/fixtures.sh postgres   a PostgreSQL server for the store tests; prints a superuser URL
#   scripts/fixtures.sh helm       the real Helm clients and Tiller (scripts/helm.sh build); prints their folder
#   scripts/fixtures.sh stop       stops the services above
set -euo pipefail
source "$(dirname "$0")/env.sh"

# Under /tmp: throw-away data, and PostgreSQL's own user must be able to reach it (it cannot enter /root).
FIXTURES="${TMPDIR:-/tmp}/berth-fixtures-$(id -u)"
mkdir -p "$FIXTURES"
# One caller at a time starts a service (test binaries and editors may ask at once). The services started are
# not given the lock's descriptor (`9>&-`), or they would hold it for as long as they run.
exec 9>"$FIXTURES/lock"
flock 9

answers() { curl -fsS -o /dev/null "$1" 2>/dev/null; }

cluster() {
  bash "$REPO_ROOT/scripts/cluster.sh" up "$FIXTURES/cluster" >&2 9>&-
  echo "$FIXTURES/cluster"
}

idp() {
  local port_file="$FIXTURES/idp.port"
  if [ -f "$port_file" ] && answers "http://127.0.0.1:$(cat "$port_file")/.well-known/openid-configuration"; then
    echo "http://127.0.0.1:$(cat "$port_file")"
    return
  fi
  [ -d "$REPO_ROOT/end2end/node_modules" ] || (cd "$REPO_ROOT/end2end" && npm ci --silent --no-audit --no-fund >&2)
  start_dev_idp "$(free_port)" "$FIXTURES/idp.log" >&2 9>&-
  # Left running for the next test run (start_dev_idp's process outlives this script).
  echo "$IDP_PID" >"$FIXTURES/idp.pid"
  echo "${DEV_IDP_URL##*:}" >"$port_file"
  echo "$DEV_IDP_URL"
}

postgres() {
  local port_file="$FIXTURES/postgres.port"
  if [ -f "$port_file" ] && (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$port_file")") 2>/dev/null; then
    echo "postgres://berth@127.0.0.1:$(cat "$port_file")/postgres"
    return
  fi
  rm -rf "$FIXTURES/postgres"
  start_test_postgres "$FIXTURES/postgres" "$(free_port)" >&2 9>&-
  local address="${TEST_POSTGRES_URL%/postgres}"
  echo "${address##*:}" >"$port_file"
  echo "$TEST_POSTGRES_URL"
}

helm() {
  bash "$REPO_ROOT/scripts/helm.sh" build >&2
  bash "$REPO_ROOT/scripts/helm.sh" bin
}

stop() {
  bash "$REPO_ROOT/scripts/cluster.sh" down "$FIXTURES/cluster" >&2 || true
  if [ -f "$FIXTURES/idp.pid" ]; then kill -TERM "$(cat "$FIXTURES/idp.pid")" 2>/dev/null || true; fi
  if [ -d "$FIXTURES/postgres/data" ]; then
    PG_DATA="$FIXTURES/postgres/data" PG_BIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    stop_test_postgres
  fi
  rm -f "$FIXTURES/idp.pid" "$FIXTURES/idp.port" "$FIXTURES/postgres.port"
}

case "${1:-}" in
  cluster | idp | postgres | helm | stop) "$1" ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
