"""GenICam node helpers for pylon cameras: read and set features by name (SFNC names first, then older
ones), the image region's limits, and the frame trigger counter chunk."""

from __future__ import annotations

from typing import Any

from inspection.cameras.base import REGION_SETTINGS, Adjustable
from inspection.core.errors import CameraError

REGION_NODES = dict(zip(REGION_SETTINGS, ("Width", "Height", "OffsetX", "OffsetY"), strict=True))


def region_limits(camera: Any) -> dict[str, Adjustable]:
    """The image region's settings where the camera has them: sizes up to the sensor's (WidthMax,
    HeightMax), offsets up to the sensor's size less the smallest image."""
    nodes = {name: feature_node(camera, node) for name, node in REGION_NODES.items()}
    if any(node is None for node in nodes.values()):
        return {}
    found = {}
    for size, offset, largest in (("width", "offset_x", "WidthMax"), ("height", "offset_y", "HeightMax")):
        size_node, offset_node, largest_node = nodes[size], nodes[offset], feature_node(camera, largest)
        biggest = int(largest_node.GetValue()) if largest_node is not None else int(size_node.GetMax())
        smallest = int(size_node.GetMin())
        found[size] = Adjustable(smallest, biggest, int(size_node.GetValue()), int(size_node.GetInc()))
        found[offset] = Adjustable(0, biggest - smallest, int(offset_node.GetValue()), int(offset_node.GetInc()))
    return found


def enable_trigger_counter(camera: Any) -> bool:
    """Ask for the frame trigger counter in each image's chunk data, where the camera has it (a part seen
    by several cameras is matched by it); pylon's emulator has no such chunk."""
    selector = writable_node(camera, "ChunkSelector")  # pylon's emulator: a node, but not available
    if selector is None or writable_node(camera, "ChunkModeActive") is None:
        return False
    if "FrameTriggerCounter" not in set(selector.GetSymbolics()):
        return False
    set_feature(camera, "ChunkModeActive", True)
    set_feature(camera, "ChunkSelector", "FrameTriggerCounter")
    set_feature(camera, "ChunkEnable", True)
    return True


def trigger_count(result: Any) -> int | None:
    try:
        return int(result.ChunkFrameTriggerCounter.Value)
    except Exception:  # the chunk did not come with this image
        return None


def feature_node(camera: Any, name: str) -> Any:
    try:
        node = camera.GetNodeMap().GetNode(name)
    except Exception:
        return None
    return node


def writable_node(camera: Any, name: str) -> Any:
    node = feature_node(camera, name)
    if node is None:
        return None
    from pypylon import genicam  # noqa: PLC0415  (heavy SDK, loaded only when used)

    return node if genicam.IsWritable(node) else None


def set_feature(camera: Any, name: str, value: object, required: bool = False) -> None:
    """Set a feature; one the camera lacks is skipped unless the user asked for it (``required``)."""
    node = writable_node(camera, name)
    if node is None:
        if required:
            raise CameraError(f"this camera has no writable {name}; remove it from the camera settings")
        return
    try:
        node.SetValue(value)
    except Exception as exc:
        raise CameraError(f"cannot set {name}={value!r}: {pylon_message(exc)}") from None


def set_pixel_format(camera: Any, wanted: str) -> None:
    """SFNC names first ("BGR8"), then the older GigE names ("BGR8Packed") that some models use."""
    node = feature_node(camera, "PixelFormat")
    if node is None:
        return
    available = set(node.GetSymbolics())
    for name in (wanted, f"{wanted}Packed"):
        if name in available:
            set_feature(camera, "PixelFormat", name)
            return
    raise CameraError(f"camera does not offer pixel format {wanted} (it has: {', '.join(sorted(available))})")


def set_first_feature(camera: Any, names: tuple[str, ...], value: float) -> None:
    """Set the first of several names for one setting (SFNC name, then older ones); one must exist."""
    for name in names:
        node = writable_node(camera, name)
        if node is not None:
            set_feature(camera, name, type(node.GetValue())(value))
            return
    raise CameraError(f"this camera has no writable {' / '.join(names)}; remove that setting")


def pylon_message(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
