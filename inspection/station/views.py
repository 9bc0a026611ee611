"""A part seen by several cameras: each view judged by its own recipe (or the station's product), side by
side when the views have detectors of their own, into one part record: FAIL when any view fails, and a
view without an image is a FAIL with the reason."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from inspection.cameras import ResilientCamera
from inspection.cameras.views import ViewGroup
from inspection.config import Recipe, StationConfig, load_recipe
from inspection.core.types import Detection, Frame, InspectionRecord, Verdict, ViewResult
from inspection.detectors import Detector
from inspection.quality.rules import require_scale
from inspection.recorder.writer import RECORD_MIN_CONFIDENCE
from inspection.station.builder import open_camera, open_detector
from inspection.station.changeover import Product
from inspection.station.part import cycle_ms, decide_part, recipe_floor


def open_views(config: StationConfig, first: ResilientCamera, stop: threading.Event) -> ViewGroup | None:
    """The station's views (None: one camera); the first view's camera is ``first``."""
    if not config.views:
        return None
    cameras = {}
    for number, (name, view) in enumerate(config.views.items()):
        own = config.model_copy(update={"camera": view.camera})
        cameras[name] = first if number == 0 else open_camera(own, stop)
    return ViewGroup(cameras, config.pipeline.view_timeout_ms / 1000.0, stop)


def own_products(
    config: StationConfig, remember: Callable[[Recipe, Detector], str], mm_per_px: float | None
) -> dict[str, Product]:
    """The views with a recipe of their own, each with its own loaded detector (fixed while running)."""
    products = {}
    for name, view in config.views.items():
        if view.recipe is None:
            continue
        recipe = load_recipe(view.recipe)
        require_scale(recipe, mm_per_px)
        detector, choice = open_detector(recipe, config.pipeline)
        products[name] = Product(recipe, remember(recipe, detector), detector, choice)
    return products


class ViewInspector:
    def __init__(self, own: dict[str, Product], parallel: bool, station: str, mm_per_px: float | None) -> None:
        self.own = own
        self.station = station
        self.mm_per_px = mm_per_px
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="view") if parallel else None

    def inspect(self, frame: Frame, shared: Product) -> InspectionRecord:
        """The part's record from its views' frames; ``shared`` judges the views without a recipe."""
        assert frame.views is not None
        started = time.perf_counter()
        products = {name: self.own.get(name, shared) for name in frame.views}
        batches = _by_detector(products)  # one detector is never used by two threads at once
        if self._pool is not None and len(batches) > 1:
            judged = self._pool.map(lambda names: self._judge(frame, products, names), batches)
            done = [result for batch in judged for result in batch]
        else:
            done = [r for names in batches for r in self._judge(frame, products, names)]
        order = list(frame.views)
        results = tuple(sorted(done, key=lambda r: order.index(r.view)))
        return self._record(frame, shared, results, (time.perf_counter() - started) * 1000)

    def _judge(self, frame: Frame, products: dict[str, Product], names: list[str]) -> list[ViewResult]:
        assert frame.views is not None
        return [judge_view(name, frame.views[name], products[name], self.mm_per_px) for name in names]

    def _record(
        self, frame: Frame, shared: Product, results: tuple[ViewResult, ...], detect_ms: float
    ) -> InspectionRecord:
        failed = any(result.verdict == Verdict.FAIL for result in results)
        detections: tuple[Detection, ...] = tuple(d for result in results for d in result.detections)
        models = dict.fromkeys(result.model_name for result in results if result.model_name)
        return InspectionRecord(
            id=InspectionRecord.new_id(), timestamp=frame.timestamp, station=self.station, camera=frame.camera,
            recipe_name=shared.recipe.name, recipe_version=shared.recipe.version,
            model_name="+".join(models) or shared.detector.info.name, model_sha256=shared.detector.info.sha256,
            verdict=Verdict.FAIL if failed else Verdict.PASS,
            reasons=tuple(reason for result in results for reason in result.reasons),
            detections=detections, kept=tuple(d for result in results for d in result.kept),
            latencies_ms={"grab": frame.grab_ms, "detect": detect_ms,
                          "cycle": cycle_ms(frame)},
            part_serial=frame.part_serial, lot=frame.lot, source_name=frame.source_name,
            mm_per_px=self.mm_per_px, recipe_sha256=shared.recipe_sha256, views=results,
        )  # fmt: skip

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for product in self.own.values():
            product.detector.close()


def judge_view(name: str, view: Frame | str, product: Product, mm_per_px: float | None) -> ViewResult:
    if isinstance(view, str):  # no image: the part fails with the reason
        return ViewResult(name, "", Verdict.FAIL, (f"{name}: {view}",), recipe_name=product.recipe.name, missing=True)
    floor = min(recipe_floor(product.recipe), RECORD_MIN_CONFIDENCE)
    prediction = product.detector.predict(view.image, floor)
    decision = decide_part(prediction, product.recipe, mm_per_px)
    return ViewResult(
        name, view.camera, decision.verdict, tuple(f"{name}: {reason}" for reason in decision.reasons),
        tuple(prediction.detections), decision.kept, product.recipe.name, product.recipe_sha256,
        product.detector.info.name, prediction.elapsed_ms, view.source_name, prediction.reference,
    )  # fmt: skip


def _by_detector(products: dict[str, Product]) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for name, product in products.items():
        groups.setdefault(id(product.detector), []).append(name)
    return list(groups.values())
