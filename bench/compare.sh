#!/usr/bin/env bash
# One command: nnconvexity (the authors' PyPI package) against convexlens's native CLI, wasm
# in Node and the page in headless Chromium, on the same generated data; prints a table.
#   bash bench/compare.sh [--sizes 500,1000,10000] [--repeat 3] [--nnc-budget 600] [--force-nnc] [--no-nnc]
# Installs what is missing first (a venv under bench/.venv, playwright-core, Chromium, the
# release CLI, pkg/); the data and results go under bench/data and bench/out.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! bench/.venv/bin/python -c 'import nnconvexity.graph' 2>/dev/null; then
  python3 -m venv bench/.venv
  # nnconvexity declares torch, which only its Euclidean module needs: install it without
  # dependencies and give its graph module what it imports.
  if ! bench/.venv/bin/pip install --no-deps nnconvexity==0.1.1 || ! bench/.venv/bin/pip install -r bench/requirements.txt; then
    echo "blocked: could not install nnconvexity and its graph dependencies from PyPI (error above)" >&2
    exit 1
  fi
fi

[ -x /usr/bin/time ] && [ -x /usr/bin/chromium ] || {
  apt-get update -qq && apt-get install -y -qq --no-install-recommends time chromium
}
[ -d bench/node_modules/playwright-core ] || (cd bench && npm ci --no-audit --no-fund)

# Builds whatever the work tree holds (a no-op when it is fresh).
cargo build --release --quiet --bin convexlens
[ -f pkg/convexlens_bg.wasm ] || bash pkg-config/build.sh

exec bench/.venv/bin/python bench/compare.py "$@"
