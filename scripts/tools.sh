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

# The folder holding the source of crate `$1` version `$2`, fetched by cargo itself, so whatever registry,
# mirror or source replacement cargo is configured with is used: a throw-away package depends on it exactly,
# and on each further `crate@version` given exactly too, which holds the whole graph at versions the registry
# serves (cargo allows one semver-compatible version of a crate per graph). `cargo metadata` downloads the
# sources and says where they are.
crate_source() {
  local name="$1" version="$2" work="$3"
  shift 3
  mkdir -p "$work/fetch/src"
  : >"$work/fetch/src/lib.rs"
  {
    printf '[package]\nname = "berth-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n'
    printf '%s = "=%s"\n' "$name" "$version"
    local pin
    for pin in "$@"; do printf '%s = "=%s"\n' "${pin%@*}" "${pin#*@}"; done
    # An empty [workspace] keeps cargo from treating a surrounding directory as this package's workspace.
    printf '\n[workspace]\n'
  } >"$work/fetch/Cargo.toml"
  cargo metadata --quiet --format-version 1 --manifest-path "$work/fetch/Cargo.toml" |
    python3 -c '
import json, os, sys
name = sys.argv[1]
paths = [p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == name]
print(os.path.dirname(paths[0]))' "$name"
}

# Builds a crate from its registry source with its own lockfile, after pinning the listed dependencies
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
  # A copy: cargo's own unpacked sources stay as they were.
  cp -R "$(crate_source "$name" "$version" "$work" "$@")" "$work/$name-$version"
  local src="$work/$name-$version"
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
# A Debian package, through apt (and so through whatever mirror the machine is configured with), unless
# `$1` already succeeds.
install_debian_package() {
  local present="$1" package="$2"
  bash -c "$present" >/dev/null 2>&1 && return 0
  log "installing Debian's $package"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}

install_postgresql() {
  install_debian_package 'ls /usr/lib/postgresql/*/bin/initdb' postgresql
}

# The shell scripts' linter, run by `make test`.
install_shellcheck() {
  install_debian_package 'command -v shellcheck' shellcheck
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
  test) install_end2end_packages; install_chromium; install_postgresql; install_shellcheck ;;
  load) install_end2end_packages; install_chromium; install_postgresql; install_oha ;;
  *) echo "usage: tools.sh build|demo|test|load" >&2; exit 2 ;;
esac
