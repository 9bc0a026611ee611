"""OpenVINO backend (Intel CPUs and GPUs) for models exported with ``inspection export --format openvino``.

An export computes in f32 unless ``inspection export --precision bf16`` recorded ``precision: bf16`` in its
metadata.yaml (after a parity check in bf16). A CPU without native bf16 units runs such an export in f32,
the weights' own numbers: emulated bf16 would be slower than f32 and no longer the checked numbers.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from inspection.core.errors import ModelError, brief
from inspection.core.hashing import file_sha256
from inspection.core.offline import block_openvino_telemetry
from inspection.detectors.base import ModelInfo, model_name
from inspection.detectors.model_checks import check_image_input, check_openvino_ir, class_names, openvino_metadata
from inspection.detectors.network import Network
from inspection.detectors.processing import FloatArray


class OpenVinoNetwork(Network):
    """``parallel`` callers run it side by side (one CPU stream of ``threads`` threads each, an infer request
    per calling thread); with one stream OpenVINO would take their calls one at a time."""

    concurrent = True

    def __init__(self, path: Path, imgsz: int, device: str = "auto", threads: int = 1, parallel: int = 1) -> None:
        block_openvino_telemetry()
        try:
            import openvino as ov  # noqa: PLC0415  (heavy SDK, loaded only when used)
        except ImportError:
            raise ModelError(f"{path}: OpenVINO is not installed; install it or use the .onnx model") from None
        check_openvino_ir(path)
        meta = openvino_metadata(path)
        classes = class_names(meta.get("names"), path, "metadata.yaml beside it")
        core = ov.Core()
        target = "CPU" if device in ("auto", "cpu") else device.upper()
        precision = str(meta.get("precision", "f32"))
        if precision not in PRECISIONS:
            raise ModelError(f"{path}: unknown precision {precision!r} in metadata.yaml; expected one of {PRECISIONS}")
        if target == "CPU" and precision == "bf16" and not cpu_has_bf16(core):
            precision = "f32"
        try:
            model = core.read_model(str(path))
            # The precision is always explicit: on CPUs with bf16 units OpenVINO would otherwise pick bf16
            # for every model (measured on the YOLO model: confidences 0.02 off the weights, a parity failure).
            config: dict[str, Any] = {
                "INFERENCE_NUM_THREADS": threads * parallel,
                "NUM_STREAMS": parallel,
                "INFERENCE_PRECISION_HINT": precision,
            }
            compiled = core.compile_model(model, target, config if target == "CPU" else {})
        except Exception as exc:
            raise ModelError(f"{path}: cannot load OpenVINO model ({brief(exc)})") from None
        shape = compiled.input(0).get_partial_shape()
        check_image_input([d.get_length() if d.is_static else None for d in shape], path)
        if shape[2].is_static:
            imgsz = shape[2].get_length()
        self._compiled = compiled
        self._requests = threading.local()  # an infer request belongs to one thread at a time
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
            precision=precision if target == "CPU" else "device default",
        )

    def forward(self, batch: FloatArray) -> FloatArray:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        outputs = request.infer({0: batch})
        return np.asarray(next(iter(outputs.values())), dtype=np.float32)


PRECISIONS = ("f32", "bf16")


def cpu_has_bf16(core: Any = None) -> bool:
    """Whether OpenVINO finds native bf16 units on this CPU (AVX512_BF16 or AMX)."""
    block_openvino_telemetry()
    import openvino as ov  # noqa: PLC0415  (heavy SDK, loaded only when used)

    capabilities = (core or ov.Core()).get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "BF16" in [str(c).upper() for c in capabilities]
