#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what the tests need, then runs them.
# Needs only Python 3.11, pip and apt (redis-server, prometheus, chromium
# and chromium-driver come from Debian if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests run for real: redis-server, and prometheus (2.42, for the
# scrape test of tests/deploy), chromium and chromium-driver (the review page in a real
# headless browser, tests/service/test_review_page.py); installed only when missing.
MISSING=""
command -v redis-server >/dev/null 2>&1 || MISSING="$MISSING redis-server"
command -v prometheus >/dev/null 2>&1 || MISSING="$MISSING prometheus"
[ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
[ -x /usr/bin/chromedriver ] || MISSING="$MISSING chromium-driver"
if [ -n "$MISSING" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check aurora_stream tests bench
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
