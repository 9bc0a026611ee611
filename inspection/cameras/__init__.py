"""Camera sources behind one interface, and the wrapper that keeps them going through faults."""

from __future__ import annotations

from inspection.cameras.base import CameraSource, ResilientCamera
from inspection.cameras.registry import CAMERA_TYPES, make_camera, register_camera

__all__ = ["CAMERA_TYPES", "CameraSource", "ResilientCamera", "make_camera", "register_camera"]
