#!/usr/bin/env bash
# Train, check and register the bundled default model with the project's own commands, offline.
#
#   scripts/train_default_model.sh [EPOCHS]        (default 12; about 3 minutes an epoch on a 2-core CPU)
#
# The default model has two stages: the golden-template detector proposes regions where a board differs
# from its template (configs/detectors/golden-template.yaml), and a small classifier names each region or
# rejects it ('none'). Steps: import the shared DeepPCB data with each board stacked with its template
# (group 77000 held out), cut the template detector's regions out as 48 x 48 crops, train the region
# classifier, register it, evaluate the two stages on the held-out group (metrics go into its card), export
# to ONNX and OpenVINO (in bf16 where this CPU has bf16 units) with the parity check, compare it with the
# previous default on the bundled sample boards, and promote it into the demo recipe (as a registry model:
# the station runs it on the GPU when there is one, else its fastest CPU export). An
# interrupted training continues where it stopped when the script is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${1:-12}"
NAME="${NAME:-deeppcb-template-regions}"
PARENT="${PARENT:-deeppcb-ref-yolov8n}"
SOURCE="${SOURCE:-../shared/datasets/deeppcb}"
WORK="${WORK:-runs/default-model}"
inspection() { .venv/bin/inspection "$@"; }

[ -f "$WORK/dataset/manifest.yaml" ] || \
    inspection dataset import "$SOURCE" "$WORK/dataset" --val-groups group77000 --input image+reference
[ -f "$WORK/crops/crops.yaml" ] || inspection dataset crops "$WORK/dataset" "$WORK/crops"
if [ -f "$WORK/train/weights/last.pt" ] && ! grep -q "^$EPOCHS," "$WORK/train/results.csv" 2>/dev/null; then
    inspection train --out "$WORK/train" --resume
elif [ ! -f "$WORK/train/weights/best.pt" ]; then
    inspection train --data "$WORK/crops" --out "$WORK/train" --epochs "$EPOCHS" --seed 0
fi
[ -d "models/$NAME" ] || inspection models register "$WORK/train" --name "$NAME" --parent "$PARENT" \
    --notes "golden-template regions of DeepPCB boards named by a classifier; group 77000 held out"
OPENVINO_PRECISION=$(.venv/bin/python -c \
    'from inspection.detectors.openvino_backend import cpu_has_bf16; print("bf16" if cpu_has_bf16() else "f32")')
export OPENVINO_PRECISION
scripts/check_registered_model.sh "$NAME" "$PARENT" "$WORK/dataset" "$WORK"
inspection models promote "$NAME" --recipe configs/recipes/deeppcb.yaml --by "$(whoami)"
inspection models show "$NAME"
