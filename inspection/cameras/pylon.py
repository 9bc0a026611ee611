"""Basler cameras through pypylon, including pylon's camera emulator (``PYLON_CAMEMU``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inspection.cameras.base import Adjustable, CameraLost, CameraSource, GrabFailed
from inspection.cameras.pylon_nodes import (
    REGION_NODES,
    enable_trigger_counter,
    feature_node,
    pylon_message,
    region_limits,
    set_feature,
    set_first_feature,
    set_pixel_format,
    trigger_count,
    writable_node,
)
from inspection.config import PylonCamera
from inspection.core.errors import CameraError
from inspection.core.types import Frame

# The files pylon's emulator replays (fewer than the folder source reads: no webp); the replay list
# must match the emulator's own so that each frame can be named after its file.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def enable_emulation(count: int) -> None:
    """Ask pylon for ``count`` emulated cameras; must happen before pypylon is imported."""
    if count > 0 and int(os.environ.get("PYLON_CAMEMU", "0") or 0) < count:
        os.environ["PYLON_CAMEMU"] = str(count)


def _pylon() -> Any:
    from pypylon import pylon  # noqa: PLC0415  (optional SDK, imported only here)

    return pylon


EMULATOR_TL = "BaslerCamEmu"


def enumerate_devices(emulator_only: bool = False) -> list[Any]:
    """Camera infos; ``emulator_only`` asks only the emulator's transport layer.

    Enumerating every transport layer sends a GigE Vision discovery broadcast on the local network;
    the emulator-only path sends nothing, which is what a demo or a test machine wants.
    """
    factory = _pylon().TlFactory.GetInstance()
    if emulator_only:
        return list(factory.CreateTl(EMULATOR_TL).EnumerateDevices())
    return list(factory.EnumerateDevices())


def list_pylon_cameras(emulator_only: bool = False) -> list[dict[str, str]]:
    devices = enumerate_devices(emulator_only)
    return [
        {
            "serial": d.GetSerialNumber(),
            "model": d.GetModelName(),
            "user_name": d.GetUserDefinedName(),
            "interface": d.GetDeviceClass(),
            "emulated": str(d.GetDeviceClass() == EMULATOR_TL).lower(),
        }
        for d in devices
    ]


# the station file's names of the settings a live preview changes -> the camera's (SFNC, then older) nodes
LIVE_SETTINGS = {"exposure_us": ("ExposureTime", "ExposureTimeAbs"), "gain": ("Gain", "GainRaw")}


class PylonSource(CameraSource):
    def __init__(self, config: PylonCamera) -> None:
        self.config = config
        enable_emulation(config.emulated)
        self.name = config.serial or config.user_name or "pylon"
        self._camera: Any = None
        self._index = 0
        self._replay: list[str] = []
        self._last_trigger = 0.0
        self._configured: dict[str, float] = {}
        self._counts_triggers = False  # the camera sends its frame trigger counter with each image
        self.paced_by_station = config.trigger.mode == "software" and config.trigger.interval_ms == 0

    @property
    def device(self) -> Any:
        """The open ``pylon.InstantCamera`` (None when closed): for diagnostics and fault injection."""
        return self._camera

    # ------------------------------------------------------------ lifecycle
    def open(self) -> None:
        pylon = _pylon()
        factory = pylon.TlFactory.GetInstance()
        try:
            devices = enumerate_devices(emulator_only=self.config.emulated > 0)
        except Exception as exc:
            raise CameraLost(f"cannot enumerate pylon cameras: {exc}") from None
        device = self._select(devices)
        camera = pylon.InstantCamera(factory.CreateDevice(device))
        try:
            camera.Open()
            self._configure(camera)
            camera.StartGrabbing(self._strategy())
        except Exception as exc:
            camera.Close()
            raise CameraError(f"camera {self.name}: cannot be configured ({pylon_message(exc)})") from None
        self._camera = camera
        self.name = device.GetSerialNumber()
        self._configured = {name: limits.value for name, limits in self.settable().items()}

    def _strategy(self) -> Any:
        pylon = _pylon()
        free_run = self.config.trigger.mode == "free_run"
        return pylon.GrabStrategy_LatestImageOnly if free_run else pylon.GrabStrategy_OneByOne

    def _select(self, devices: Any) -> Any:
        wanted_serial, wanted_name = self.config.serial, self.config.user_name
        for device in devices:
            if wanted_serial and device.GetSerialNumber() != wanted_serial:
                continue
            if wanted_name and device.GetUserDefinedName() != wanted_name:
                continue
            return device
        found = ", ".join(f"{d.GetSerialNumber()} ({d.GetModelName()})" for d in devices) or "none"
        wanted = f"serial {wanted_serial}" if wanted_serial else f"user name {wanted_name}" if wanted_name else "any"
        raise CameraError(
            f"no pylon camera with {wanted} is connected (found: {found}); check the cable and "
            "'camera.serial' in the station config, or run 'inspection cameras'"
        )

    def _configure(self, camera: Any) -> None:
        c = self.config
        if c.image_folder is not None:
            self._use_image_folder(camera, c.image_folder)
        set_pixel_format(camera, c.pixel_format)
        if c.width is not None:
            set_feature(camera, "Width", c.width, required=True)
        if c.height is not None:
            set_feature(camera, "Height", c.height, required=True)
        set_feature(camera, "OffsetX", c.offset_x)
        set_feature(camera, "OffsetY", c.offset_y)
        if c.exposure_us is not None:
            set_first_feature(camera, ("ExposureTime", "ExposureTimeAbs"), c.exposure_us)
        if c.gain is not None:
            set_first_feature(camera, ("Gain", "GainRaw"), c.gain)
        if c.frame_rate is not None:
            set_feature(camera, "AcquisitionFrameRateEnable", True, required=True)
            set_first_feature(camera, ("AcquisitionFrameRate", "AcquisitionFrameRateAbs"), c.frame_rate)
        set_feature(camera, "TriggerSelector", "FrameStart")
        if c.trigger.mode == "free_run":
            set_feature(camera, "TriggerMode", "Off")
        else:
            set_feature(camera, "TriggerMode", "On")
            if c.trigger.mode == "software":
                set_feature(camera, "TriggerSource", "Software")
            else:
                set_feature(camera, "TriggerSource", c.trigger.line)
                set_feature(camera, "TriggerActivation", c.trigger.activation)
        self._counts_triggers = c.trigger.mode != "free_run" and enable_trigger_counter(camera)

    # ------------------------------------------------------------ live settings (the preview)

    def adjustable(self) -> dict[str, Adjustable]:
        if self._camera is None:
            return {}
        found = {}
        for setting, names in LIVE_SETTINGS.items():
            node = next((n for n in (writable_node(self._camera, name) for name in names) if n is not None), None)
            if node is not None:
                found[setting] = Adjustable(float(node.GetMin()), float(node.GetMax()), float(node.GetValue()))
        return found

    def adjust(self, name: str, value: float) -> float:
        if self._camera is None or name not in LIVE_SETTINGS:
            return super().adjust(name, value)
        set_first_feature(self._camera, LIVE_SETTINGS[name], value)
        node = next(n for n in (writable_node(self._camera, n) for n in LIVE_SETTINGS[name]) if n is not None)
        return float(node.GetValue())

    # ------------------------------------------------------------ a product's settings (between two parts)
    def settable(self) -> dict[str, Adjustable]:
        found = self.adjustable()
        if self._camera is not None:
            found.update(region_limits(self._camera))
        return found

    def configured(self) -> dict[str, float]:
        return dict(self._configured)

    def apply(self, settings: dict[str, float]) -> None:
        region = {name: int(value) for name, value in settings.items() if name in REGION_NODES}
        if region and self._camera is not None:
            self._set_region(region)
        for name, value in settings.items():
            if name not in REGION_NODES:
                self.adjust(name, value)

    def _set_region(self, region: dict[str, int]) -> None:
        """A new image region: the size can change only while the camera does not grab, so grabbing stops
        and starts again around it (no grab is under way: a changeover holds the station's grabs)."""
        camera = self._camera
        current = {name: int(feature_node(camera, node).GetValue()) for name, node in REGION_NODES.items()}
        wanted = {**current, **region}
        grabbing = camera.IsGrabbing()
        if grabbing:
            camera.StopGrabbing()
        try:
            set_feature(camera, "OffsetX", 0)
            set_feature(camera, "OffsetY", 0)
            set_feature(camera, "Width", wanted["width"], required=True)
            set_feature(camera, "Height", wanted["height"], required=True)
            set_feature(camera, "OffsetX", wanted["offset_x"], required=True)
            set_feature(camera, "OffsetY", wanted["offset_y"], required=True)
        finally:
            if grabbing:
                camera.StartGrabbing(self._strategy())

    def _use_image_folder(self, camera: Any, folder: Path) -> None:
        if camera.GetDeviceInfo().GetDeviceClass() != EMULATOR_TL:
            raise CameraError(f"camera {self.name}: 'image_folder' only works with an emulated camera")
        if not folder.is_dir():
            raise CameraError(f"{folder}: image folder for the emulated camera not found")
        # pylon replays the folder's images in name order, one per frame.
        self._replay = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._replay:
            raise CameraError(f"{folder}: no images to replay (png, jpg, bmp, tif)")
        first = cv2.imread(str(folder / self._replay[0]), cv2.IMREAD_UNCHANGED)
        camera.ImageFilename.Value = str(folder)
        camera.ImageFileMode.Value = "On"
        set_feature(camera, "TestImageSelector", "Off")
        if first is not None and self.config.width is None and self.config.height is None:
            set_feature(camera, "Width", int(first.shape[1]))
            set_feature(camera, "Height", int(first.shape[0]))

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            if camera.IsGrabbing():
                camera.StopGrabbing()
        finally:
            camera.Close()

    # ------------------------------------------------------------ grabbing
    def grab(self) -> Frame | None:
        pylon = _pylon()
        camera = self._camera
        if camera is None or not camera.IsOpen() or camera.IsCameraDeviceRemoved():
            raise CameraLost("device closed or removed")
        # The grab time runs from the trigger (the part is there): not the wait for the trigger interval,
        # which is idle time, not latency (bench's latency at 80% load would count it).
        started = time.perf_counter()
        try:
            if self.config.trigger.mode == "software":
                self._pace()
                started = time.perf_counter()
                if not camera.WaitForFrameTriggerReady(self.config.timeout_ms, pylon.TimeoutHandling_Return):
                    raise GrabFailed("timeout", "camera not ready for a software trigger in time")
                camera.ExecuteSoftwareTrigger()
            result = camera.RetrieveResult(self.config.timeout_ms, pylon.TimeoutHandling_Return)
        except GrabFailed:
            raise
        except Exception as exc:  # pylon raises RuntimeException & co. for a vanished device
            raise CameraLost(pylon_message(exc)) from None
        if result is None or not result.IsValid():
            if self.config.trigger.mode == "hardware":
                return None  # no part arrived: idle, not a fault
            raise GrabFailed("timeout", f"no image within {self.config.timeout_ms} ms")
        try:
            if not result.GrabSucceeded():
                raise GrabFailed("incomplete", f"grab failed: {result.GetErrorDescription()}")
            image = self._to_numpy(result)
            number = int(result.ImageNumber)
            trigger_id = trigger_count(result) if self._counts_triggers else None
        finally:
            result.Release()
        self._index += 1
        source_name = self._replay[(number - 1) % len(self._replay)] if self._replay else None
        return Frame(
            image=image,
            camera=self.name,
            index=self._index,
            source_name=source_name,
            triggered=self.config.trigger.mode != "free_run",
            grab_ms=(time.perf_counter() - started) * 1000,
            trigger_id=trigger_id,
        )

    def _pace(self) -> None:
        interval = self.config.trigger.interval_ms / 1000
        if interval > 0:
            wait = self._last_trigger + interval - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        self._last_trigger = time.perf_counter()

    def _to_numpy(self, result: Any) -> np.ndarray[Any, np.dtype[np.uint8]]:
        array = np.array(result.GetArray(), dtype=np.uint8, copy=True)
        if self.config.pixel_format == "RGB8":
            array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
        return array
