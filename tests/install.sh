#!/usr/bin/env bash
# Installs what the tests need beyond the build (pkg-config/build.sh): Debian's Chromium and
# ChromeDriver (Playwright's own browser download cannot work here), the end-to-end tests'
# npm packages, and a Python virtual environment for the oracle and the fixtures.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi

[ -d tests/e2e/node_modules/playwright-core ] || npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error

if ! .venv/bin/python -c "import numpy, scipy, sklearn, safetensors" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
