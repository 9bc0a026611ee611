"""``inspection bench``: bare detector vs full station throughput, measured in one run."""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from inspection.cli.bench_backends import run_bench_backends
from inspection.cli.options import Commands
from inspection.config import DEMO_CONFIG, FolderCamera, PylonCamera, StationConfig, load_station_config
from inspection.core.errors import StationError
from inspection.core.images import list_images, read_image
from inspection.core.machine import describe_machine
from inspection.core.types import Image
from inspection.station.part import recipe_floor
from inspection.station.pipeline import Station


def _replay_images(config: StationConfig) -> list[Image]:
    camera = config.camera
    if isinstance(camera, PylonCamera) and camera.image_folder is not None:
        folder = camera.image_folder
    elif isinstance(camera, FolderCamera):
        folder = camera.path
    else:
        raise StationError("bench needs a replayable camera: a pylon emulator with image_folder, or a folder")
    images = [image for path in list_images(folder) if (image := read_image(path)) is not None]
    if not images:
        raise StationError(f"{folder}: no readable images to benchmark with")
    return images


PACED_LOAD = 0.8  # the latency that matters on a line: parts coming at 80% of what the station can take


def _in_folder(config: StationConfig, data_dir: str) -> StationConfig:
    storage = config.storage.model_copy(update={"data_dir": Path(data_dir), "database_url": None})
    return config.model_copy(update={"storage": storage})


def paced_latency(config: StationConfig, parts: int, rate: float) -> tuple[float | None, float | None]:
    """Median and p99 cycle latency (ms) with parts triggered at ``rate`` per second (not as fast as the
    station goes, where the frame queue fills and every part waits for the ones before it)."""
    source = config.camera
    if not isinstance(source, PylonCamera | FolderCamera):  # _replay_images has refused the others
        raise StationError("bench needs a replayable camera: a pylon emulator with image_folder, or a folder")
    camera = source.model_copy(update={"trigger": source.trigger.model_copy(update={"interval_ms": 1000.0 / rate})})
    with tempfile.TemporaryDirectory(prefix="inspection-bench-") as data_dir:
        station = Station(_in_folder(config.model_copy(update={"camera": camera}), data_dir))
        try:
            summary = station.run(parts=parts)
        finally:
            station.close()
    cycle = summary.stats.latency("cycle")
    return cycle.median, cycle.p99


def measure(config_path: Path, parts: int) -> dict[str, object]:
    config = load_station_config(config_path)
    with tempfile.TemporaryDirectory(prefix="inspection-bench-") as data_dir:
        station = Station(_in_folder(config, data_dir))
        choice = station.backend_choice
        parallel = station.detect_workers.parallel
        try:
            images = _replay_images(config)
            detector = station.detector
            floor = recipe_floor(station.recipe)

            def bare_detector(count: int) -> float:
                started = time.perf_counter()
                for i in range(count):
                    detector.predict(images[i % len(images)], floor)
                return time.perf_counter() - started

            # Half of the bare-detector run before the station and half after, so that slow drifts of
            # the machine (other load, clock) fall on both figures alike.
            detector_s = bare_detector(parts // 2)
            summary = station.run(parts=parts)
            # From the first trigger to the last record committed; opening and closing the camera are
            # set-up, like loading the model, and are left out of both figures.
            station_s = summary.stats.elapsed_s
            detector_s += bare_detector(parts - parts // 2)
        finally:
            station.close()
        written = summary.records_written
        stored_images = sum(1 for p in (Path(data_dir) / "images").rglob("*") if p.is_file())
    cycle = summary.stats.latency("cycle")
    detector_fps = parts / detector_s
    station_fps = written / station_s
    paced_median, paced_p99 = paced_latency(config, parts, PACED_LOAD * station_fps)
    return {
        "parts": parts,
        "detector_fps": round(detector_fps, 2),
        "station_fps": round(station_fps, 2),
        "ratio": round(station_fps / detector_fps, 3),
        "latency_ms_median": cycle.median,
        "latency_ms_p99": cycle.p99,
        "paced_parts_per_s": round(PACED_LOAD * station_fps, 2),
        "latency_ms_median_at_80pct": paced_median,
        "latency_ms_p99_at_80pct": paced_p99,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "records_written": written,
        "images_written": stored_images,
        "camera_faults": summary.camera.faults,
        "model": detector.info.name,
        "backend": detector.info.backend,
        "device": detector.info.device,
        "imgsz": detector.info.imgsz,
        "inference_threads": detector.info.threads,
        "parallel_parts": parallel,
        "precision": detector.info.precision,
        "backend_selected": choice.as_json(),
        "machine": describe_machine(),
    }


def run_bench(config_path: Path, parts: int, as_json: bool) -> int:
    if parts < 1:
        raise StationError("--parts must be at least 1")
    result = measure(config_path, parts)
    if as_json:
        print(json.dumps(result))
        return 0
    print(
        f"model            {result['model']} ({result['backend']} on {result['device']}, {result['imgsz']} px, "
        f"{result['inference_threads']} inference thread(s), {result['parallel_parts']} part(s) at once)"
    )
    selected = result["backend_selected"]
    assert isinstance(selected, dict)
    print(f"backend          {selected['format']} on {selected['device']}: {selected['reason']}")
    print(f"machine          {result['machine']}")
    print(f"parts            {result['parts']} per measurement")
    print(f"detector alone   {result['detector_fps']} images/s")
    print(f"full station     {result['station_fps']} parts/s (camera -> detector -> rules -> record + image)")
    print(f"ratio            {result['ratio']}  (station / bare detector)")
    print(
        f"cycle latency    median {result['latency_ms_median']} ms, p99 {result['latency_ms_p99']} ms at full load; "
        f"median {result['latency_ms_median_at_80pct']} ms, p99 {result['latency_ms_p99_at_80pct']} ms with parts "
        f"every {1000 / float(str(result['paced_parts_per_s'])):.0f} ms (80% of capacity)"
    )
    print(f"peak RSS         {result['peak_rss_mb']} MB")
    print(f"written          {result['records_written']} records, {result['images_written']} images")
    return 0


def add_commands(commands: Commands) -> None:
    bench = commands.add_parser(
        "bench",
        help="measure detector and station throughput",
        description=(
            "Measure, in one run on the same images and model, the bare detector throughput and the full "
            "station throughput (camera -> record, images written), their ratio, latency at full load and with "
            "parts triggered at 80% of capacity, peak memory, and which backend the station selected."
        ),
    )
    bench.add_argument("--config", type=Path, default=DEMO_CONFIG, help="station YAML (default: demo)")
    bench.add_argument("--parts", type=int, default=200, help="parts per measurement (default 200)")
    bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    bench.add_argument(
        "--backends",
        action="store_true",
        help="instead: compare ultralytics' PyTorch predict with the project's CPU backends (same images, verdicts)",
    )
    bench.add_argument("--model", help="with --backends: registry name (default: the recipe's model)")
    bench.add_argument("--recipe", type=Path, help="with --backends: recipe (default: the demo recipe)")
    bench.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.backends:
        return run_bench_backends(args.model, args.recipe, args.parts, args.json)
    return run_bench(args.config, args.parts, args.json)
