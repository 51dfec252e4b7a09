#!/usr/bin/env bash
# Build the browser UI into ui/dist (idempotent; works from any directory).
#
#   ui/build.sh            # then: multiregion serve --ui-dir ui/dist
#
# Needs the wasm32 target and the wasm-bindgen CLI at exactly the version ui/Cargo.toml pins;
# both are installed here when missing (from crates.io; no prebuilt downloads).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
dist=$root/ui/dist

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen library exactly, or the generated glue will not load.
version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' ui/Cargo.toml)
if [[ -z $version ]]; then
  echo "ui/build.sh: ui/Cargo.toml must pin wasm-bindgen with \"=X.Y.Z\"" >&2
  exit 1
fi
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $version" ]]; then
  # Not --locked: one of the CLI's locked dependencies is not on the registry.
  cargo install wasm-bindgen-cli --version "$version"
fi

cargo build -p ui --target wasm32-unknown-unknown --release
rm -rf "$dist"
mkdir -p "$dist"
wasm-bindgen --target web --no-typescript --out-dir "$dist" \
  "$target_dir/wasm32-unknown-unknown/release/ui.wasm"
cp ui/index.html ui/style.css "$dist/"
echo "UI built in $dist"
