"""Teach the station a new product from good parts alone: capture N good parts from the station's camera
(or take a folder of them), train an anomaly model, register it with its card, write the product's
recipe, and (optionally) switch the station to it. The same steps serve ``inspection teach`` and the app.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from inspection.cameras.base import CameraSource, EndOfStream, GrabFailed
from inspection.cameras.registry import make_camera
from inspection.config import PROJECT_ROOT, Recipe, StationConfig, replace_config_file
from inspection.core.errors import StationError
from inspection.core.images import list_images
from inspection.core.types import Image
from inspection.detectors.anomaly_backend import LABEL
from inspection.detectors.card import read_card
from inspection.ml.anomaly.good_images import MIN_GOOD
from inspection.ml.anomaly.training import AnomalySettings, train_anomaly
from inspection.ml.registry.store import DEFAULT_REGISTRY, NAME, register_run

RECIPES = PROJECT_ROOT / "configs" / "recipes"
TEACH_RUNS = PROJECT_ROOT / "runs" / "teach"
MAX_GRAB_FAILURES = 20  # in a row, while capturing: the camera is not delivering


@dataclass(frozen=True)
class TeachPlan:
    """Where a product being taught goes: its good images, training run, model and recipe."""

    product: str
    work: Path  # <work>/good (the good parts), <work>/run (the training run)
    registry: Path = DEFAULT_REGISTRY
    recipes: Path = RECIPES
    imgsz: int = 256
    target_false_reject: float = 0.01

    @classmethod
    def for_product(cls, product: str, **options: Any) -> TeachPlan:
        if not NAME.match(product):
            raise StationError(f"product name {product!r}: use letters, digits, '.', '_' and '-' (at most 64)")
        work = options.pop("work", None) or TEACH_RUNS / product
        return cls(product, Path(work), **options)

    @property
    def good(self) -> Path:
        return self.work / "good"

    @property
    def recipe(self) -> Path:
        return self.recipes / f"{self.product}.yaml"

    def check_free(self) -> None:
        """Nothing of this product exists yet (a taught product is never overwritten)."""
        for path, what in ((self.registry / self.product, "a model"), (self.recipe, "a recipe")):
            if path.exists():
                raise StationError(f"{path}: {what} named {self.product!r} exists; choose another product name")
        if (self.work / "run").exists():
            raise StationError(f"{self.work / 'run'}: an earlier teach-in of {self.product!r} left its run; remove it")


def _save(image: Image, path: Path) -> None:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise StationError(f"{path}: cannot encode the captured image")
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        handle.write(encoded.tobytes())
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def capture_good_parts(
    camera: CameraSource, count: int, folder: Path, shown: Callable[[int, Image], None],
    cancel: threading.Event | None = None,
) -> list[Path]:  # fmt: skip
    """Grab ``count`` parts (each saved as ``good-NNNN.png`` in ``folder``; ``shown(n, image)`` after each).
    The camera is opened and closed here; a camera that stops delivering is an error saying so."""
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    failures = 0
    camera.open()
    try:
        while len(saved) < count and not (cancel is not None and cancel.is_set()):
            try:
                frame = camera.grab()
            except GrabFailed:
                frame = None
            except EndOfStream:
                break
            if frame is None:
                failures += 1
                if failures >= MAX_GRAB_FAILURES:
                    raise StationError(f"the camera delivered no part {failures} times in a row; check it and retry")
                continue
            failures = 0
            path = folder / f"good-{len(saved) + 1:04d}.png"
            _save(frame.image, path)
            saved.append(path)
            shown(len(saved), frame.image)
    finally:
        camera.close()
    return saved


def capture_from_station(
    config: StationConfig, plan: TeachPlan, count: int, shown: Callable[[int, Image], None]
) -> list[Path]:
    """``count`` good parts from the station's own camera (the station must not be running meanwhile)."""
    return capture_good_parts(make_camera(config.camera), count, plan.good, shown)


def take_folder(images: Path, plan: TeachPlan) -> list[Path]:
    """Good images picked from a folder, linked into the plan's good/ folder (the run names where they are)."""
    found = list_images(images)
    if len(found) < MIN_GOOD:
        raise StationError(f"{images}: {len(found)} image(s); teaching a product needs at least {MIN_GOOD} good parts")
    plan.good.mkdir(parents=True, exist_ok=True)
    for path in found:
        target = plan.good / path.name
        if not target.exists():
            target.symlink_to(path.resolve())
    return sorted(plan.good.iterdir())


def write_recipe(plan: TeachPlan, model_folder: Path, threshold: float = 0.5) -> Path:
    """The product's recipe: its anomaly model (the registry folder, backend by device) and the score a part
    fails from (the card's threshold, 0.5, unless moved)."""
    relative = Path(os.path.relpath(model_folder.resolve(), plan.recipe.resolve().parent)).as_posix()
    text = (
        f"# Taught from good parts alone ('inspection teach {plan.product}'): its anomaly model decides; a part\n"
        "# scoring at or above min_confidence (the card's threshold is 0.5) fails.\n"
        f"name: {plan.product}\nversion: '1'\nmodel: {relative}\nclasses: [{LABEL}]\n"
        f"imgsz: {plan.imgsz}\ndefault_rule:\n  min_confidence: {round(threshold, 3)}\n"
    )
    plan.recipe.parent.mkdir(parents=True, exist_ok=True)
    replace_config_file(plan.recipe, text, Recipe)
    return plan.recipe


def train_product(plan: TeachPlan, progress: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    """Train on the plan's good images (in this process), then ``register_product``."""
    settings = AnomalySettings(
        plan.good, plan.work / "run", imgsz=plan.imgsz, target_false_reject=plan.target_false_reject
    )
    train_anomaly(settings, progress)
    return register_product(plan, "taught at the cell (inspection teach)")


def register_product(plan: TeachPlan, notes: str) -> tuple[Path, dict[str, Any]]:
    """Register the plan's finished run as the product; its folder and its card's ``anomaly`` section
    (threshold, held-out good scores)."""
    folder = register_run(plan.work / "run", plan.product, plan.registry, notes=notes)
    section = (read_card(folder).model_extra or {}).get("anomaly", {})
    return folder, dict(section)


def discard(plan: TeachPlan, keep_images: bool = False) -> None:
    """Remove what a cancelled or failed teach-in left (its run, and its images unless kept; never a
    registered model)."""
    shutil.rmtree(plan.work / "run" if keep_images else plan.work, ignore_errors=True)


def false_reject_at(scores: list[float], threshold: float) -> float:
    """The share of held-out good parts that would fail at ``threshold``."""
    return sum(score >= threshold for score in scores) / len(scores) if scores else 0.0


def describe_threshold(section: dict[str, Any]) -> str:
    """One paragraph for the person teaching: the threshold, how it was set, the held-out scores."""
    held = section.get("held_out_good", {})
    quantiles = held.get("score_quantiles", {})
    return (
        f"threshold 0.5 set for {section.get('target_false_reject', 0) * 100:.1f}% false rejects on "
        f"{held.get('images', 0)} held-out good parts (their scores: median {quantiles.get('p50', 0):.2f}, "
        f"max {quantiles.get('max', 0):.2f}; {held.get('false_reject_at_threshold', 0) * 100:.1f}% at or above 0.5)"
    )
