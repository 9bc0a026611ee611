#!/usr/bin/env bash
# Create .venv and install the station with everything the tests need. Safe to run again: it
# reinstalls only when pyproject.toml (or this script) changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: Python >= 3.11 is needed ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 2
fi

stamp=".venv/.installed-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
    exit 0
fi

echo "setting up .venv (first time: a few minutes; PyTorch is large) ..." >&2
[ -d .venv ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# PyTorch pinned first (pip, not uv/poetry: the CUDA build also runs on CPU-only machines).
.venv/bin/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/python -m pip install --quiet -e ".[dev]"
# ultralytics pulls the GUI build of OpenCV only through opencv-python; keep the headless one alone.
if .venv/bin/python -m pip show opencv-python >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall --quiet -y opencv-python
    .venv/bin/python -m pip install --quiet --force-reinstall --no-deps opencv-python-headless
fi
rm -f .venv/.installed-*
touch "$stamp"
echo "setup done: .venv" >&2
