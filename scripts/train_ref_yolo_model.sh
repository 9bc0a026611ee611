#!/usr/bin/env bash
# Train, check and register deeppcb-ref-yolov8n (the default model before the region classifier) with the
# project's own commands, offline.
#
#   scripts/train_ref_yolo_model.sh [EPOCHS]        (default 42; about 3 minutes an epoch on a 2-core CPU)
#
# Steps: import the shared DeepPCB data with each board stacked with its template (group 77000 held out),
# train YOLOv8n at 320 px, register it, evaluate it on the held-out group (metrics go into its card),
# export to ONNX and OpenVINO with the parity check, compare it with the previous model on the bundled
# sample boards. An interrupted training continues
# where it stopped when the script is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${1:-42}"
NAME="${NAME:-deeppcb-ref-yolov8n}"
PARENT="${PARENT:-deeppcb-yolov8n}"
SOURCE="${SOURCE:-../shared/datasets/deeppcb}"
WORK="${WORK:-runs/ref-yolo-model}"
inspection() { .venv/bin/inspection "$@"; }

[ -f "$WORK/dataset/manifest.yaml" ] || \
    inspection dataset import "$SOURCE" "$WORK/dataset" --val-groups group77000 --input image+reference
if [ -f "$WORK/train/weights/last.pt" ] && ! grep -q "^$EPOCHS," "$WORK/train/results.csv" 2>/dev/null; then
    inspection train --out "$WORK/train" --resume
elif [ ! -f "$WORK/train/weights/best.pt" ]; then
    inspection train --data "$WORK/dataset" --out "$WORK/train" --epochs "$EPOCHS" --imgsz 320 --batch 16 --seed 0
fi
[ -d "models/$NAME" ] || inspection models register "$WORK/train" --name "$NAME" --parent "$PARENT" \
    --notes "DeepPCB boards stacked with their templates; group 77000 held out"
scripts/check_registered_model.sh "$NAME" "$PARENT" "$WORK/dataset" "$WORK"
# Promote it by hand if wanted: inspection models promote "$NAME" --recipe configs/recipes/deeppcb.yaml
inspection models show "$NAME"
