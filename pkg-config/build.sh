#!/usr/bin/env bash
# Builds the WebAssembly package into pkg/ (what index.html and the npm package use).
# Installs what the build needs when it is missing: the wasm32 target, the wasm-bindgen CLI
# at exactly the version in Cargo.lock, and binaryen's wasm-opt from npm (Debian's is too old).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# A fresh Debian machine may lack the toolchains themselves.
missing=()
command -v curl >/dev/null || missing+=(curl ca-certificates)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v python3 >/dev/null || missing+=(python3)
python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  export PATH="$HOME/.cargo/bin:$PATH"
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$version" --locked || cargo install wasm-bindgen-cli --version "$version"
fi

[ -x pkg-config/node_modules/.bin/wasm-opt ] || npm ci --prefix pkg-config --no-audit --no-fund --loglevel=error

# Two modules: pkg/ with simd128 (about five times faster neighbour search; every current
# browser and Node runs it) and pkg/plain/ without, which www/worker.js loads where a SIMD
# module does not validate. The SIMD build has its own target dir, as its RUSTFLAGS would
# otherwise invalidate the plain build's cache each time.
cargo build --release --lib --target wasm32-unknown-unknown --no-default-features
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" \
  cargo build --release --lib --target wasm32-unknown-unknown --no-default-features --target-dir target/simd128
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name convexlens target/simd128/wasm32-unknown-unknown/release/convexlens.wasm
wasm-bindgen --target web --out-dir pkg/plain --out-name convexlens target/wasm32-unknown-unknown/release/convexlens.wasm
features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals)
pkg-config/node_modules/.bin/wasm-opt -O3 "${features[@]}" --enable-simd pkg/convexlens_bg.wasm -o pkg/convexlens_bg.wasm
pkg-config/node_modules/.bin/wasm-opt -O3 "${features[@]}" pkg/plain/convexlens_bg.wasm -o pkg/plain/convexlens_bg.wasm
crate_version="$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)"
sed "s/@VERSION@/$crate_version/" pkg-config/package.json.in > pkg/package.json
cp pkg-config/README.md pkg/README.md
rm -f pkg/.gitignore pkg/plain/.gitignore
echo "built pkg/ ($(du -h pkg/convexlens_bg.wasm | cut -f1) wasm with SIMD, $(du -h pkg/plain/convexlens_bg.wasm | cut -f1) without)"
