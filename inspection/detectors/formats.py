"""The network file formats, each described once: its name (in cards, ``--format``), the suffix of the
file a recipe names, what a registry folder holds for it, the files beside it that the card hashes, and
the backend that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inspection.detectors.network import Network
from inspection.detectors.onnx_backend import OnnxNetwork
from inspection.detectors.openvino_backend import OpenVinoNetwork
from inspection.detectors.ultralytics_backend import UltralyticsNetwork

# (path, imgsz, device, threads, task, parallel) -> the loaded network; task: "detect", "classify" or "anomaly";
# parallel: how many callers run it at once (the station's detect workers), each with ``threads`` threads
NetworkLoader = Callable[[Path, int, str, int, str, int], Network]


@dataclass(frozen=True)
class ModelFormat:
    name: str
    suffix: str
    backend: str  # ModelInfo.backend of what runs it
    registry_entry: str  # the file or folder a registry folder keeps it in
    main_file: str  # the file a recipe names, inside the registry folder
    companions: tuple[str, ...]  # suffixes of the files beside the main one (hashed in the card too)
    load: NetworkLoader
    exportable: bool = True  # made from the weights by ``inspection export``

    def files(self, main: Path) -> list[Path]:
        """The main file and its companions."""
        return [main, *(main.with_suffix(suffix) for suffix in self.companions)]


FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat(
        "pt", ".pt", "ultralytics", "model.pt", "model.pt", (),
        lambda path, imgsz, device, threads, task, parallel: UltralyticsNetwork(path, imgsz, device, threads, task),
        exportable=False,
    ),
    ModelFormat(
        "onnx", ".onnx", "onnxruntime", "model.onnx", "model.onnx", (),
        lambda path, imgsz, device, threads, task, parallel: OnnxNetwork(path, imgsz, device, threads),
    ),
    ModelFormat(
        "openvino", ".xml", "openvino", "model_openvino", "model_openvino/model.xml", (".bin",),
        lambda path, imgsz, device, threads, task, parallel: OpenVinoNetwork(path, imgsz, device, threads, parallel),
    ),
)  # fmt: skip

FORMAT_NAMES = [fmt.name for fmt in FORMATS]
EXPORT_FORMATS = [fmt.name for fmt in FORMATS if fmt.exportable]


def format_named(name: str) -> ModelFormat:
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(f"unknown model format {name!r}; known: {FORMAT_NAMES}")


def format_of(path: Path) -> ModelFormat | None:
    """The format of a network file, by its suffix (None: not a network file)."""
    suffix = path.suffix.lower()
    return next((fmt for fmt in FORMATS if fmt.suffix == suffix), None)
