"""Product changeover while the station runs (pylon emulator, real models, SQLite): a PLC recipe switch
between two products with different models mid-run, the parts in flight finishing on the old product,
the new product's camera settings, and a product whose files fail their checks refused (the old one stays)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import yaml
from conftest import DEMO_RECIPE, ROOT, SAMPLE_IMAGES, write_station
from loopback import free_port
from plc_client import Plc

from inspection.config import load_recipe, load_station_config
from inspection.config.plc_registers import OUT_RECIPE, Status
from inspection.core.events import Event, InspectionDone, ProductChange
from inspection.station.pipeline import Station

TEMPLATE_RECIPE = ROOT / "configs" / "recipes" / "deeppcb-template.yaml"


def _records(data_dir: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(data_dir / "inspection.db") as db:
        return db.execute("SELECT recipe_name, model_name, part_serial FROM inspections ORDER BY created_at").fetchall()


def _product_file(tmp_path: Path, name: str, base: Path, **changes: Any) -> Path:
    """A copy of a bundled recipe (paths made absolute) under another name, with ``changes``."""
    recipe = load_recipe(base)
    data = yaml.safe_load(base.read_text())
    data.update(name=name, model=str(recipe.model), reference=str(recipe.reference), **changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _watch(station: Station) -> list[ProductChange]:
    seen: list[ProductChange] = []

    def watch(event: Event) -> None:
        if isinstance(event, ProductChange):
            seen.append(event)

    station.bus.subscribe(watch)
    return seen


def test_a_plc_recipe_index_changes_the_model_mid_run_without_a_restart(tmp_path: Path) -> None:
    port = free_port()
    config = write_station(
        tmp_path,
        plc={"mode": "server", "host": "127.0.0.1", "port": port},
        recipes={1: str(DEMO_RECIPE), 2: str(TEMPLATE_RECIPE)},
    )
    station = Station(load_station_config(config))
    changes = _watch(station)
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        plc = Plc(port)
        plan = [(0, 4), (2, 4), (1, 3), (2, 3)]  # (recipe index, parts): 0 keeps the station's recipe
        serial = 0
        for index, parts in plan:
            plc.recipe(index)
            for _ in range(parts):
                serial += 1
                words = plc.trigger(f"SN{serial:03d}", "LOT")
                assert Status.FAIL in Status(words[0]) or Status.PASS in Status(words[0])
                plc.acknowledge()
            if index:
                assert plc.outputs()[OUT_RECIPE] == index  # the PLC reads which product runs
        assert runner.is_alive()  # one run all along: no restart
    finally:
        station.stop()
        runner.join(60)
        station.close()
    rows = _records(tmp_path / "data")
    assert [serial for _, _, serial in rows] == [f"SN{n:03d}" for n in range(1, 15)]  # none lost, in order
    demo, template = load_recipe(DEMO_RECIPE).name, load_recipe(TEMPLATE_RECIPE).name
    expected = [demo] * 4 + [template] * 4 + [demo] * 3 + [template] * 3
    assert [name for name, _, _ in rows] == expected
    models = {name: {model for n, model, _ in rows if n == name} for name in (demo, template)}
    assert len(models[demo]) == len(models[template]) == 1 and models[demo] != models[template]
    ready = [change for change in changes if change.phase == "ready"]
    assert [change.product for change in ready] == [template, demo, template]
    assert all(change.seconds < 10 for change in ready), ready  # both preloaded: the cache serves them


def test_parts_in_flight_finish_on_the_old_product_and_the_new_one_sets_the_camera(tmp_path: Path) -> None:
    bright = _product_file(tmp_path, "bright", TEMPLATE_RECIPE, camera={"exposure_us": 5000.0})
    station = Station(load_station_config(write_station(tmp_path, pipeline={"queue_size": 4})))
    results: list[Any] = []

    def switch_after_ten(event: Event) -> None:
        if isinstance(event, InspectionDone) and len(results) == 0 and station.stats.parts >= 10:
            results.append(None)
            threading.Thread(target=lambda: results.append(station.change_product(load_recipe(bright)))).start()

    station.bus.subscribe(switch_after_ten)
    try:
        summary = station.run(parts=40)
        deadline = time.monotonic() + 30
        while len(results) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        station.close()
    result = results[1]
    assert result.done and result.product == "bright", result
    names = [name for name, _, _ in _records(tmp_path / "data")]
    assert len(names) == summary.stats.parts == 40  # no part lost
    switch_at = names.index("bright")
    assert switch_at >= 10 and set(names[switch_at:]) == {"bright"}  # one switch, between two parts
    assert set(names[:switch_at]) == {load_recipe(DEMO_RECIPE).name}


def test_camera_settings_are_on_the_open_camera_after_the_changeover(tmp_path: Path) -> None:
    bright = _product_file(tmp_path, "bright", TEMPLATE_RECIPE, camera={"exposure_us": 5000.0})
    station = Station(load_station_config(write_station(tmp_path)))
    seen: dict[str, float] = {}

    def read_exposure(event: Event) -> None:
        if isinstance(event, ProductChange) and event.phase == "ready":
            seen["exposure_us"] = station.camera.source.adjustable()["exposure_us"].value
            station.stop()

    station.bus.subscribe(read_exposure)

    def switch_once(event: Event) -> None:
        if isinstance(event, InspectionDone) and not seen and station.stats.parts == 3:
            threading.Thread(target=station.change_product, args=(load_recipe(bright),)).start()

    station.bus.subscribe(switch_once)
    try:
        station.run(duration_s=60)
    finally:
        station.close()
    assert seen == {"exposure_us": 5000.0}


def test_a_product_whose_files_fail_is_refused_and_the_old_one_stays(tmp_path: Path) -> None:
    broken = _product_file(tmp_path, "broken", DEMO_RECIPE)
    data = yaml.safe_load(broken.read_text())
    data["model"] = str(tmp_path / "missing-model.onnx")
    broken.write_text(yaml.safe_dump(data))
    too_bright = _product_file(tmp_path, "too-bright", TEMPLATE_RECIPE, camera={"exposure_us": 1e12})
    station = Station(load_station_config(write_station(tmp_path)))
    changes = _watch(station)
    results: list[Any] = []

    def try_both(event: Event) -> None:
        if isinstance(event, InspectionDone) and station.stats.parts == 3 and not results:
            results.append(station.change_product(load_recipe(broken)))  # on the bus thread: fine, it returns
            results.append(station.change_product(load_recipe(too_bright)))

    station.bus.subscribe(try_both)
    try:
        summary = station.run(parts=12)
    finally:
        station.close()
    assert [r.done for r in results] == [False, False]
    assert "missing-model.onnx" in (results[0].refused or "")
    assert "exposure_us" in (results[1].refused or "") and "outside" in (results[1].refused or "")
    assert {name for name, _, _ in _records(tmp_path / "data")} == {load_recipe(DEMO_RECIPE).name}
    assert summary.stats.parts == 12 and not summary.errors
    assert [c.phase for c in changes] == ["started", "refused", "started", "refused"]


def _network_product(tmp_path: Path, name: str, **camera: float) -> Path:
    """A product judged by the bundled network alone (no reference: any image size goes)."""
    data = yaml.safe_load(DEMO_RECIPE.read_text())
    data.update(name=name, model=str(ROOT / "models" / "deeppcb-yolov8n"), camera=camera)
    data.pop("reference")
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _image_sizes(data_dir: Path) -> list[tuple[str, tuple[int, ...]]]:
    with sqlite3.connect(data_dir / "inspection.db") as db:
        rows = db.execute("SELECT recipe_name, image_path FROM inspections ORDER BY created_at").fetchall()
    return [(name, cv2.imread(str(data_dir / path), cv2.IMREAD_UNCHANGED).shape[:2]) for name, path in rows]


def test_a_products_image_region_is_set_between_two_parts_and_the_next_product_gets_the_station_files(
    tmp_path: Path,
) -> None:
    full_size = cv2.imread(str(next(SAMPLE_IMAGES.glob("*.jpg")))).shape[:2]
    window = _network_product(tmp_path, "window", width=320, height=240, offset_x=16, offset_y=8)
    too_wide = _network_product(tmp_path, "too-wide", width=4000, offset_x=200)  # the emulator's sensor: 4096
    plain = _network_product(tmp_path, "plain")  # names no camera setting: the station file's come back
    station = Station(load_station_config(write_station(tmp_path)))
    changes = _watch(station)
    demo = load_recipe(DEMO_RECIPE).name
    # (the product of three parts in a row, the product asked for then): None stops the run
    steps: list[tuple[str, Path | None]] = [(demo, window), ("window", too_wide), ("window", plain), ("plain", None)]
    results: list[Any] = []
    in_a_row = [0]

    def next_step(event: Event) -> None:
        if not isinstance(event, InspectionDone) or not steps:
            return
        expected, then = steps[0]
        in_a_row[0] = in_a_row[0] + 1 if event.record.recipe_name == expected else 0
        if in_a_row[0] < 3:
            return
        steps.pop(0)
        in_a_row[0] = 0
        if then is None:
            station.stop()
        else:
            results.append(station.change_product(load_recipe(then)))  # on the bus thread: fine, it returns

    station.bus.subscribe(next_step)
    try:
        summary = station.run(duration_s=120)
    finally:
        station.close()
    assert [r.done for r in results] == [True, False, True], results
    assert "offset_x + width = 4200 is beyond the sensor's 4096" in (results[1].refused or "")
    sizes = _image_sizes(tmp_path / "data")
    assert len(sizes) == summary.stats.parts >= 12
    names = [name for name, _ in sizes]
    assert names == sorted(names, key=[demo, "window", "plain"].index) and "window" in names and "plain" in names
    assert {name: size for name, size in sizes} == {demo: full_size, "window": (240, 320), "plain": full_size}
    assert len(set(sizes)) == 3  # each product's parts all have its size: the region changed between two parts
    assert [c.phase for c in changes] == ["started", "ready", "started", "refused", "started", "ready"]
