"""Pixels to millimetres at the station: the camera's calibration (undistortion) and the scale.

The scale comes from the station's ``measurement.mm_per_px`` or, failing that, from the calibration
file (``inspection calibrate scale --save``).
"""

from __future__ import annotations

from dataclasses import dataclass

from calibration.camera import CalibrationError, CameraCalibration, Undistorter
from inspection.config import Measurement
from inspection.core.errors import ConfigError


@dataclass(frozen=True)
class StationMeasurement:
    undistort: Undistorter | None
    mm_per_px: float | None


def load_measurement(settings: Measurement, camera_serial: str | None) -> StationMeasurement:
    """The undistortion and scale the station uses; a clear error for a missing or foreign calibration."""
    calibration = None
    if settings.calibration is not None:
        try:
            calibration = CameraCalibration.load(settings.calibration)
        except CalibrationError as exc:
            raise ConfigError(f"measurement.calibration: {exc}") from None
        if camera_serial is not None and calibration.camera != camera_serial:
            raise ConfigError(
                f"measurement.calibration: {settings.calibration} is for camera {calibration.camera}, but this "
                f"station's camera is {camera_serial}; calibrate this camera (inspection calibrate camera)"
            )
    undistort = calibration.undistorter() if calibration is not None and settings.undistort else None
    mm_per_px = settings.mm_per_px or (calibration.mm_per_px if calibration is not None else None)
    return StationMeasurement(undistort, mm_per_px)
