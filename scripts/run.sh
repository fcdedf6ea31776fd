#!/usr/bin/env bash
# Installs what is missing, builds the release site and runs the portal on http://127.0.0.1:3000 with the
# embedded defaults (SQLite under ./data/). Ctrl-C stops it. Settings: BERTH_* variables or --config FILE.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

bash scripts/tools.sh build
build_release

log "Berth on http://${BERTH_LISTEN:-127.0.0.1:3000} (Ctrl-C stops it)"
export BERTH_SITE_ROOT="${BERTH_SITE_ROOT:-$REPO_ROOT/target/site}"
exec "$REPO_ROOT/target/release/berth" "$@"
