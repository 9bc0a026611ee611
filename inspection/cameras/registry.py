"""The camera types a station can use, by the ``type`` of its ``camera:`` block. A new camera type is its
module (a ``CameraSource`` and a factory taking the settings block) plus one line here; a plug-in may
``register_camera`` instead. Its settings arrive as ``OtherCamera`` (the keys as written) for the
factory to check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspection.cameras.base import CameraSource
from inspection.cameras.folder import FolderSource
from inspection.cameras.opencv_source import OpenCvSource
from inspection.cameras.pylon import PylonSource
from inspection.config import CameraConfig
from inspection.core.errors import ConfigError

CameraFactory = Callable[[Any], CameraSource]  # the camera's settings block -> the source (not opened)

CAMERA_TYPES: dict[str, CameraFactory] = {
    "pylon": PylonSource,
    "opencv": OpenCvSource,
    "folder": FolderSource,
}


def register_camera(name: str, factory: CameraFactory) -> None:
    if name in CAMERA_TYPES:
        raise ValueError(f"a camera type {name!r} is registered already")
    CAMERA_TYPES[name] = factory


def make_camera(config: CameraConfig) -> CameraSource:
    factory = CAMERA_TYPES.get(config.type)
    if factory is None:
        raise ConfigError(f"camera: unknown camera type {config.type!r}; known: {sorted(CAMERA_TYPES)}")
    return factory(config)
