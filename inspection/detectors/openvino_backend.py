"""OpenVINO backend (Intel CPUs and GPUs) for models exported with ``inspection export --format openvino``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from inspection.detectors.base import Detector, ModelInfo, file_sha256, model_name
from inspection.detectors.processing import FloatArray
from inspection.errors import ModelError, brief
from inspection.offline import block_openvino_telemetry


class OpenVinoDetector(Detector):
    def __init__(self, path: Path, imgsz: int, device: str = "auto", iou: float = 0.5, threads: int = 1) -> None:
        block_openvino_telemetry()
        try:
            import openvino as ov  # noqa: PLC0415
        except ImportError:
            raise ModelError(f"{path}: OpenVINO is not installed; install it or use the .onnx model") from None
        core = ov.Core()
        target = "CPU" if device in ("auto", "cpu") else device.upper()
        try:
            model = core.read_model(str(path))
            # f32: on CPUs with bf16 units OpenVINO would otherwise compute in bf16 (measured: confidences
            # 0.02 off the weights, which fails the export parity check).
            config: dict[str, Any] = {
                "INFERENCE_NUM_THREADS": threads,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",
            }
            compiled = core.compile_model(model, target, config if target == "CPU" else {})
        except Exception as exc:
            raise ModelError(f"{path}: cannot load OpenVINO model ({brief(exc)})") from None
        meta = _metadata(path)
        names = meta.get("names")
        if not names:
            raise ModelError(f"{path}: no class names (metadata.yaml beside it); export it with 'inspection export'")
        classes = [str(names[i]) for i in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]
        shape = compiled.input(0).get_partial_shape()
        if shape[2].is_static:
            imgsz = shape[2].get_length()
        self._request = compiled.create_infer_request()
        self.iou = iou
        self.info = ModelInfo(
            model_name(path),
            path,
            file_sha256(path),
            classes,
            "openvino",
            target.lower(),
            imgsz,
            threads,
            input_mode=meta.get("input_mode", "image"),
        )

    def _forward(self, batch: FloatArray) -> FloatArray:
        outputs = self._request.infer({0: batch})
        return np.asarray(next(iter(outputs.values())), dtype=np.float32)


def _metadata(path: Path) -> dict[str, Any]:
    meta_file = path.with_name("metadata.yaml")
    if not meta_file.is_file():
        return {}
    data = yaml.safe_load(meta_file.read_text())
    return data if isinstance(data, dict) else {}
