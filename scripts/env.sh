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

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
