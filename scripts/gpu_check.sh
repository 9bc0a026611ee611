#!/usr/bin/env bash
# The GPU check, on a machine with one NVIDIA GPU (target: under 8 minutes):
#   1. the CUDA tests (pytest -m cuda; skipped on a machine without a GPU),
#   2. inspection bench --json on the GPU (the demo station: the registry model selected onto the GPU),
#   3. one full training of the default detector's region classifier on the GPU from ../shared data
#      (stacked dataset, template regions, 12 epochs, group 77000 held out), evaluated on its held-out group.
# Figures go to runs/gpu-check/ (bench.json, evaluation.json, timings.txt); quote them in the README.
#
#   scripts/gpu_check.sh [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${1:-12}"
SOURCE="${SOURCE:-../shared/datasets/deeppcb}"
WORK="${WORK:-runs/gpu-check}"
[ -x .venv/bin/inspection ] || bash scripts/setup.sh
inspection() { .venv/bin/inspection "$@"; }
if ! .venv/bin/python -c 'import sys; from inspection.ml.registry.selection import cuda_available as c; sys.exit(0 if c() else 3)'; then
    echo "gpu_check: no CUDA GPU visible to PyTorch here (nvidia driver, torch.cuda.is_available()); nothing to check" >&2
    exit 3
fi
mkdir -p "$WORK"
timings="$WORK/timings.txt"
: > "$timings"
step() {  # step NAME COMMAND...: run it, note its wall time
    local name="$1"; shift
    local started=$SECONDS
    "$@"
    echo "$name: $((SECONDS - started)) s" | tee -a "$timings"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$WORK/gpu.txt"
step "cuda tests" .venv/bin/pytest -m cuda -q -p no:cacheprovider
step "bench on the GPU" bash -c "set -o pipefail; .venv/bin/inspection bench --parts 200 --json | tee '$WORK/bench.json'"
[ -f "$WORK/dataset/manifest.yaml" ] || \
    step "stack the dataset" inspection dataset import "$SOURCE" "$WORK/dataset" --val-groups group77000 --input image+reference
[ -f "$WORK/crops/crops.yaml" ] || step "cut template regions" inspection dataset crops "$WORK/dataset" "$WORK/crops"
rm -rf "$WORK/train"
step "train on the GPU ($EPOCHS epochs)" inspection train --data "$WORK/crops" --out "$WORK/train" --epochs "$EPOCHS" --device 0
rm -rf "$WORK/registry"
inspection models --registry "$WORK/registry" register "$WORK/train" --name gpu-check --notes "scripts/gpu_check.sh"
step "evaluate on group 77000" inspection evaluate --registry "$WORK/registry" --model gpu-check --data "$WORK/dataset" \
    --json "$WORK/evaluation.json"
echo "gpu_check: done; figures in $WORK (bench.json, evaluation.json, timings.txt)"
