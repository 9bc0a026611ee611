#!/usr/bin/env bash
# Set up (first time) and run every check: ruff, mypy, import-linter contracts, and the pytest suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Debian tools the tests use, installed where we can: strace lets the offline test watch native code's
# system calls too; pdftoppm (poppler-utils) renders the shift report's PDF to check it; mosquitto is the
# MQTT broker and PostgreSQL the fleet database that the line-integration tests start on loopback
# themselves (and stop: nothing stays running, nothing listens beyond 127.0.0.1).
missing=""
command -v strace >/dev/null 2>&1 || missing="$missing strace"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # shellcheck disable=SC2086  # one word per package
    (apt-get update -qq && apt-get install -y -qq $missing) >/dev/null 2>&1 || echo "note: could not install$missing" >&2
fi
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports
echo "== pytest" && .venv/bin/pytest "$@"
