"""``inspection dataset from-records``: recorded images + reviewed labels -> a training dataset.

Labels per record: the reviewer's corrected boxes when there are some; otherwise, after a review, the
station's counted boxes for "correct", none for "false_call" (a defect-free part), and an "escape"
without drawn boxes is left out (its defect is not located). Without --reviewed-only, unreviewed records
come with the station's counted boxes (pseudo-labels). The validation split is by day: the newest days
(within a single day: its newest tenth of the parts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
from sqlalchemy import Engine, select

from inspection.core.errors import StationError
from inspection.ml.dataset.layout import Item, Label, check_box, write_layout
from inspection.recorder.archive import stored_image
from inspection.recorder.queries import RecordFilter, page
from inspection.recorder.reviews import latest_reviews
from inspection.recorder.schema import DetectionRow, InspectionRow

Box = tuple[str, float, float, float, float]  # label, x1, y1, x2, y2 (pixels)


def counted_boxes(engine: Engine, ids: list[str]) -> dict[str, list[Box]]:
    boxes: dict[str, list[Box]] = {record_id: [] for record_id in ids}
    query = select(DetectionRow).where(DetectionRow.inspection_id.in_(ids), DetectionRow.counted.is_(True))
    with engine.connect() as connection:
        for row in connection.execute(query):
            boxes[row.inspection_id].append((row.label, row.x1, row.y1, row.x2, row.y2))
    return boxes


def collect(
    engine: Engine, data_dir: Path, where: RecordFilter, reviewed_only: bool, classes: list[str]
) -> tuple[list[Item], dict[str, int]]:
    items: list[Item] = []
    skipped = {"no_image": 0, "not_reviewed": 0, "escape_without_boxes": 0}
    after = None
    while True:
        rows = page(engine, where, 500, after)
        if not rows:
            break
        after = (rows[-1].created_at, rows[-1].id)
        ids = [row.id for row in rows]
        reviews = latest_reviews(engine, ids)
        station_boxes = counted_boxes(engine, ids)
        for row in rows:
            review = reviews.get(row.id)
            if review is None and reviewed_only:
                skipped["not_reviewed"] += 1
                continue
            boxes: list[Box] | None
            if review is not None and review.boxes is not None:
                boxes = [(b.label, b.x1, b.y1, b.x2, b.y2) for b in review.boxes]
            elif review is not None and review.outcome == "false_call":
                boxes = []
            elif review is not None and review.outcome == "escape":
                boxes = None
            else:
                boxes = station_boxes[row.id]
            if boxes is None:
                skipped["escape_without_boxes"] += 1
                continue
            image_path = _image_path(engine, row.id, data_dir)
            if image_path is None:
                skipped["no_image"] += 1
                continue
            items.append(Item(image_path, _normalised(boxes, image_path, classes), row.created_at.date().isoformat()))
    return items, skipped


def _image_path(engine: Engine, record_id: str, data_dir: Path) -> Path | None:

    with engine.connect() as connection:
        relative = connection.execute(select(InspectionRow.image_path).where(InspectionRow.id == record_id)).scalar()
    return stored_image(data_dir, relative)


def _normalised(boxes: list[Box], image_path: Path, classes: list[str]) -> tuple[Label, ...]:
    image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise StationError(f"{image_path}: recorded image is not readable")
    height, width = image.shape[:2]
    labels = []
    for name, x1, y1, x2, y2 in boxes:
        if name not in classes:
            raise StationError(f"{image_path.name}: class {name!r} is not among {classes}")
        label: Label = (classes.index(name), (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width,
                        (y2 - y1) / height)  # fmt: skip
        wrong = check_box(label, len(classes))
        if wrong:
            raise StationError(f"{image_path.name}: {wrong}")
        labels.append(label)
    return tuple(labels)


def dataset_from_records(
    engine: Engine,
    data_dir: Path,
    out: Path,
    where: RecordFilter,
    classes: list[str],
    reviewed_only: bool = False,
    val_groups: set[str] | None = None,
    progress: Callable[[str], None] = print,
) -> Path:
    items, skipped = collect(engine, data_dir, where, reviewed_only, classes)
    left_out = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in skipped.items() if n)
    if left_out:
        progress(f"left out: {left_out}")
    if not items:
        raise StationError("no records match (with an image and usable labels); widen the filters")
    days = {item.group for item in items}
    if val_groups is None and len(days) == 1 and len(items) > 1:
        # One day only: validate on its newest tenth (items come newest first), train on the rest.
        newest = max(1, len(items) // 10)
        items = [Item(i.image, i.labels, "newest" if n < newest else "older") for n, i in enumerate(items)]
    return write_layout(items, classes, out, data_dir, "records", val_groups, progress, allow_no_val=True)
