"""``inspection dataset import``: a source dataset -> the project's YOLO layout with a manifest.

Nothing is half-written: the dataset is built in ``OUT.partial`` and renamed to ``OUT`` at the end;
any label problem stops the import before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from inspection.core.channels import InputMode
from inspection.core.errors import StationError
from inspection.core.hashing import file_sha256
from inspection.ml.dataset.coco import read_coco
from inspection.ml.dataset.deeppcb import DEEPPCB_CLASSES, read_deeppcb, write_yolo_dataset
from inspection.ml.dataset.folders import import_folders
from inspection.ml.dataset.layout import (
    MANIFEST,
    check_new_output,
    choose_validation,
    publishing,
    report_problems,
    split_within_classes,
    write_layout,
)
from inspection.ml.dataset.masks import read_masks
from inspection.ml.dataset.yolo import read_yolo


def import_deeppcb(
    source: Path,
    out: Path,
    val_groups: set[str] | None = None,
    progress: Callable[[str], None] = print,
    input_mode: InputMode = "image",
) -> Path:
    """Import DeepPCB pairs; returns the manifest path."""
    check_new_output(out)
    if not source.is_dir():
        raise StationError(f"{source}: not a folder")
    result = read_deeppcb(source)
    report_problems(result.problems, source)
    if not result.pairs:
        raise StationError(f"{source}: no DeepPCB pairs found (trainval.txt or groupNNNNN/NNNNN/*_test.jpg)")
    groups = sorted({pair.group for pair in result.pairs})
    val = choose_validation([pair.group for pair in result.pairs], val_groups)
    progress(f"{len(result.pairs)} pairs in {len(groups)} board groups; validation: {sorted(val)}")

    with publishing(out) as partial:
        if input_mode != "image":
            progress(f"writing {2 * len(result.pairs)} images stacked with their reference ({input_mode})")
        write_yolo_dataset(result, partial, val, input_mode=input_mode)
        files = {}
        for i, pair in enumerate(result.pairs, start=1):
            for image in (pair.test_image, pair.template_image):
                files[image.name] = file_sha256(image)
            if i % 200 == 0:
                progress(f"hashed {i}/{len(result.pairs)} pairs")
        manifest = {
            "format": "deeppcb",
            "source": str(source.resolve()),
            "classes": list(DEEPPCB_CLASSES),
            "input": input_mode,
            "split": {"by": "board group", "train": [g for g in groups if g not in val], "val": sorted(val)},
            "counts": {
                "pairs": len(result.pairs),
                "val_pairs": sum(pair.group in val for pair in result.pairs),
                "boxes": sum(len(pair.boxes) for pair in result.pairs),
            },
            "images": ("symlinks to the source files" if input_mode == "image" else "PNGs stacked with their reference")
            + "; sha256 of each source file below",
            "files": files,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (partial / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
        # data.yaml names the folder it lives in: point it at the final place before the rename.
        data_yaml = partial / "data.yaml"
        data_yaml.write_text(data_yaml.read_text().replace(str(partial.resolve()), str(out.resolve())))
    progress(f"dataset written to {out} ({MANIFEST}, data.yaml)")
    return out / MANIFEST


def import_labelled(
    source: Path,
    out: Path,
    fmt: str,
    val_groups: set[str] | None = None,
    progress: Callable[[str], None] = print,
) -> Path:
    """Import a plain YOLO or COCO dataset, images with defect masks, or one folder per class; returns the
    manifest path."""

    if not source.exists():
        raise StationError(f"{source}: no such file or folder")
    check_new_output(out)
    if fmt in ("masks", "folders") and val_groups is not None:
        raise StationError(f"--val-groups: a {fmt} dataset is split by its train/ and val/ (or test/) "
                           "folders, else every 10th image of each class; leave --val-groups out")  # fmt: skip
    if fmt == "folders":
        return import_folders(source, out, progress)
    if fmt == "masks":
        items, classes, problems = read_masks(source)
        report_problems(problems, source)
        items, note = split_within_classes(items)
        return write_layout(items, classes, out, source, fmt, None, progress, own_split=note)
    items, classes, problems = read_yolo(source) if fmt == "yolo" else read_coco(source)
    report_problems(problems, source)
    return write_layout(items, classes, out, source, fmt, val_groups, progress)
