"""Camera sources behind one interface, and the wrapper that keeps them going through faults."""

from __future__ import annotations

from inspection.cameras.base import CameraSource, ResilientCamera
from inspection.config import CameraConfig, FolderCamera, OpenCvCamera, PylonCamera


def make_camera(config: CameraConfig) -> CameraSource:
    if isinstance(config, PylonCamera):
        from inspection.cameras.pylon import PylonSource  # noqa: PLC0415  (pypylon loads only here)

        return PylonSource(config)
    if isinstance(config, OpenCvCamera):
        from inspection.cameras.opencv_source import OpenCvSource  # noqa: PLC0415

        return OpenCvSource(config)
    if isinstance(config, FolderCamera):
        from inspection.cameras.folder import FolderSource  # noqa: PLC0415

        return FolderSource(config)
    raise TypeError(f"unknown camera config {type(config).__name__}")


__all__ = ["CameraSource", "ResilientCamera", "make_camera"]
