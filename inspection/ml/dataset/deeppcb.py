"""Import the DeepPCB layout (pairs of ``_test.jpg``/``_temp.jpg`` with ``x1 y1 x2 y2 type`` boxes).

The validation split is by board group, so validation measures boards the model has not seen.
Bad labels are reported with file and line, never silently dropped.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inspection.core.channels import InputMode, stack_with_reference
from inspection.core.errors import PartMismatchError
from inspection.core.recapture import DEFAULT_RECAPTURE
from inspection.detectors.reference import aligned_reference

DEEPPCB_CLASSES: tuple[str, ...] = ("open", "short", "mousebite", "spur", "copper", "pin-hole")
IMAGE_SIZE = 640


@dataclass(frozen=True)
class LabelProblem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)  # 0: the whole file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class PcbPair:
    group: str
    test_image: Path
    template_image: Path
    boxes: tuple[tuple[float, float, float, float, int], ...]  # x1, y1, x2, y2, class index (0-based)


@dataclass
class ImportResult:
    pairs: list[PcbPair] = field(default_factory=list)
    problems: list[LabelProblem] = field(default_factory=list)


def parse_annotation(path: Path, image_size: int = IMAGE_SIZE) -> tuple[list[tuple[float, ...]], list[LabelProblem]]:
    """Read one DeepPCB annotation file; comma- or space-separated."""
    boxes: list[tuple[float, ...]] = []
    problems: list[LabelProblem] = []
    try:
        text = path.read_text()
    except OSError as exc:
        return [], [LabelProblem(path, 0, f"unreadable: {exc.strerror}")]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        fields = line.replace(",", " ").split()
        if len(fields) != 5:
            problems.append(LabelProblem(path, number, f"expected 'x1 y1 x2 y2 type', got {line!r}"))
            continue
        try:
            x1, y1, x2, y2 = (float(v) for v in fields[:4])
            kind = int(fields[4])
        except ValueError:
            problems.append(LabelProblem(path, number, f"not numbers: {line!r}"))
            continue
        if not 1 <= kind <= len(DEEPPCB_CLASSES):
            problems.append(LabelProblem(path, number, f"unknown defect type {kind} (1-6 expected)"))
            continue
        if not (0 <= x1 < x2 <= image_size and 0 <= y1 < y2 <= image_size):
            problems.append(LabelProblem(path, number, f"box {x1:g},{y1:g},{x2:g},{y2:g} outside the image"))
            continue
        boxes.append((x1, y1, x2, y2, kind - 1))
    if not boxes and not problems:
        problems.append(LabelProblem(path, 0, "empty annotation file (a _test image always has defects)"))
    return boxes, problems


def read_deeppcb(root: Path) -> ImportResult:
    """Read every pair listed in ``trainval.txt`` (or found on disk) under ``root``."""
    result = ImportResult()
    for test_image, annotation in _listed_pairs(root):
        template = test_image.with_name(test_image.name.replace("_test.jpg", "_temp.jpg"))
        boxes, problems = parse_annotation(annotation)
        result.problems.extend(problems)
        for image in (test_image, template):
            if not image.is_file():
                result.problems.append(LabelProblem(image, 0, "image file missing"))
        if boxes and test_image.is_file() and template.is_file():
            group = test_image.parent.parent.name
            result.pairs.append(PcbPair(group, test_image, template, tuple(boxes)))  # type: ignore[arg-type]
    return result


def _listed_pairs(root: Path) -> Iterator[tuple[Path, Path]]:
    listing = root / "trainval.txt"
    if listing.is_file():
        for raw in listing.read_text().splitlines():
            if raw.strip():
                image_rel, label_rel = raw.split()
                image = root / image_rel
                yield image.with_name(image.stem + "_test.jpg"), root / label_rel
        return
    for test_image in sorted(root.glob("group*/*/*_test.jpg")):
        stem = test_image.name.removesuffix("_test.jpg")
        yield test_image, test_image.parent.with_name(test_image.parent.name + "_not") / f"{stem}.txt"


def write_yolo_dataset(
    result: ImportResult,
    out: Path,
    val_groups: set[str],
    include_templates: bool = True,
    input_mode: InputMode = "image",
) -> Path:
    """Write images and YOLO labels for the pairs; returns the data.yaml path.

    ``image``: the source images are symlinked. ``image+reference``: each image is written as a
    3-channel PNG stacked with its reference registered onto it: a ``_test`` image with its template, a
    re-capture of the template (``inspection.core.recapture``, seeded by its name, so imports are
    repeatable) with the template.
    """
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    for pair in result.pairs:
        split = "val" if pair.group in val_groups else "train"
        images = out / "images" / split
        labels = out / "labels" / split
        lines = [_yolo_line(box) for box in pair.boxes]
        (labels / (pair.test_image.stem + ".txt")).write_text("\n".join(lines) + "\n")
        if include_templates:
            (labels / (pair.template_image.stem + ".txt")).write_text("")
        if input_mode == "image":
            _link(pair.test_image, images / pair.test_image.name)
            if include_templates:
                _link(pair.template_image, images / pair.template_image.name)
            continue
        template = _read_grey(pair.template_image)
        _write_png(images / (pair.test_image.stem + ".png"), registered_stack(_read_grey(pair.test_image), template))
        if include_templates:
            rng = np.random.default_rng(zlib.crc32(pair.template_image.name.encode()))
            clean = registered_stack(recaptured(template, rng), template)
            _write_png(images / (pair.template_image.stem + ".png"), clean)
    data_yaml = out / "data.yaml"
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(DEEPPCB_CLASSES))
    data_yaml.write_text(
        f"path: {out.resolve()}\ntrain: images/train\nval: images/val\ninput: {input_mode}\nnames:\n{names}\n"
    )
    return data_yaml


def recaptured(template: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The defect-free board captured again (moved, turned, re-binarised, re-encoded): a good part as the
    station sees it, so a model learns that what registration leaves of such changes is not a defect."""
    return DEFAULT_RECAPTURE.apply(template, rng)


def registered_stack(board: np.ndarray, template: np.ndarray) -> np.ndarray:
    """(board, template registered onto it, difference), as the station stacks a part with its reference.
    DeepPCB's pairs are not aligned to the pixel (measured: up to 6 px apart)."""
    try:
        reference = aligned_reference(board, template, "euclidean")
    except PartMismatchError:
        reference = template  # cannot happen for a DeepPCB pair; keep the pair as it comes
    return stack_with_reference(board, reference)


def _read_grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise OSError(f"{path}: cannot read the image")
    return np.asarray(image, dtype=np.uint8)


def _write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: cannot write the image")


def _yolo_line(box: tuple[float, float, float, float, int]) -> str:
    x1, y1, x2, y2, cls = box
    s = float(IMAGE_SIZE)
    return f"{cls} {(x1 + x2) / 2 / s:.6f} {(y1 + y2) / 2 / s:.6f} {(x2 - x1) / s:.6f} {(y2 - y1) / s:.6f}"


def _link(source: Path, target: Path) -> None:
    if target.exists() or target.is_symlink():
        target.unlink()
    os.symlink(source.resolve(), target)
