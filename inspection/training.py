"""Train a YOLO detector with ultralytics, offline (no hub, no downloads, no analytics)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspection.offline import make_ultralytics_offline


@dataclass(frozen=True)
class TrainSettings:
    data_yaml: Path
    project: Path
    name: str = "train"
    architecture: str = "yolov8n.yaml"  # built from its YAML: no pretrained weights are fetched
    epochs: int = 20
    imgsz: int = 320
    batch: int = 16
    workers: int = 2
    seed: int = 0
    device: str | None = None  # None: CUDA when present, else CPU
    fraction: float = 1.0


def train(settings: TrainSettings) -> Path:
    """Train and return the path of the best weights."""
    make_ultralytics_offline()
    from ultralytics import YOLO  # noqa: PLC0415  (heavy, imported only here)

    model = YOLO(settings.architecture)
    model.train(
        data=str(settings.data_yaml),
        project=str(settings.project.resolve()),
        name=settings.name,
        exist_ok=True,
        epochs=settings.epochs,
        imgsz=settings.imgsz,
        batch=settings.batch,
        workers=settings.workers,
        seed=settings.seed,
        deterministic=True,
        device=settings.device,
        fraction=settings.fraction,
        pretrained=False,
        amp=False,  # the AMP check would download reference weights
        plots=False,  # plots download a font
        # Binarised grayscale boards: colour jitter teaches nothing; flips and shifts do.
        hsv_h=0.0,
        hsv_s=0.0,
        hsv_v=0.0,
        fliplr=0.5,
        flipud=0.5,
        degrees=0.0,
        translate=0.1,
        scale=0.2,
        mosaic=1.0,
        close_mosaic=3,
        cache="ram",
        verbose=True,
    )
    best = settings.project.resolve() / settings.name / "weights" / "best.pt"
    return best
