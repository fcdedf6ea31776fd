#!/usr/bin/env bash
# Installs what building and testing Berth needs, skipping whatever is already there.
#
#   scripts/tools.sh build    Rust targets and components, cargo-leptos, wasm-bindgen, wasm-opt
#   scripts/tools.sh demo     the above, plus the Node packages of end2end/ (the development identity provider)
#   scripts/tools.sh test     the above, plus Debian's Chromium and PostgreSQL server
#   scripts/tools.sh load     the above, plus oha (the HTTP load generator scripts/load.sh runs)
#
# Nothing is downloaded at build time: cargo-leptos finds every helper on PATH (see scripts/env.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"

want="${1:-build}"
# From the repository, so rustup applies rust-toolchain.toml.
cd "$REPO_ROOT"

rust_parts() {
  local installed
  installed="$(rustup target list --installed)"
  grep -qx wasm32-unknown-unknown <<<"$installed" || { log "rustup: wasm32 target"; rustup target add wasm32-unknown-unknown; }
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
}

# Builds a crate from its crates.io source with its own lockfile, after pinning the listed dependencies
# (`crate@version` each). Needed because the lockfiles these tools ship pin crates that need a newer rustc
# than ours or that the registry here does not serve.
install_crate_from_source() {
  local name="$1" version="$2" bin="$3"
  shift 3
  local root="$TOOLS_DIR/$name-$version"
  [ -x "$root/bin/$bin" ] && return 0
  log "installing $name $version (once per version; takes minutes)"
  local work
  work="$(mktemp -d)"
  curl -fsSL "https://static.crates.io/crates/$name/$name-$version.crate" | tar -xz -C "$work"
  local src="$work/$name-$version"
  # An empty [workspace] keeps cargo from treating a surrounding directory as this crate's workspace.
  printf '\n[workspace]\n' >>"$src/Cargo.toml"
  local pin
  for pin in "$@"; do
    (cd "$src" && cargo update --quiet -p "${pin%@*}" --precise "${pin#*@}")
  done
  # Install into a temporary root, then rename: an interrupted install never looks complete.
  cargo install --quiet --locked --path "$src" --root "$root.partial" --target-dir "$work/target"
  rm -rf "$root" && mv "$root.partial" "$root"
  rm -rf "$work"
}

# oha, from crates.io with its own lockfile (it builds with our rustc as published).
install_oha() {
  local root="$TOOLS_DIR/oha-$OHA_VERSION"
  [ -x "$root/bin/oha" ] && return 0
  log "installing oha $OHA_VERSION (once per version; takes minutes)"
  local work
  work="$(mktemp -d)"
  cargo install --quiet --locked oha --version "$OHA_VERSION" --root "$root.partial" --target-dir "$work/target"
  rm -rf "$root" && mv "$root.partial" "$root"
  rm -rf "$work"
}

install_binaryen() {
  local dir="$TOOLS_DIR/binaryen-$BINARYEN_NPM_VERSION"
  [ -x "$dir/node_modules/.bin/wasm-opt" ] && return 0
  log "installing wasm-opt (npm binaryen $BINARYEN_NPM_VERSION)"
  mkdir -p "$dir.partial"
  npm install --silent --no-audit --no-fund --prefix "$dir.partial" "binaryen@$BINARYEN_NPM_VERSION"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

install_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  log "installing Debian's chromium"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
}

# PostgreSQL's server, for the store tests that run on both backends.
install_postgresql() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && return 0
  log "installing Debian's postgresql"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

install_end2end_packages() {
  local e2e="$REPO_ROOT/end2end"
  # npm ci wipes node_modules every time; skip it when the lockfile has not changed since the last install.
  local stamp="$e2e/node_modules/.berth-lock-sha"
  local sha
  sha="$(sha256sum "$e2e/package-lock.json" | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ] && return 0
  log "npm ci in end2end/"
  (cd "$e2e" && npm ci --silent --no-audit --no-fund)
  echo "$sha" >"$stamp"
}

mkdir -p "$TOOLS_DIR"
rust_parts
# cargo-leptos 0.3.11 pins cargo-util-schemas 0.14.2, which needs rustc 1.96.
install_crate_from_source cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-leptos cargo-util-schemas@0.14.1
# wasm-bindgen-cli 0.2.130 pins webpki-roots 1.0.11, which the registry here does not serve.
install_crate_from_source wasm-bindgen-cli "$(wasm_bindgen_version)" wasm-bindgen webpki-roots@1.0.10
install_binaryen

case "$want" in
  build) ;;
  demo) install_end2end_packages ;;
  test) install_end2end_packages; install_chromium; install_postgresql ;;
  load) install_end2end_packages; install_chromium; install_postgresql; install_oha ;;
  *) echo "usage: tools.sh build|demo|test|load" >&2; exit 2 ;;
esac
