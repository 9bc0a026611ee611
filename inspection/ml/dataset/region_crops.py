"""Region crops: the golden-template detector's candidate regions, cut out of stacked images, as a
classification dataset (``train/<class>/*.png``, ``val/<class>/*.png``) for the region classifier.

The template detector finds nearly every defect but also reports differences that are not defects
(template artefacts, registration noise) and sometimes names a defect wrongly. A small classifier
trained on its regions names each one or rejects it as ``none``. Each crop is a square around the
region (at least ``MIN_SIDE`` px, so a tiny defect keeps its surroundings) scaled to ``CROP_PX`` with
the stacked image's three channels (board, template, difference).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from calibration.golden import GoldenTemplate
from inspection.core.boxes import Box, iou_matrix
from inspection.core.errors import PartMismatchError, StationError
from inspection.core.hashing import file_sha256
from inspection.core.images import read_image
from inspection.core.types import Detection
from inspection.detectors.region_backend import proposed_crops
from inspection.detectors.region_crop import (
    CROP_PX,
    MIN_SIDE,
    NONE,
    PROPOSALS_FILE,
    REGION_SETTINGS_FILE,
)
from inspection.detectors.region_settings import DEFAULT_GEOMETRY_WEIGHT, RegionSettings, fit_box_corrections
from inspection.detectors.template_backend import TemplateDetector
from inspection.ml.dataset.layout import publishing
from inspection.ml.dataset.splits import EvalSet, read_split

CLASSIFIER_PX = 64  # the classifier's input: ultralytics needs a multiple of 32; crops are scaled up to it
MATCH_IOU = 0.3  # a region overlapping a labelled box this much takes its class
CROPS_FILE = "crops.yaml"
BOXES_FILE = "region_boxes.json"  # per split: each labelled crop's region box and the labelled box it matched


def matched_truth(found: list[Detection], truth: list[tuple[int, Box]]) -> list[int | None]:
    """For each region, the labelled box it overlaps most (its index, when IoU > ``MATCH_IOU``), else None."""
    if not found or not truth:
        return [None] * len(found)
    return _best_matches(iou_matrix([box for _, box in truth], [d.box for d in found]))


def _best_matches(overlap: np.ndarray) -> list[int | None]:
    """Per region (column of ``overlap``, labelled boxes by row): its best row when IoU > ``MATCH_IOU``."""
    best = overlap.argmax(axis=0)
    return [int(best[j]) if overlap[best[j], j] > MATCH_IOU else None for j in range(overlap.shape[1])]


def label_regions(found: list[Detection], truth: list[tuple[int, Box]], classes: list[str]) -> list[str]:
    """The class of each region: the labelled box it overlaps most (IoU > ``MATCH_IOU``), else ``none``."""
    return [NONE if index is None else classes[truth[index][0]] for index in matched_truth(found, truth)]


def box_pairs(
    found: list[Detection], truth: list[tuple[int, Box]], names: list[str], stem: str
) -> dict[str, list[list[float]]]:
    """``class/crop file`` -> [region box, labelled box]: for each labelled box, the region that overlaps it
    most of those matched to it (a defect split into pieces is learnt from its main piece only)."""
    if not found or not truth:
        return {}
    overlap = iou_matrix([box for _, box in truth], [d.box for d in found])
    best: dict[int, int] = {}
    for row, index in enumerate(_best_matches(overlap)):  # the overlaps computed once
        if index is not None and (index not in best or overlap[index, row] > overlap[index, best[index]]):
            best[index] = row
    return {
        f"{names[row]}/{stem}_{row:03d}.png": [list(found[row].box), list(truth[index][1])]
        for index, row in sorted(best.items())
    }


def fitted_settings(pairs: dict[str, list[list[float]]]) -> RegionSettings:
    """The region settings of a classifier trained on crops whose (region, labelled) boxes are ``pairs``."""
    by_class: dict[str, list[tuple[Box, Box]]] = defaultdict(list)
    for key, (region, labelled) in sorted(pairs.items()):
        by_class[key.split("/")[0]].append((_box(region), _box(labelled)))
    return RegionSettings(DEFAULT_GEOMETRY_WEIGHT, fit_box_corrections(by_class))


def _box(values: list[float]) -> Box:
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


def _crop_split(
    detector: TemplateDetector,
    evalset: EvalSet,
    out: Path,
    unaligned: list[str],
    progress: Callable[[str], None],
    split: str,
) -> tuple[dict[str, int], dict[str, list[list[float]]]]:
    """The crops of one split, filed by class under ``out``; their count by class, and the boxes of those
    matched to a labelled box (``box_pairs``). A board that does not register to its template is left out
    (named in ``unaligned``): the station rejects such a part."""
    tally: Counter[str] = Counter()
    pairs: dict[str, list[list[float]]] = {}
    for number, item in enumerate(evalset.images, start=1):
        stacked = read_image(item.path)
        if stacked is None or stacked.ndim != 3 or stacked.shape[2] != 3:
            raise StationError(f"{item.path}: not a readable stacked (board, template, difference) image")
        template = GoldenTemplate.from_image(stacked[:, :, 1], detector.settings.edge_px)
        try:
            found, crops = proposed_crops(detector, stacked[:, :, 0], template)
        except PartMismatchError as exc:
            progress(f"{item.path.name}: left out ({exc})")
            unaligned.append(item.path.name)
            continue
        truth = item.boxes(stacked.shape[1], stacked.shape[0])
        names = label_regions(found, truth, evalset.classes)
        pairs.update(box_pairs(found, truth, names, item.path.stem))
        for index, name in enumerate(names):
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{item.path.stem}_{index:03d}.png"
            if not cv2.imwrite(str(target), crops[index]):
                raise StationError(f"{target}: could not write the crop")
            tally[name] += 1
        if number % 100 == 0 or number == len(evalset.images):
            progress(f"{split}: {number}/{len(evalset.images)} images, {sum(tally.values())} regions")
    return dict(sorted(tally.items())), pairs


def build_region_crops(
    data: Path, out: Path, proposals: Path, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Write the crops of every split of ``data`` (an ``image+reference`` dataset) into ``out``
    (which must not exist), with ``crops.yaml`` (source, classes, counts) and a copy of the proposal
    settings. Built in ``OUT.partial``; nothing is left half-written."""

    data_yaml = data / "data.yaml" if data.is_dir() else data
    spec = yaml.safe_load(data_yaml.read_text()) if data_yaml.is_file() else None
    if not isinstance(spec, dict):
        raise StationError(f"{data}: no data.yaml; give a dataset from 'inspection dataset import'")
    if spec.get("input") != "image+reference":
        raise StationError(
            f"{data}: region crops need images stacked with their reference; import it with --input image+reference"
        )
    detector = TemplateDetector(proposals)
    counts: dict[str, dict[str, int]] = {}
    pairs: dict[str, dict[str, list[list[float]]]] = {}
    unaligned: list[str] = []
    with publishing(out) as partial:
        classes: list[str] = []
        for split in ("train", "val"):
            evalset = read_split(data_yaml, split)
            classes = evalset.classes
            counts[split], pairs[split] = _crop_split(detector, evalset, partial / split, unaligned, progress, split)
        for split in ("train", "val"):  # every class folder in both splits, so both list the same classes
            for name in [*classes, NONE]:
                (partial / split / name).mkdir(parents=True, exist_ok=True)
        (partial / PROPOSALS_FILE).write_bytes(proposals.read_bytes())
        (partial / BOXES_FILE).write_text(json.dumps(pairs) + "\n")
        (partial / REGION_SETTINGS_FILE).write_text(fitted_settings(pairs["train"]).as_text())
        manifest_path = data_yaml.parent / "manifest.yaml"
        summary = {
            "task": "classify",
            "what": "golden-template regions cut from stacked images (board, template, difference)",
            "source": {
                "data_yaml": str(data_yaml.resolve()),
                "manifest_sha256": file_sha256(manifest_path) if manifest_path.is_file() else None,
            },
            "proposals": {"file": PROPOSALS_FILE, "from": str(proposals), "sha256": file_sha256(proposals)},
            "classes": classes,
            "none_class": NONE,
            "crop_px": CROP_PX,
            "min_side_px": MIN_SIDE,
            "match_iou": MATCH_IOU,
            "counts": counts,
            "left_out_unaligned": unaligned,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (partial / CROPS_FILE).write_text(yaml.safe_dump(summary, sort_keys=False))
    return summary


def read_crops_info(folder: Path) -> dict[str, Any] | None:
    """The ``crops.yaml`` of a region-crop dataset, or ``None`` when the folder is not one."""
    path = folder / CROPS_FILE
    if not path.is_file():
        return None
    info = yaml.safe_load(path.read_text())
    if not isinstance(info, dict) or info.get("task") != "classify":
        raise StationError(f"{path}: not a region-crop dataset description")
    return info
