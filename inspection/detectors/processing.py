"""Pre- and post-processing shared by every backend, so exported models give the same detections.

Input: letterbox to a square ``imgsz`` (aspect kept, grey padding 114), BGR->RGB, CHW float32 in [0, 1].
Output: YOLOv8-style head ``(batch, 4 + classes, anchors)`` with centre-x, centre-y, w, h in input
pixels and per-class scores; boxes are scaled back to the original image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from inspection.core.types import Detection, Image

FloatArray = npt.NDArray[np.float32]
PAD_VALUE = 114
MAX_DETECTIONS = 300


@dataclass(frozen=True)
class Letterbox:
    scale: float
    pad_x: float
    pad_y: float
    width: int  # original image
    height: int


def to_bgr(image: Image) -> Image:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)  # type: ignore[no-any-return]
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)  # type: ignore[no-any-return]
    return image


def letterbox(image: Image, imgsz: int) -> tuple[FloatArray, Letterbox]:
    """Return a CHW float32 RGB tensor of ``imgsz`` x ``imgsz`` and the geometry to undo it.

    Resize, pad and the conversion to a float tensor all run in OpenCV's C++ (measured: 0.3 ms for a
    640 px image against 1.5 ms with numpy doing the transpose and scaling).
    """
    bgr = to_bgr(image)
    height, width = bgr.shape[:2]
    scale = min(imgsz / height, imgsz / width)
    new_w, new_h = round(width * scale), round(height * scale)
    if (new_w, new_h) != (width, height):
        bgr = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (imgsz - new_w) / 2, (imgsz - new_h) / 2
    top, left = round(pad_y - 0.1), round(pad_x - 0.1)
    if (new_w, new_h) != (imgsz, imgsz):
        bottom, right = imgsz - new_h - top, imgsz - new_w - left
        bgr = cv2.copyMakeBorder(bgr, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    blob = cv2.dnn.blobFromImage(bgr, 1.0 / 255.0, swapRB=True)  # (1, 3, imgsz, imgsz) float32 RGB
    return blob[0], Letterbox(scale, float(left), float(top), width, height)


def make_batch(images: list[Image], imgsz: int) -> tuple[FloatArray, list[Letterbox]]:
    tensors, geometry = zip(*(letterbox(image, imgsz) for image in images), strict=True)
    return np.stack(tensors), list(geometry)


def nms(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression; boxes are x1, y1, x2, y2."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size and len(keep) < MAX_DETECTIONS:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        xx1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        iou = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


def decode(
    raw: FloatArray, geometry: Letterbox, names: list[str], iou_threshold: float, min_confidence: float
) -> list[Detection]:
    """Turn one image's head output ``(4 + classes, anchors)`` into detections in original pixels."""
    predictions = raw.T  # anchors x (4 + classes)
    class_scores = predictions[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    confidences = class_scores[np.arange(len(class_ids)), class_ids]
    candidate = confidences >= min_confidence
    if not candidate.any():
        return []
    xywh = predictions[candidate, :4]
    confidences, class_ids = confidences[candidate], class_ids[candidate]
    boxes = np.empty_like(xywh)
    boxes[:, 0] = xywh[:, 0] - xywh[:, 2] / 2
    boxes[:, 1] = xywh[:, 1] - xywh[:, 3] / 2
    boxes[:, 2] = xywh[:, 0] + xywh[:, 2] / 2
    boxes[:, 3] = xywh[:, 1] + xywh[:, 3] / 2
    # Class-aware NMS: shift each class into its own coordinate range.
    offsets = class_ids[:, None].astype(np.float32) * 8192.0
    keep = nms(boxes + offsets, confidences, iou_threshold)
    detections = []
    for index in keep:
        x1, y1, x2, y2 = boxes[index]
        x1 = (x1 - geometry.pad_x) / geometry.scale
        x2 = (x2 - geometry.pad_x) / geometry.scale
        y1 = (y1 - geometry.pad_y) / geometry.scale
        y2 = (y2 - geometry.pad_y) / geometry.scale
        box = (
            float(np.clip(x1, 0, geometry.width)),
            float(np.clip(y1, 0, geometry.height)),
            float(np.clip(x2, 0, geometry.width)),
            float(np.clip(y2, 0, geometry.height)),
        )
        class_id = int(class_ids[index])
        detections.append(Detection(names[class_id], class_id, float(confidences[index]), box))
    return detections
