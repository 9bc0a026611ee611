"""Which file of a registry model runs, on which device.

A recipe may name a registry model (its folder, or its name in the project's registry) instead of one
file. The station then picks by the device it finds: with a CUDA GPU, the PyTorch weights on the GPU
(ONNX Runtime's CUDA or TensorRT provider when it is installed and the model has an ONNX export, whose
parity was checked when it was made); without one, the fastest CPU export the model has (OpenVINO, else
ONNX, else the weights). ``inspection bench`` reports the choice and why.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inspection.core.errors import ModelError
from inspection.detectors.card import CARD, read_card
from inspection.detectors.formats import format_named, format_of
from inspection.ml.registry.store import DEFAULT_REGISTRY, default_file

NVIDIA_DRIVER = (Path("/proc/driver/nvidia/version"), Path("/dev/nvidia0"))


@dataclass(frozen=True)
class BackendChoice:
    path: Path  # the model file to load
    device: str  # what to load it on: cpu, cuda:0, ...
    reason: str

    def as_json(self) -> dict[str, str]:
        fmt = format_of(self.path)
        return {
            "file": str(self.path),
            "format": fmt.name if fmt else self.path.suffix,
            "device": self.device,
            "reason": self.reason,
        }


def cuda_available() -> bool:
    """A CUDA GPU this process can use (the NVIDIA driver is looked for first: importing PyTorch to ask
    costs a second and 300 MB on a machine that has none)."""
    if not any(path.exists() for path in NVIDIA_DRIVER):
        return False
    try:
        import torch  # noqa: PLC0415  (heavy SDK, only on a machine with an NVIDIA driver)
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def onnxruntime_gpu_available() -> bool:
    """ONNX Runtime with a CUDA or TensorRT execution provider (the onnxruntime-gpu package)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    import onnxruntime as ort  # noqa: PLC0415  (only asked on a machine with a GPU)

    available = set(ort.get_available_providers())
    return bool(available & {"CUDAExecutionProvider", "TensorrtExecutionProvider"})


def registry_folder(model: Path, registry: Path = DEFAULT_REGISTRY) -> Path | None:
    """The registry folder a recipe's ``model`` names (a folder with a card, or a bare name in
    ``registry``), or None when it names a file."""
    if model.is_dir():
        if not (model / CARD).is_file():
            raise ModelError(f"{model}: a folder without {CARD}; name a registry model folder or a model file")
        return model
    if model.exists() or model.suffix:
        return None
    candidate = registry / model.name
    if (candidate / CARD).is_file():
        return candidate
    raise ModelError(
        f"{model}: no such model file, and no model named {model.name!r} in the registry {registry}; "
        "see 'inspection models list'"
    )


def select_backend(folder: Path, device: str = "auto", cuda: Callable[[], bool] = cuda_available) -> BackendChoice:
    """The file of registry model ``folder`` to run, and where. ``device``: auto, cpu, or cuda[:N];
    ``cuda`` answers whether a GPU is there (forced in tests)."""
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise ModelError(f"device {device!r}: use auto, cpu or cuda[:N]")
    if device.startswith("cuda") or (device == "auto" and cuda()):
        gpu = device if device.startswith("cuda") else "cuda:0"
        exports = read_card(folder).exports
        if "onnx" in exports and onnxruntime_gpu_available():
            return BackendChoice(
                folder / str(exports["onnx"]["file"]),
                gpu,
                "CUDA present: the ONNX export on ONNX Runtime's GPU provider",
            )
        return BackendChoice(folder / format_named("pt").main_file, gpu, "CUDA present: the PyTorch weights on the GPU")
    chosen = default_file(folder)
    fmt = format_of(chosen)
    name = fmt.name if fmt else chosen.suffix
    why = "no CUDA GPU" if device == "auto" else "device cpu asked for"
    return BackendChoice(chosen, "cpu", f"{why}: the fastest CPU format the model has ({name})")


def resolve_model_file(
    model: Path, device: str = "auto", registry: Path = DEFAULT_REGISTRY, cuda: Callable[[], bool] = cuda_available
) -> BackendChoice:
    """What a recipe's ``model`` runs as: a file is loaded as it is (on ``device``); a registry model by
    ``select_backend``."""
    folder = registry_folder(model, registry)
    if folder is None:
        return BackendChoice(model, device, "the recipe names this file")
    return select_backend(folder, device, cuda)
