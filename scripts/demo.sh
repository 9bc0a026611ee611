#!/usr/bin/env bash
# Set up (first time) and run the demo station: an emulated Basler camera replays the bundled
# DeepPCB sample boards, the bundled model inspects them, records go to data/inspection.db.
# Extra arguments go to `inspection run` (default: --parts 200).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "$#" -eq 0 ]; then
    set -- --parts 200
fi
exec .venv/bin/inspection run "$@"
