"""Camera sources behind one interface, and the wrapper that keeps them going through faults."""

from __future__ import annotations

from inspection.cameras.base import CameraSource, ResilientCamera
from inspection.cameras.folder import FolderSource
from inspection.cameras.opencv_source import OpenCvSource
from inspection.cameras.pylon import PylonSource
from inspection.config import CameraConfig, FolderCamera, OpenCvCamera, PylonCamera


def make_camera(config: CameraConfig) -> CameraSource:
    if isinstance(config, PylonCamera):
        return PylonSource(config)
    if isinstance(config, OpenCvCamera):
        return OpenCvSource(config)
    if isinstance(config, FolderCamera):
        return FolderSource(config)
    raise TypeError(f"unknown camera config {type(config).__name__}")


__all__ = ["CameraSource", "ResilientCamera", "make_camera"]
