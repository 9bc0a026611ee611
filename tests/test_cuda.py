"""On a CUDA GPU (skipped without one; ``scripts/gpu_check.sh`` runs these): the default recipe's registry
model is selected onto the GPU, and gives the verdicts and detections of its CPU export there."""

from __future__ import annotations

import cv2
import pytest
from conftest import DEMO_RECIPE, SAMPLE_IMAGES

from inspection.config import load_recipe
from inspection.detectors import load_detector
from inspection.ml.registry.selection import cuda_available, resolve_model_file
from inspection.quality.rules import decide

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU on this machine")]


def test_the_default_model_runs_on_the_gpu_with_the_verdicts_of_its_cpu_export() -> None:
    recipe = load_recipe(DEMO_RECIPE)
    gpu_choice = resolve_model_file(recipe.model, "auto")
    assert gpu_choice.device.startswith("cuda"), gpu_choice.reason
    cpu_choice = resolve_model_file(recipe.model, "cpu")
    gpu, cpu = (
        load_detector(c.path, recipe.imgsz, c.device, recipe.iou, recipe.classes, reference=recipe.reference)
        for c in (gpu_choice, cpu_choice)
    )
    assert gpu.info.device.startswith("cuda")
    for path in sorted(SAMPLE_IMAGES.iterdir()):
        image = cv2.imread(str(path))
        on_gpu, on_cpu = gpu.predict(image, 0.25).detections, cpu.predict(image, 0.25).detections
        assert decide(on_gpu, recipe).verdict == decide(on_cpu, recipe).verdict, path.name
        # Every confident GPU detection is there on the CPU too (confidences may differ a little).
        for found in (d for d in on_gpu if d.confidence >= 0.6):
            assert any(d.label == found.label and d.box == found.box and d.confidence >= 0.4 for d in on_cpu), (
                path.name,
                found,
            )
