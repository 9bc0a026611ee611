"""ONNX Runtime backend for exported models (CUDA/TensorRT execution providers when present)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspection.core.errors import ModelError, brief
from inspection.core.hashing import file_sha256
from inspection.detectors.base import ModelInfo, model_name
from inspection.detectors.model_checks import check_image_input, class_names
from inspection.detectors.network import Network
from inspection.detectors.processing import FloatArray

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


class OnnxNetwork(Network):
    concurrent = True  # an InferenceSession runs calls from several threads side by side

    def __init__(self, path: Path, imgsz: int, device: str = "auto", threads: int = 1) -> None:
        import onnxruntime as ort  # noqa: PLC0415  (heavy SDK, loaded only when used)

        available = ort.get_available_providers()
        providers = ["CPUExecutionProvider"] if device == "cpu" else [p for p in PREFERRED_PROVIDERS if p in available]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:
            raise ModelError(f"{path}: cannot load ONNX model ({brief(exc)})") from None
        meta = session.get_modelmeta().custom_metadata_map
        classes = class_names(meta.get("names"), path, "the ONNX file's metadata")
        shape = session.get_inputs()[0].shape
        check_image_input(shape, path)
        if isinstance(shape[2], int) and shape[2] != imgsz:
            imgsz = shape[2]  # a static export fixes the input size
        self._session = session
        self._input = session.get_inputs()[0].name
        used = session.get_providers()[0].replace("ExecutionProvider", "").lower()
        self.info = ModelInfo(
            model_name(path),
            path,
            file_sha256(path),
            classes,
            "onnxruntime",
            used,
            imgsz,
            threads,
            input_mode=meta.get("input_mode", "image"),  # type: ignore[arg-type]
        )

    def forward(self, batch: FloatArray) -> FloatArray:
        outputs = self._session.run(None, {self._input: batch})
        return np.asarray(outputs[0], dtype=np.float32)
