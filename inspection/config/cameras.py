"""Camera settings: Basler (pylon), OpenCV sources, image folders; triggering and reconnection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag

from inspection.config.files import Strict
from inspection.core.images import DEFAULT_MAX_IMAGE_PIXELS


class Trigger(Strict):
    mode: Literal["free_run", "software", "hardware"] = "software"
    line: str = Field("Line1", description="input line for a hardware trigger")
    activation: Literal["RisingEdge", "FallingEdge", "AnyEdge", "LevelHigh", "LevelLow"] = "RisingEdge"
    interval_ms: float = Field(0.0, ge=0.0, description="software trigger period; 0 = as fast as the station runs")


class Reconnect(Strict):
    initial_s: float = Field(0.2, gt=0.0)
    max_s: float = Field(5.0, gt=0.0)
    max_consecutive_failures: int = Field(5, ge=1, description="grab failures in a row before reopening")


class CameraSettings(Strict):
    """What every camera's settings answer, whatever the kind: the camera's serial (a calibration file
    names it), how it reconnects, and a short name for people (no credentials)."""

    def serial_number(self) -> str | None:
        return None

    def reconnect_policy(self) -> Reconnect:
        return Reconnect()

    def label(self) -> str:
        raise NotImplementedError


class PylonCamera(CameraSettings):
    type: Literal["pylon"] = "pylon"
    serial: str | None = Field(None, description="serial number; or user_name; or neither for the first camera")
    user_name: str | None = None
    emulated: int = Field(
        0,
        ge=0,
        le=16,
        description="create this many pylon emulated cameras (PYLON_CAMEMU) and look only among them",
    )
    image_folder: Path | None = Field(None, description="emulator only: replay the images in this folder")
    pixel_format: Literal["Mono8", "BGR8", "RGB8"] = "Mono8"
    exposure_us: float | None = Field(None, gt=0.0)
    gain: float | None = Field(None, ge=0.0)
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    offset_x: int = Field(0, ge=0)
    offset_y: int = Field(0, ge=0)
    frame_rate: float | None = Field(None, gt=0.0)
    trigger: Trigger = Trigger()
    timeout_ms: int = Field(2000, gt=0)
    reconnect: Reconnect = Reconnect()

    def serial_number(self) -> str | None:
        return self.serial

    def reconnect_policy(self) -> Reconnect:
        return self.reconnect

    def label(self) -> str:
        return f"pylon {self.serial or self.user_name or 'first camera'}"


class OpenCvCamera(CameraSettings):
    type: Literal["opencv"] = "opencv"
    source: int | str = Field(description="USB device index, video file path, or rtsp:// / http:// URL")
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    frame_rate: float | None = Field(None, gt=0.0)
    loop: bool = Field(False, description="video files: start again at the end")
    reconnect: Reconnect = Reconnect()

    def reconnect_policy(self) -> Reconnect:
        return self.reconnect

    def label(self) -> str:
        text = str(self.source)
        if "://" in text and "@" in text:  # never show stream credentials
            scheme, rest = text.split("://", 1)
            text = f"{scheme}://{rest.split('@', 1)[1]}"
        return f"opencv {text}"


class FolderCamera(CameraSettings):
    type: Literal["folder"] = "folder"
    path: Path = Field(description="a folder or a glob pattern of images")
    loop: bool = False
    grayscale: bool = False
    trigger: Trigger = Trigger()
    max_image_pixels: int = Field(
        DEFAULT_MAX_IMAGE_PIXELS,
        gt=0,
        description="larger images (read from the header) are refused before decoding, counted as a fault",
    )

    def label(self) -> str:
        return f"folder {self.path.name}"


class OtherCamera(CameraSettings):
    """A camera type the station's own settings do not know: a plug-in's. Its settings are kept as given
    and checked by that camera type when the station is built (an unknown type is refused then, naming
    the known ones)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str

    def settings(self) -> dict[str, Any]:
        """Every key of the block, ``type`` included."""
        return {"type": self.type, **(self.model_extra or {})}

    def label(self) -> str:
        return self.type


BUILT_IN_CAMERAS = ("pylon", "opencv", "folder")


def _camera_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind is None:
        return None  # pydantic reports the missing 'type'
    return str(kind) if kind in BUILT_IN_CAMERAS else "other"


CameraConfig = Annotated[
    Annotated[PylonCamera, Tag("pylon")]
    | Annotated[OpenCvCamera, Tag("opencv")]
    | Annotated[FolderCamera, Tag("folder")]
    | Annotated[OtherCamera, Tag("other")],
    Discriminator(_camera_kind),
]
