#!/usr/bin/env bash
# The checks every registered model of the DeepPCB chain goes through, offline, with the project's commands:
#
#   [OPENVINO_PRECISION=bf16] scripts/check_registered_model.sh NAME PARENT DATASET WORK
#
# evaluate NAME on DATASET's validation split (metrics into its card and models/NAME/evaluation.*),
# export it to ONNX and OpenVINO (in OPENVINO_PRECISION, default f32) with the parity check, and compare it
# with PARENT on the bundled sample boards (models/NAME/compare-with-PARENT.md); WORK holds the sample's
# truth labels.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME="$1" PARENT="$2" DATASET="$3" WORK="$4"
inspection() { .venv/bin/inspection "$@"; }

inspection evaluate --model "$NAME" --data "$DATASET" --save-to-card \
    --json "models/$NAME/evaluation.json" --markdown "models/$NAME/evaluation.md"
inspection export --model "$NAME" --format onnx
inspection export --model "$NAME" --format openvino --precision "${OPENVINO_PRECISION:-f32}"
# The truth for the comparison: every _test board has defects (a non-empty label file), templates none.
TRUTH="$WORK/sample-truth"
mkdir -p "$TRUTH"
for board in datasets/deeppcb-sample/images/*_test.jpg; do echo "defect" > "$TRUTH/$(basename "${board%.jpg}").txt"; done
inspection compare --baseline "$PARENT" --candidate "$NAME" datasets/deeppcb-sample/images \
    --reference 'datasets/deeppcb-sample/images/*_temp.jpg' --labels "$TRUTH" \
    --report "models/$NAME/compare-with-$PARENT.md"
