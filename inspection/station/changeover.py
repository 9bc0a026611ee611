"""Product changeover while the station runs: the product (recipe: model, references, rules, ROI, camera
settings) that judges each part, and the switch to another one between two parts.

A changeover loads the new product's model first (or takes it from a bounded cache of loaded models)
while the old product still inspects; only then does it hold the grabs, let the parts in flight finish on
the old product, swap, set the camera, and let the grabs go on. A product whose files fail their checks is
refused with the reason and the station stays on the old one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from inspection.cameras import ResilientCamera
from inspection.cameras.base import settings_problem
from inspection.config import PipelineSettings, Recipe
from inspection.core.errors import StationError
from inspection.core.events import EventBus, ProductChange
from inspection.detectors import Detector
from inspection.ml.registry.selection import BackendChoice
from inspection.quality.rules import require_scale
from inspection.station.builder import open_detector

log = logging.getLogger(__name__)
DRAIN_TIMEOUT_S = 30.0  # parts in flight finish within this, or the changeover is refused


@dataclass(frozen=True)
class Product:
    """What judges a part: the recipe, its recorded hash, and its loaded model; swapped as one."""

    recipe: Recipe
    recipe_sha256: str | None
    detector: Detector
    backend: BackendChoice


@dataclass(frozen=True)
class ChangeoverResult:
    product: str
    version: str
    seconds: float  # from the request to ready (or to the refusal)
    cached: bool  # the model was loaded already
    refused: str | None = None  # why the station stays on the old product

    @property
    def done(self) -> bool:
        return self.refused is None


def model_key(recipe: Recipe) -> tuple[object, ...]:
    """What a loaded detector depends on (the rules do not): recipes with one key share a detector."""
    reference = None if recipe.reference is None else str(recipe.reference)
    return (str(recipe.model), reference, recipe.reference_alignment, recipe.imgsz, recipe.iou, tuple(recipe.classes))


class DetectorCache:
    """Loaded models, the most recently used kept up to ``pipeline.product_cache``."""

    def __init__(self, pipeline: PipelineSettings) -> None:
        self.pipeline = pipeline
        self._loaded: OrderedDict[tuple[object, ...], tuple[Detector, BackendChoice]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, recipe: Recipe) -> tuple[Detector, BackendChoice, bool]:
        """The recipe's detector (loaded now unless cached) and whether it was cached; nothing is evicted
        here (the running product's model stays until the swap): ``trim`` after it."""
        key = model_key(recipe)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return (*self._loaded[key], True)
        detector, choice = open_detector(recipe, self.pipeline)  # outside the lock: seconds, and may fail
        with self._lock:
            self._loaded[key] = (detector, choice)
        return detector, choice, False

    def preload(self, recipes: list[Recipe]) -> dict[str, str]:
        """Load the recipes' models while there is room; returns the failures (recipe name -> reason)."""
        failed = {}
        for recipe in recipes:
            with self._lock:
                full = len(self._loaded) >= self.pipeline.product_cache
            if full:
                break
            try:
                self.get(recipe)
            except (StationError, ValueError, OSError) as exc:
                failed[recipe.name] = str(exc)
                log.warning("product %s not preloaded: %s", recipe.name, exc)
        return failed

    def trim(self, keep: Detector) -> None:
        """Close the least recently used models beyond ``product_cache``; ``keep`` (the running one) stays."""
        with self._lock:
            while len(self._loaded) > self.pipeline.product_cache:
                key = next(k for k, (detector, _) in self._loaded.items() if detector is not keep)
                detector, _choice = self._loaded.pop(key)
                detector.close()

    def close(self) -> None:
        with self._lock:
            for detector, _choice in self._loaded.values():
                detector.close()
            self._loaded.clear()


class PartGate:
    """Lets a changeover in between two parts: grabs wait while it holds the gate, and the hold begins once
    no grab is under way and every part grabbed has been inspected."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False
        self._grabbing = False
        self._in_flight = 0

    @contextmanager
    def grab(self, stop: threading.Event) -> Iterator[None]:
        """Around one grab (and its queueing): waits while a changeover holds the gate."""
        with self._cond:
            while self._held and not stop.is_set():
                self._cond.wait(0.2)
            self._grabbing = True
        try:
            yield
        finally:
            with self._cond:
                self._grabbing = False
                self._cond.notify_all()

    def entered(self) -> None:
        """A grabbed part is queued for inspection."""
        with self._cond:
            self._in_flight += 1

    def left(self) -> None:
        """A queued part is inspected (or dropped: a live preview frame)."""
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    @contextmanager
    def hold(self, stop: threading.Event, timeout_s: float = DRAIN_TIMEOUT_S) -> Iterator[None]:
        """No grab starts inside; raises StationError when the parts in flight do not finish in time."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._held = True
            try:
                while (self._grabbing or self._in_flight > 0) and not stop.is_set():
                    if not self._cond.wait(min(0.2, max(0.0, deadline - time.monotonic()))) and (
                        time.monotonic() >= deadline
                    ):
                        raise StationError(f"{self._in_flight} part(s) in flight did not finish in {timeout_s:g} s")
            except BaseException:
                self._held = False
                self._cond.notify_all()
                raise
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                self._cond.notify_all()


class Products:
    """The running product and the changeover to another (one at a time)."""

    def __init__(
        self,
        first: Recipe,
        pipeline: PipelineSettings,
        remember: Callable[[Recipe, Detector], str],
        mm_per_px: float | None,
        bus: EventBus,
    ) -> None:
        self.cache = DetectorCache(pipeline)
        self.remember = remember
        self.mm_per_px = mm_per_px
        self.bus = bus
        self.gate = PartGate()
        self._changing = threading.Lock()
        detector, choice, _cached = self.cache.get(first)
        self.current = Product(first, remember(first, detector), detector, choice)

    def change(
        self, recipe: Recipe, camera: ResilientCamera, stop: threading.Event, source: str = "station"
    ) -> ChangeoverResult:
        """Switch to ``recipe`` between two parts; refused (the old product stays) when it fails a check."""
        started = time.perf_counter()
        self.bus.publish(ProductChange(recipe.name, recipe.version, "started", f"asked by {source}"))
        with self._changing:
            cached = False
            try:
                require_scale(recipe, self.mm_per_px)
                detector, choice, cached = self.cache.get(recipe)
                product = Product(recipe, self.remember(recipe, detector), detector, choice)
                with self.gate.hold(stop):
                    set_camera(camera, recipe)
                    self.current = product
            except (StationError, ValueError, OSError) as exc:
                seconds = time.perf_counter() - started
                log.warning("product %s refused (%s): %s", recipe.name, source, exc)
                self.bus.publish(ProductChange(recipe.name, recipe.version, "refused", str(exc), seconds))
                return ChangeoverResult(recipe.name, recipe.version, seconds, cached, str(exc))
            finally:
                self.cache.trim(keep=self.current.detector)
        seconds = time.perf_counter() - started
        log.info("product %s v%s ready in %.2f s (%s)", recipe.name, recipe.version, seconds, source)
        detail = f"{'cached' if cached else 'loaded'} model, {seconds:.2f} s"
        self.bus.publish(ProductChange(recipe.name, recipe.version, "ready", detail, seconds))
        return ChangeoverResult(recipe.name, recipe.version, seconds, cached)

    def new_rules(self, recipe: Recipe) -> None:
        """Same model, other rules: one swap, the detect thread reads the product once per part."""
        self.current = replace(self.current, recipe=recipe, recipe_sha256=self.remember(recipe, self.current.detector))

    def close(self) -> None:
        self.cache.close()


def set_camera(camera: ResilientCamera, recipe: Recipe) -> None:
    """The product's camera settings on the open camera (a closed one takes them when it opens); a setting
    the product does not name goes back to the station file's. Refused before anything changes when the
    camera cannot take one of them."""
    if camera.status.state != "open":
        return
    source = camera.source
    settable = source.settable()
    missing = sorted(set(recipe.camera) - set(settable))
    if missing:
        raise StationError(f"product {recipe.name}: camera {source.name} cannot set {', '.join(missing)}")
    station_file = {name: value for name, value in source.configured().items() if name in settable}
    wanted = {**station_file, **{str(name): value for name, value in recipe.camera.items()}}
    problem = settings_problem(settable, wanted)
    if problem is not None:
        raise StationError(f"product {recipe.name}: camera {problem}")
    changes = {name: value for name, value in wanted.items() if settable[name].value != value}
    if changes:
        source.apply(changes)
