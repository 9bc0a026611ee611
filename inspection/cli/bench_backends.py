"""``inspection bench --backends``: ultralytics' own PyTorch predict against the project's CPU backends,
on the same model and the same images in one run, with the verdicts each gives.

ultralytics, on import, sets OMP_NUM_THREADS=1 when it is unset, so its predict runs PyTorch on one
thread out of the box; it is measured that way (what a user of ultralytics gets) and again with as many
threads as the project's backends use, and both ratios are reported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspection.config import DEMO_RECIPE, PROJECT_ROOT, Recipe, load_recipe
from inspection.core.errors import StationError
from inspection.core.images import list_images, read_image
from inspection.core.machine import describe_machine
from inspection.core.offline import make_ultralytics_offline
from inspection.core.types import Detection, Image
from inspection.detectors import Detector, load_detector
from inspection.detectors.base import ModelInfo, usable_cores
from inspection.detectors.card import ModelCard, find_card, read_card
from inspection.detectors.formats import EXPORT_FORMATS, format_of
from inspection.detectors.reference import References
from inspection.detectors.region_backend import RegionDetector, proposals_file
from inspection.detectors.region_settings import read_region_settings
from inspection.ml.registry.selection import resolve_model_file
from inspection.ml.registry.store import resolve_model
from inspection.quality.rules import decide
from inspection.station.part import recipe_floor

SAMPLE_IMAGES = PROJECT_ROOT / "datasets" / "deeppcb-sample" / "images"
ROUNDS = 3  # each backend runs in every round, so slow drifts of the machine fall on all alike
Predict = Callable[[Image], list[Detection]]


def _ultralytics_predict(weights: Path, recipe: Recipe, imgsz: int) -> Predict:
    """ultralytics' own predict (its pre-processing, NMS and results), as its users call it."""
    make_ultralytics_offline()
    from ultralytics import YOLO  # noqa: PLC0415  (heavy SDK, loaded only when used)

    model = YOLO(str(weights))
    names = model.names
    floor = recipe_floor(recipe)

    def predict(image: Image) -> list[Detection]:
        result = model.predict(image, imgsz=imgsz, conf=floor, iou=recipe.iou, verbose=False, device="cpu")[0]
        boxes = result.boxes
        return [
            Detection(names[int(c)], int(c), float(p), tuple(float(v) for v in xyxy))  # type: ignore[arg-type]
            for c, p, xyxy in zip(boxes.cls.tolist(), boxes.conf.tolist(), boxes.xyxy.tolist(), strict=True)
        ]

    return predict


def _ultralytics_region_predict(folder: Path, card: ModelCard, recipe: Recipe) -> tuple[Predict, Detector]:
    """The region classifier run by ultralytics' own classify predict, after the same proposals."""
    make_ultralytics_offline()
    from ultralytics import YOLO  # noqa: PLC0415  (heavy SDK, loaded only when used)

    weights = folder / "model.pt"
    model = YOLO(str(weights))
    names = [str(model.names[i]) for i in range(len(model.names))]

    def classify(crops: np.ndarray) -> np.ndarray:
        results = model.predict(list(crops), imgsz=card.input.imgsz, verbose=False, device="cpu")
        return np.stack([result.probs.data.cpu().numpy() for result in results])

    info = ModelInfo(weights.name, weights, "", list(card.classes), "ultralytics-predict", "cpu", card.input.imgsz, 1)
    settings = read_region_settings(folder, card)  # the same blend and boxes as the project's backends
    detector = RegionDetector(info, proposals_file(folder, card), classify, names, settings=settings)
    detector.warm_up()  # every batch size, as the project's backends are warmed when they load
    floor = recipe_floor(recipe)
    return (lambda image: detector.predict_prepared(image, floor)), detector


def _project_predict(path: Path, recipe: Recipe, imgsz: int, threads: int) -> tuple[Predict, Detector]:
    detector = load_detector(path, imgsz, "cpu", recipe.iou, threads=threads, prepared_input=True)
    floor = recipe_floor(recipe)
    return (lambda image: detector.predict_prepared(image, floor)), detector


def measure_backends(model: str | None, recipe_path: Path, count: int) -> dict[str, Any]:
    recipe = load_recipe(recipe_path)
    # The file the station would run here (a registry model: its fastest CPU export).
    recipe = recipe.model_copy(update={"model": resolve_model_file(recipe.model, "cpu").path})
    folder = resolve_model(PROJECT_ROOT / "models", model) if model else _recipe_model_folder(recipe)
    card = read_card(folder)
    images = _network_images(recipe, card.input.mode)
    threads = usable_cores()
    backends, two_stage, shipped = _backends(folder, card, recipe, threads)
    clock = StageClock(dict.fromkeys(backends, 0.0))
    for region in two_stage:
        region.classify = _timed(region.classify, clock)  # type: ignore[attr-defined]
    seconds, verdicts, measured = _measure(backends, images, count, recipe, (threads, shipped), clock)
    network_seconds = clock.seconds
    results: dict[str, dict[str, Any]] = {
        name: {
            "fps": round(measured / seconds[name], 1),
            "verdicts_identical": verdicts[name] == verdicts["ultralytics-predict"],
            "fails": verdicts[name].count("fail"),
            "settings": settings,
        }
        for name, (_, settings) in backends.items()
    }
    default = _default_backend(recipe, results)
    stages, speed_key = _two_stage_figures(results, network_seconds, measured, default) if two_stage else ({}, "fps")
    return {
        "model": folder.name,
        "imgsz": card.input.imgsz,
        "images": measured,
        "distinct_images": len(images),
        "backends": results,
        "default_backend": default,
        "default_speedup": round(results[default][speed_key] / results["ultralytics-predict"][speed_key], 2),
        "default_speedup_same_threads": round(
            results[default][speed_key] / results[f"ultralytics-predict-{threads}-threads"][speed_key], 2
        ),
        **stages,
        "machine": describe_machine(),
    }


def _backends(
    folder: Path, card: ModelCard, recipe: Recipe, threads: int
) -> tuple[dict[str, tuple[Predict, str]], list[Detector], int]:
    """Each backend's predict and settings, the region detectors among them (their classifier stage is
    timed on its own), and PyTorch's thread count as ultralytics ships it."""
    imgsz = card.input.imgsz
    two_stage: list[Detector] = []
    if card.task == "classify":
        predict_pt, region = _ultralytics_region_predict(folder, card, recipe)
        two_stage.append(region)
    else:
        predict_pt = _ultralytics_predict(folder / "model.pt", recipe, imgsz)
    import torch  # noqa: PLC0415  (heavy SDK; after ultralytics, which sets its thread default)

    shipped = torch.get_num_threads()
    backends: dict[str, tuple[Predict, str]] = {
        "ultralytics-predict": (predict_pt, f"PyTorch, {shipped} thread(s) as shipped"),
        f"ultralytics-predict-{threads}-threads": (predict_pt, f"PyTorch, {threads} threads"),
    }
    for fmt in EXPORT_FORMATS:
        if fmt in card.exports:
            predict, detector = _project_predict(folder / str(card.exports[fmt]["file"]), recipe, imgsz, threads)
            backends[detector.info.backend] = (predict, f"{detector.info.threads} threads, {detector.info.precision}")
            if card.task == "classify":
                two_stage.append(detector)
    return backends, two_stage, shipped


def _measure(
    backends: dict[str, tuple[Predict, str]],
    images: list[Image],
    count: int,
    recipe: Recipe,
    thread_counts: tuple[int, int],
    clock: StageClock,
) -> tuple[dict[str, float], dict[str, list[str]], int]:
    """Seconds and verdicts of each backend on the same images, in interleaved rounds (slow drifts of the
    machine fall on all alike), after a warm-up; and the number of images each measured."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    threads, shipped = thread_counts
    seconds = dict.fromkeys(backends, 0.0)
    verdicts: dict[str, list[str]] = {name: [] for name in backends}
    for name, (predict, _) in backends.items():
        torch.set_num_threads(threads if name.endswith("-threads") else shipped)
        clock.current = name
        for image in images[:3]:
            predict(image)  # warm-up
    clock.seconds.update(dict.fromkeys(backends, 0.0))  # the warm-up does not count
    per_round = max(1, count // ROUNDS)
    for round_number in range(ROUNDS):
        for name, (predict, _) in backends.items():
            torch.set_num_threads(threads if name.endswith("-threads") else shipped)
            batch = [images[(round_number * per_round + i) % len(images)] for i in range(per_round)]
            clock.current = name
            started = time.perf_counter()
            outputs = [predict(image) for image in batch]
            seconds[name] += time.perf_counter() - started
            verdicts[name] += [decide(detections, recipe).verdict.value for detections in outputs]
    torch.set_num_threads(shipped)
    return seconds, verdicts, per_round * ROUNDS


def _two_stage_figures(
    results: dict[str, dict[str, Any]], network_seconds: dict[str, float], measured: int, default: str
) -> tuple[dict[str, Any], str]:
    """Two stages: the golden-template proposals are the same code whatever the backend; what a backend
    runs is the classifier. fps is per part; network_fps counts only the classifier's time."""
    for name in results:
        results[name]["network_fps"] = round(measured / network_seconds[name], 1)
    stages = {
        "default_speedup_whole_part": round(results[default]["fps"] / results["ultralytics-predict"]["fps"], 2),
        "note": "two stages: default_speedup compares the classifier stage (network_fps), which is all a "
        "backend runs; default_speedup_whole_part includes the golden-template proposals, the same for all",
    }
    return stages, "network_fps"


@dataclass
class StageClock:
    """Seconds the classifier stage took, by backend; ``current``: the backend being measured (both
    ultralytics entries share one detector)."""

    seconds: dict[str, float]
    current: str = ""


def _timed(classify: Callable[[np.ndarray], np.ndarray], clock: StageClock) -> Any:
    def run(crops: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        try:
            return classify(crops)
        finally:
            clock.seconds[clock.current] += time.perf_counter() - started

    return run


def _recipe_model_folder(recipe: Recipe) -> Path:
    found = find_card(recipe.model)
    if found is None:
        raise StationError(f"{recipe.model}: not in the model registry (no card.yaml); pass --model NAME")
    return found[0]


def _default_backend(recipe: Recipe, results: dict[str, Any]) -> str:
    """The backend the recipe's model file runs on."""
    fmt = format_of(recipe.model)
    name = "ultralytics-predict" if fmt is None or not fmt.exportable else fmt.backend
    if name not in results:
        raise StationError(f"the recipe's model {recipe.model} has no registered {name} export to measure")
    return name


def _network_images(recipe: Recipe, mode: str) -> list[Image]:
    """The sample images in the network's input form (stacked with their nearest reference if needed)."""
    files = list_images(SAMPLE_IMAGES)
    images = [image for path in files if (image := read_image(path)) is not None]
    if not images:
        raise StationError(f"{SAMPLE_IMAGES}: no sample images")
    if mode == "image":
        return images
    if recipe.reference is None:
        raise StationError("the model compares parts with a reference image; the recipe names none")

    references = References.load(recipe.reference)
    return [references.stack(image)[1] for image in images]


def run_bench_backends(model: str | None, recipe: Path | None, count: int, as_json: bool) -> int:
    result = measure_backends(model, recipe or DEMO_RECIPE, count)
    if as_json:
        print(json.dumps(result))
        return 0
    print(f"model    {result['model']} ({result['imgsz']} px), {result['images']} images per backend")
    print(f"machine  {result['machine']}")
    for name, row in result["backends"].items():
        mark = "  <- default" if name == result["default_backend"] else ""
        same = "same verdicts" if row["verdicts_identical"] else "VERDICTS DIFFER"
        network = f" (classifier stage {row['network_fps']:7.1f}/s)" if "network_fps" in row else ""
        print(f"  {name:30} {row['fps']:7.1f} images/s{network}  {same:15} ({row['settings']}){mark}")
    stage = "classifier stage: " if "default_speedup_whole_part" in result else ""
    print(
        f"default backend {result['default_backend']}: {stage}{result['default_speedup']}x ultralytics predict as "
        f"shipped, {result['default_speedup_same_threads']}x with the same threads"
    )
    if "default_speedup_whole_part" in result:
        print(f"whole parts (with the golden-template proposals): {result['default_speedup_whole_part']}x")
    return 0
