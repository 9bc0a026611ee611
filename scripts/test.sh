#!/usr/bin/env bash
# Set up (first time) and run every check: ruff, mypy, import-linter contracts, and the pytest suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# strace lets the offline test watch native code's system calls too; install it where we can.
if ! command -v strace >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq strace) >/dev/null 2>&1 || echo "note: strace not installed" >&2
fi
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports
echo "== pytest" && .venv/bin/pytest "$@"
