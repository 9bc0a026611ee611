"""Export ultralytics weights to ONNX (offline), for the ONNX Runtime backend."""

from __future__ import annotations

import shutil
from pathlib import Path

from inspection.errors import ModelError
from inspection.offline import make_ultralytics_offline


def export_onnx(weights: Path, out: Path, imgsz: int, opset: int | None = None) -> Path:
    """Write ``out`` (.onnx, static ``imgsz`` x ``imgsz`` input, class names in its metadata)."""
    make_ultralytics_offline()
    from ultralytics import YOLO  # noqa: PLC0415

    try:
        produced = YOLO(str(weights)).export(
            format="onnx", imgsz=imgsz, opset=opset, simplify=True, dynamic=False, half=False, nms=False, verbose=False
        )
    except Exception as exc:
        raise ModelError(f"{weights}: ONNX export failed ({type(exc).__name__}: {exc})") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    if Path(produced).resolve() != out.resolve():
        shutil.move(produced, out)
    return out
