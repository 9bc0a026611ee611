"""ultralytics ``.pt`` weights, run as a plain PyTorch module on CUDA when present, else CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from inspection.core.errors import ModelError, brief
from inspection.core.hashing import file_sha256
from inspection.core.offline import make_ultralytics_offline
from inspection.detectors.base import ModelInfo, model_name
from inspection.detectors.network import Network
from inspection.detectors.processing import FloatArray


def pick_torch_device(requested: str) -> str:
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    if requested == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device '{requested}' asked for, but no CUDA GPU is available; use device: auto or cpu")
    return requested


class UltralyticsNetwork(Network):
    def __init__(self, path: Path, imgsz: int, device: str = "auto", threads: int = 1, task: str = "detect") -> None:
        make_ultralytics_offline()
        import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)
        from ultralytics.nn.tasks import load_checkpoint  # noqa: PLC0415  (heavy SDK, loaded only when used)

        self._torch = torch
        torch.set_num_threads(threads)  # explicit: the OMP_NUM_THREADS that ultralytics sets is not a plan
        self.device = pick_torch_device(device)
        try:
            model, _ = load_checkpoint(str(path), device=self.device, fuse=True)
        except Exception as exc:  # corrupt or foreign file: many error types
            raise ModelError(
                f"{path}: cannot load model weights ({brief(exc)}); check the file or export it again"
            ) from None
        model = model.float().eval()
        names: Any = getattr(model, "names", None)
        if not isinstance(names, dict | list) or getattr(model, "task", "detect") != task:
            raise ModelError(f"{path}: not a YOLO {'detection' if task == 'detect' else task} model")
        classes = [names[i] for i in range(len(names))] if isinstance(names, dict) else list(names)
        self._model = model
        self.info = ModelInfo(
            model_name(path), path, file_sha256(path), classes, "ultralytics", self.device, imgsz, threads
        )

    def forward(self, batch: FloatArray) -> FloatArray:
        torch = self._torch
        with torch.inference_mode():
            tensor = torch.from_numpy(batch).to(self.device)
            output = self._model(tensor)
            if isinstance(output, tuple | list):
                output = output[0]
            return np.asarray(output.float().cpu().numpy(), dtype=np.float32)
