"""Where records and images go, how images are kept, and how the station runs its queues and measures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from inspection.config.files import Strict


class Retention(Strict):
    """Which stored images are deleted, oldest first, so the disk never fills (the records stay: each
    says when its image was pruned). Off unless the storage section has a ``retention:`` entry."""

    max_age_days: float | None = Field(None, gt=0, description="delete images older than this")
    min_free_gb: float | None = Field(None, gt=0, description="keep at least this much free on the images' disk")
    min_free_percent: float | None = Field(None, gt=0, lt=100, description="... or this share of it")
    keep: Literal["fail_first", "none"] = Field(
        "fail_first",
        description="fail_first: for space, PASS images go before FAIL ones (each oldest first); none: oldest first",
    )
    check_interval_s: float = Field(5.0, gt=0, description="how often ages are checked (space: after every write)")

    @model_validator(mode="after")
    def _something_to_keep(self) -> Retention:
        if self.max_age_days is None and self.min_free_gb is None and self.min_free_percent is None:
            raise ValueError("retention needs max_age_days, min_free_gb or min_free_percent")
        return self


class Storage(Strict):
    data_dir: Path = Path("data")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in data_dir")
    archive: Literal["all", "fail", "none"] = "all"
    image_format: Literal["png", "jpg", "bmp"] = Field("png", description="png/bmp are lossless")
    jpeg_quality: int = Field(95, ge=1, le=100)
    annotated: bool = Field(False, description="also store a copy with the boxes drawn")
    retention: Retention | None = None

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'inspection.db').resolve()}"


class PipelineSettings(Strict):
    queue_size: int = Field(4, ge=1, le=1024, description="frames grabbed ahead of detection")
    record_queue_size: int = Field(256, ge=1)
    device: str = Field("auto", description="auto (CUDA when present), cpu, cuda, cuda:N")
    inference_threads: int | Literal["auto"] = Field(
        "auto", description="CPU threads for the detector; auto = all cores but one (kept for grab and record)"
    )
    parallel_parts: Annotated[int, Field(ge=1, le=16)] | Literal["auto"] = Field(
        "auto",
        description="parts inspected at once, each by its own detect worker (results still in grab order); "
        "auto: 2 on a machine with two or more cores, else 1. A model whose backend takes one call at a "
        "time (PyTorch weights, the anomaly model) still runs one part at a time",
    )
    warmup: bool = True
    trigger: Literal["auto", "manual"] = Field(
        "auto",
        description="auto: parts come as the camera (or the PLC) gives them; manual: one part per press of "
        "Trigger (F8) in the app (needs a software-triggered camera)",
    )
    view_timeout_ms: int = Field(
        2000, ge=10, le=60000, description="a multi-camera part: a view without an image by then is missing (FAIL)"
    )
    parallel_views: bool = Field(True, description="a multi-camera part: inspect the views side by side")
    product_cache: int = Field(
        3, ge=1, le=32, description="models kept loaded for a product changeover (the running one included)"
    )
    preload_products: bool = Field(
        True, description="load the models of the station's recipes (the PLC's indexes) at start, for changeovers"
    )
    outputs_process: bool = Field(
        True,
        description="run the MQTT, fleet and OPC UA outputs in a process of their own, so that their work "
        "never holds the station's interpreter (false: on threads of the station's process)",
    )


class Measurement(Strict):
    """Pixels to millimetres: the camera's calibration (``inspection calibrate camera``) and the scale."""

    calibration: Path | None = Field(None, description="camera calibration file (JSON) for this station's camera")
    undistort: bool = Field(True, description="remove the lens distortion from each frame before inspection")
    mm_per_px: float | None = Field(
        None, gt=0.0, description="scale on the inspection plane; default: the one in the calibration file"
    )
