"""Export ultralytics weights to ONNX (offline), for the ONNX Runtime backend."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from inspection.errors import ModelError
from inspection.offline import make_ultralytics_offline


def export_onnx(weights: Path, out: Path, imgsz: int, opset: int | None = None) -> Path:
    """Write ``out`` (.onnx, static ``imgsz`` x ``imgsz`` input, class names in its metadata)."""
    make_ultralytics_offline()
    from ultralytics import YOLO  # noqa: PLC0415

    # ultralytics writes the export beside the weights: work on a copy so that nothing next to the
    # source (an earlier export, a registry folder) is overwritten.
    with tempfile.TemporaryDirectory(prefix="inspection-export-") as work:
        source = Path(work) / weights.name
        shutil.copy2(weights, source)
        try:
            produced = YOLO(str(source)).export(
                format="onnx",
                imgsz=imgsz,
                opset=opset,
                simplify=True,
                dynamic=False,
                half=False,
                nms=False,
                verbose=False,
            )
        except Exception as exc:
            raise ModelError(f"{weights}: ONNX export failed ({type(exc).__name__}: {exc})") from None
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(produced, out)
    return out
