"""The station against pylon's camera emulator: exact counts, injected faults, a vanished camera."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from conftest import SAMPLE_IMAGES, run_station, write_station

from inspection.core.events import InspectionDone, RecordWritten, StateChanged, StatsUpdate
from inspection.station.pipeline import Station


def _rows_and_images(data_dir: Path) -> tuple[list[tuple[str, str]], list[Path]]:
    with sqlite3.connect(data_dir / "inspection.db") as db:
        rows = db.execute("SELECT id, image_path FROM inspections").fetchall()
    images = [p for p in (data_dir / "images").rglob("*") if p.is_file()]
    return rows, images


def test_n_triggered_parts_give_n_records_and_n_images(station_yaml: Path, tmp_path: Path) -> None:
    summary = run_station(station_yaml, parts=40)
    rows, images = _rows_and_images(tmp_path / "data")
    assert summary.records_written == 40
    assert len(rows) == 40
    assert len(images) == 40
    assert {tmp_path / "data" / path for _, path in rows} == set(images)
    assert summary.stats.overruns == 0
    assert summary.camera.faults == 0
    # Traceability: the emulator replays the sample in name order; the record names the file.
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        names = [r[0] for r in db.execute("SELECT source_name FROM inspections ORDER BY created_at, rowid")]
    assert names[0] == sorted(p.name for p in SAMPLE_IMAGES.iterdir())[0]


def test_failed_buffers_are_counted_and_the_run_goes_on(station_yaml: Path, tmp_path: Path) -> None:
    injected = threading.Event()

    def subscribe_injector(station: Station) -> None:
        def inject(event: object) -> None:
            if isinstance(event, InspectionDone) and not injected.is_set():
                device = station.camera.source.device  # type: ignore[attr-defined]
                device.ForceFailedBufferCount.Value = 3  # the emulator fails the next 3 buffers
                device.ForceFailedBuffer.Execute()
                injected.set()

        station.bus.subscribe(inject)

    summary = run_station(station_yaml, subscribe_injector, parts=30)
    assert injected.is_set()
    assert summary.records_written == 30
    assert summary.camera.incomplete_buffers == 3
    assert summary.camera.failed_grabs == 3
    rows, images = _rows_and_images(tmp_path / "data")
    assert len(rows) == len(images) == 30


def test_camera_closed_under_the_station_is_reopened(station_yaml: Path, tmp_path: Path) -> None:
    seen = {"parts": 0}

    def subscribe_unplugger(station: Station) -> None:
        def pull_the_plug(event: object) -> None:
            if isinstance(event, InspectionDone):
                seen["parts"] += 1
                device = station.camera.source.device  # type: ignore[attr-defined]
                if seen["parts"] == 10 and device is not None:
                    device.Close()  # as if the camera had been unplugged

        station.bus.subscribe(pull_the_plug)

    summary = run_station(station_yaml, subscribe_unplugger, parts=30)
    assert summary.records_written == 30
    assert summary.camera.disconnects >= 1
    assert summary.camera.reconnects >= 1
    rows, _ = _rows_and_images(tmp_path / "data")
    assert len(rows) == 30


def test_parts_limit_with_fail_only_archive(tmp_path: Path) -> None:
    config_path = write_station(tmp_path, storage={"data_dir": str(tmp_path / "data"), "archive": "fail"})
    summary = run_station(config_path, parts=16)
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        fails = db.execute("SELECT count(*) FROM inspections WHERE verdict='fail'").fetchone()[0]
        with_image = db.execute("SELECT count(*) FROM inspections WHERE image_path IS NOT NULL").fetchone()[0]
    images = [p for p in (tmp_path / "data" / "images").rglob("*") if p.is_file()]
    assert summary.records_written == 16
    assert with_image == fails == len(images)


def test_colour_pixel_format_roi_and_annotated_copies(tmp_path: Path) -> None:
    camera = {
        "type": "pylon",
        "emulated": 2,
        "serial": "0815-0001",
        "image_folder": str(SAMPLE_IMAGES),
        "pixel_format": "BGR8",
        "width": 320,
        "height": 240,
        "offset_x": 16,
        "offset_y": 8,
        "exposure_us": 5000,
        "gain": 1,
        "frame_rate": 50,
        "trigger": {"mode": "software"},
    }
    config_path = write_station(
        tmp_path, camera=camera, storage={"data_dir": str(tmp_path / "data"), "annotated": True}
    )
    shapes: list[tuple[int, ...]] = []

    def record_shapes(station: Station) -> None:
        station.bus.subscribe(lambda e: shapes.append(e.frame.image.shape) if isinstance(e, InspectionDone) else None)

    summary = run_station(config_path, record_shapes, parts=4)
    assert summary.records_written == 4 and not summary.errors
    assert set(shapes) == {(240, 320, 3)}
    # A 320 x 240 window of a 640 x 640 board is not the part the reference shows: each is rejected
    # with that reason, and the station goes on.
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        rows = db.execute("SELECT verdict, reasons FROM inspections").fetchall()
    assert {verdict for verdict, _ in rows} == {"fail"}
    assert all("does not match its reference image" in reasons for _, reasons in rows)
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        paths = db.execute("SELECT image_path, annotated_path FROM inspections").fetchall()
    assert all((tmp_path / "data" / a).is_file() and (tmp_path / "data" / b).is_file() for a, b in paths)


def test_hardware_trigger_waits_idle_without_faults(tmp_path: Path) -> None:
    camera = {
        "type": "pylon",
        "emulated": 2,
        "image_folder": str(SAMPLE_IMAGES),
        "trigger": {"mode": "hardware", "line": "Line1"},
        "timeout_ms": 200,
    }
    summary = run_station(write_station(tmp_path, camera=camera), duration_s=1.5)
    assert summary.records_written == 0  # no pulse on Line1: no part, and that is not a fault
    assert summary.camera.faults == 0


def test_a_paced_trigger_counts_latency_from_the_trigger_not_the_wait_for_it(tmp_path: Path) -> None:
    camera = {
        "type": "pylon",
        "emulated": 2,
        "image_folder": str(SAMPLE_IMAGES),
        "trigger": {"mode": "software", "interval_ms": 1000},
    }
    summary = run_station(write_station(tmp_path, camera=camera), parts=4)
    assert summary.records_written == 4
    # A part every second, inspected in far less: counted from the wait, grab and cycle came to nearly 1 s.
    assert summary.stats.latency("grab").p99 < 500
    assert summary.stats.latency("cycle").p99 < 500


def test_detections_are_stored_with_whether_they_counted(station_yaml: Path, tmp_path: Path) -> None:
    summary = run_station(station_yaml, parts=16)
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        per_part = db.execute(
            "SELECT i.verdict, coalesce(sum(d.counted), 0), count(d.id), min(d.confidence) FROM inspections i "
            "LEFT JOIN detections d ON d.inspection_id = i.id GROUP BY i.id"
        ).fetchall()
    assert len(per_part) == summary.records_written == 16
    for verdict, counted, _stored, lowest in per_part:
        assert (verdict == "fail") == (counted > 0)
        assert lowest is None or lowest >= 0.25
    assert "write" in summary.stats.latency_ms


def test_subscribers_see_state_stats_and_every_inspection(station_yaml: Path) -> None:
    events: list[object] = []
    summary = run_station(station_yaml, lambda station: station.bus.subscribe(events.append), parts=20, tick_s=0.05)
    states = [e.state for e in events if isinstance(e, StateChanged)]
    assert states == ["starting", "running", "stopping", "stopped"]
    assert sum(isinstance(e, InspectionDone) for e in events) == summary.records_written == 20
    assert sum(isinstance(e, RecordWritten) for e in events) == 20
    updates = [e.status for e in events if isinstance(e, StatsUpdate)]
    assert updates and updates[-1].counts.parts == 20 and updates[-1].records_written == 20
    assert {"detect", "cycle", "write"} <= set(updates[-1].counts.latency_ms)


def test_each_part_is_compared_with_its_own_template(station_yaml: Path) -> None:
    """The demo model compares each board with the nearest reference: for the sample, its own template."""
    summary = run_station(station_yaml, parts=32)
    assert summary.records_written == 32
    with sqlite3.connect(Path(summary.data_dir) / "inspection.db") as db:
        rows = db.execute("SELECT source_name, reference_name FROM inspections").fetchall()
    assert len(rows) == 32
    for source, reference in rows:
        assert reference == source.replace("_test", "_temp"), (source, reference)


def test_a_manual_trigger_needs_a_software_triggered_camera_and_no_plc(tmp_path: Path) -> None:
    import pytest  # noqa: PLC0415

    from inspection.config import load_station_config  # noqa: PLC0415
    from inspection.core.errors import ConfigError  # noqa: PLC0415

    camera = {"type": "pylon", "emulated": 2, "serial": "0815-0000", "image_folder": str(SAMPLE_IMAGES),
              "trigger": {"mode": "free_run"}}  # fmt: skip
    free_running = write_station(tmp_path, camera=camera, pipeline={"trigger": "manual"})
    with pytest.raises(ConfigError, match="manual triggers the camera by software"):
        Station(load_station_config(free_running))
    with_plc = write_station(tmp_path, pipeline={"trigger": "manual"}, plc={"mode": "server", "port": 15502})
    with pytest.raises(ConfigError, match="the PLC triggers the parts; choose one"):
        Station(load_station_config(with_plc))
    station = Station(load_station_config(write_station(tmp_path)))  # triggers itself
    try:
        with pytest.raises(ConfigError, match=r"pipeline\.trigger: manual"):
            station.trigger_part("SN-1")
    finally:
        station.close()
