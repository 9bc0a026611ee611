"""The ``inspection`` command line."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(_signum: int, _frame: object) -> None:
    """Ctrl-C while the command is still importing its libraries: nothing is open yet, so stop at once
    and quietly (a KeyboardInterrupt there prints a traceback from the middle of some import)."""
    os.write(2, b"interrupted\n")
    os._exit(130)


# Before the imports below (they take a good part of a second); also where the parent started us with
# Ctrl-C ignored (a background job of a script): an interrupt is honoured from the first moment.
signal.signal(signal.SIGINT, _interrupted_while_starting)

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inspection import __version__
from inspection.config import DEMO_CONFIG
from inspection.core.errors import StationError, brief, one_line
from inspection.core.memory import keep_freed_memory
from inspection.core.offline import block_openvino_telemetry

log = logging.getLogger("inspection")
DEFAULT_EPOCHS = 20


def _run(args: argparse.Namespace) -> int:
    from inspection.cli.run import run_station  # noqa: PLC0415

    return run_station(args.config, args.parts, args.duration, quiet=args.quiet)


def _inspect(args: argparse.Namespace) -> int:
    from inspection.cli.inspect import inspect_paths  # noqa: PLC0415

    return inspect_paths(args.paths, args.recipe, args.model, args.conf, args.json, args.device, args.reference)


def _cameras(args: argparse.Namespace) -> int:
    from inspection.cli.cameras import list_cameras  # noqa: PLC0415

    return list_cameras(args.emulated, args.json, args.emulator_only)


def _plc_map(args: argparse.Namespace) -> int:
    from inspection.config import load_station_config  # noqa: PLC0415
    from inspection.config.plc_registers import register_map_csv, register_map_rows  # noqa: PLC0415

    input_base, output_base = 0, 100
    if args.config is not None:
        settings = load_station_config(args.config).plc
        if settings is None:
            raise StationError(f"{args.config}: no plc section; the station does not talk to a PLC")
        input_base, output_base = settings.input_base, settings.output_base
    if args.csv is not None:
        args.csv.write_text(register_map_csv(input_base, output_base))
        print(f"wrote {args.csv}")
        return 0
    for row in register_map_rows(input_base, output_base):
        print(
            f"{row['address']:>6} {row['plc_address']:>6} {row['words']:>2}  {row['direction']:15} {row['name']:20} "
            f"{row['meaning']}"
        )
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.backends:
        from inspection.cli.bench_backends import run_bench_backends  # noqa: PLC0415

        return run_bench_backends(args.model, args.recipe, args.parts, args.json)
    from inspection.cli.bench import run_bench  # noqa: PLC0415

    return run_bench(args.config, args.parts, args.json)


def _dataset_import(args: argparse.Namespace) -> int:
    from inspection.ml.dataset.importer import import_deeppcb  # noqa: PLC0415

    if not args.source.exists():
        raise StationError(f"{args.source}: no such file or folder")

    groups = {g.strip() for g in args.val_groups.split(",") if g.strip()} if args.val_groups else None
    if args.format == "deeppcb":
        import_deeppcb(args.source, args.out, groups, input_mode=args.input)
        return 0
    if args.input != "image":
        raise StationError(f"--input {args.input} needs image pairs (the deeppcb format); {args.format} has none")
    from inspection.ml.dataset.importer import import_labelled  # noqa: PLC0415

    import_labelled(args.source, args.out, args.format, groups)
    return 0


def _dataset_crops(args: argparse.Namespace) -> int:
    from inspection.ml.dataset.region_crops import build_region_crops  # noqa: PLC0415

    if not args.proposals.is_file():
        raise StationError(f"{args.proposals}: no such detector settings file")
    summary = build_region_crops(args.data, args.out, args.proposals)
    for split, counts in summary["counts"].items():
        print(f"{split}: {sum(counts.values())} regions {counts}")
    return 0


def _record_filter(args: argparse.Namespace) -> Any:
    """The RecordFilter that the record filter options (``_add_record_filters``) ask for."""
    from datetime import datetime  # noqa: PLC0415

    from inspection.recorder.queries import RecordFilter  # noqa: PLC0415

    def when(text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise StationError(
                f"{text!r}: not an ISO 8601 date or time (e.g. 2026-11-25 or 2026-11-25T06:00)"
            ) from None
        return moment if moment.tzinfo else moment.astimezone()

    return RecordFilter(
        since=when(args.since),
        until=when(args.until),
        verdict=args.verdict,
        label=args.label,
        part_serial=args.serial,
        recipe=args.recipe_name,
        model=args.model,
        station=getattr(args, "station", None),
    )


def _add_record_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="ISO 8601 date/time (local time unless it names a zone)")
    parser.add_argument("--until", help="ISO 8601 date/time, exclusive")
    parser.add_argument("--verdict", choices=["pass", "fail"])
    parser.add_argument("--label", help="records with a counted detection of this class")
    parser.add_argument("--serial", help="part serial contains this")
    parser.add_argument("--recipe-name", help="records made with this recipe name")
    parser.add_argument("--model", help="records made with this model (name or sha256 prefix)")


def _add_record_source(parser: argparse.ArgumentParser, station_help: str | None = "records of this station") -> None:
    """Where a quality command reads records: the station's database, or another one by URL."""
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG, help="the station (default: the demo)")
    parser.add_argument(
        "--database",
        help="a SQLAlchemy URL instead of the station's database, or 'fleet': the central database of the "
        "station's fleet section (every station's records; password from its environment variable)",
    )
    if station_help is not None:
        parser.add_argument("--station", help=station_help)


def _dataset_from_records(args: argparse.Namespace) -> int:
    from inspection.config import load_recipe, load_station_config  # noqa: PLC0415
    from inspection.ml.dataset.from_records import dataset_from_records  # noqa: PLC0415
    from inspection.recorder.database import open_database, require_existing  # noqa: PLC0415

    config = load_station_config(args.config)
    recipe = load_recipe(args.recipe or config.recipe)
    where = _record_filter(args)
    url = config.storage.resolved_database_url()
    require_existing(url)
    engine = open_database(url)
    groups = {g.strip() for g in args.val_groups.split(",") if g.strip()} if args.val_groups else None
    dataset_from_records(engine, config.storage.data_dir, args.out, where, recipe.classes, args.reviewed_only, groups)
    return 0


def _train(args: argparse.Namespace) -> int:
    from inspection.ml.dataset.region_crops import CLASSIFIER_PX  # noqa: PLC0415
    from inspection.ml.training import REGION_CLASSIFIER, TrainSettings, is_crops_dataset, train  # noqa: PLC0415

    if args.resume:
        # The run keeps its own settings; only its planned length may change.
        best = train(TrainSettings(Path(), args.out), resume=True, new_epochs=args.epochs)
    else:
        if args.data is None:
            raise StationError("train: give --data (a dataset folder from 'inspection dataset import')")
        crops = is_crops_dataset(args.data)
        settings = TrainSettings(
            args.data if crops else args.data / "data.yaml" if args.data.is_dir() else args.data,
            args.out,
            architecture=args.architecture or str(REGION_CLASSIFIER if crops else "yolov8n.yaml"),
            epochs=args.epochs or DEFAULT_EPOCHS,
            imgsz=args.imgsz or (CLASSIFIER_PX if crops else 320),
            batch=args.batch or (128 if crops else 16),
            seed=args.seed,
            device=None if args.device == "auto" else args.device,
            fraction=args.fraction,
            patience=args.patience,
        )
        best = train(settings)
    print(f"best weights: {best}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from inspection.cli.evaluate import run_evaluate  # noqa: PLC0415

    return run_evaluate(
        args.model,
        args.data,
        args.recipe,
        args.conf,
        args.split,
        args.json,
        args.markdown,
        args.save_to_card,
        args.registry,
    )


def _export(args: argparse.Namespace) -> int:
    from inspection.ml.model_export import export_model  # noqa: PLC0415
    from inspection.ml.registry.store import resolve_model  # noqa: PLC0415

    path, report = export_model(
        resolve_model(args.registry, args.model), args.format, args.data, precision=args.precision
    )
    print(
        f"parity: {report.images} images, {report.boxes} boxes, same verdicts; worst IoU {report.worst_iou:.3f}, "
        f"worst confidence gap {report.worst_confidence_gap:.4f}"
    )
    print(f"registered {path}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from inspection.cli import models  # noqa: PLC0415

    if args.models_command == "list":
        return models.list_command(args.registry, args.json)
    if args.models_command == "show":
        return models.show_command(args.registry, args.name)
    if args.models_command == "register":
        return models.register_command(args.registry, args.run, args.name, args.parent, args.notes)
    return models.promote_command(args.registry, args.name, args.recipe, args.format, args.by)


def _compare(args: argparse.Namespace) -> int:
    from inspection.cli.compare import run_compare  # noqa: PLC0415

    return run_compare(args)


def _calibrate(args: argparse.Namespace) -> int:
    from inspection.cli import calibrate  # noqa: PLC0415

    action = args.calibrate_command
    if action == "camera":
        return calibrate.calibrate_camera(args.images, args.board, args.camera, args.out, args.min_views)
    if action == "scale":
        return calibrate.measure_scale(
            args.calibration, args.board, args.image, args.length_px, args.length_mm, args.distance_mm, args.save
        )
    if action == "template":
        return calibrate.build_template(args.images, args.out, args.edge_px, args.motion)
    if action == "board":
        return calibrate.draw_board(args.board, args.px_per_mm, args.margin_mm, args.out)
    return calibrate.show_registration(args.image, args.reference, args.motion)


def _stats(args: argparse.Namespace) -> int:
    from inspection.cli.stats import run_stats  # noqa: PLC0415

    return run_stats(args.config, args.database, _record_filter(args), args.by, args.json)


def _spc(args: argparse.Namespace) -> int:
    from inspection.cli.spc import run_spc  # noqa: PLC0415

    where = _record_filter(args)
    return run_spc(
        args.config, args.database, where, args.chart, args.label_chart, args.subgroup, args.baseline, args.json
    )


def _alerts(args: argparse.Namespace) -> int:
    from inspection.cli.alerts import run_alerts  # noqa: PLC0415

    return run_alerts(args.config, args.database, args.alerts_command, args)


def _report(args: argparse.Namespace) -> int:
    from inspection.cli.report import run_report  # noqa: PLC0415

    return run_report(args.config, args.database, args.shift, args.station, args.format, args.out)


def _export_log(args: argparse.Namespace) -> int:
    from inspection.cli.export_log import run_export_log  # noqa: PLC0415

    return run_export_log(args.config, args.database, args.out, args.format, _record_filter(args), args.images)


def _gui(gui_args: Sequence[str]) -> int:
    """Hand over to ``inspection-gui`` (a separate program: the core never imports Qt)."""
    import os  # noqa: PLC0415

    os.execv(sys.executable, [sys.executable, "-m", "gui.app", *gui_args])
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspection",
        description="Computer-vision quality inspection station: camera -> YOLO -> PASS/FAIL -> record.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run the station",
        description=(
            "Run the station: grab parts from the camera, inspect, decide PASS/FAIL and record each part. "
            "Ctrl-C or SIGTERM stops grabbing and writes every pending record before exiting."
        ),
    )
    run.add_argument(
        "--config", type=Path, default=DEMO_CONFIG, help=f"station YAML (default: the demo station, {DEMO_CONFIG.name})"
    )
    limit = run.add_mutually_exclusive_group()
    limit.add_argument("--parts", type=int, help="stop after N parts")
    limit.add_argument("--duration", type=float, help="stop after S seconds")
    run.add_argument("--quiet", action="store_true", help="no live status line")
    run.set_defaults(handler=_run)

    inspect = commands.add_parser(
        "inspect",
        help="inspect image files or folders",
        description=(
            "Inspect images with the recipe's model and rules. With --json: one JSON object per image on stdout."
        ),
    )
    inspect.add_argument("paths", nargs="+", type=Path, help="image files, folders or glob patterns")
    inspect.add_argument("--recipe", type=Path, help="recipe YAML (default: the demo station's recipe)")
    inspect.add_argument("--model", type=Path, help="model file (.pt or .onnx) instead of the recipe's")
    inspect.add_argument(
        "--reference",
        type=Path,
        help=(
            "reference image(s) of the good part (file, folder or glob) for models that compare each part "
            "with one; with several, each image is compared with the most similar (default: the recipe's)"
        ),
    )
    inspect.add_argument("--conf", type=float, help="minimum confidence of reported detections (all classes)")
    inspect.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    inspect.add_argument("--json", action="store_true", help="JSON lines on stdout")
    inspect.set_defaults(handler=_inspect)

    cameras = commands.add_parser(
        "cameras",
        help="list reachable cameras",
        description=("List Basler (pylon) cameras, emulated ones included, and local video devices."),
    )
    cameras.add_argument(
        "--emulated", type=int, default=0, metavar="N", help="also create N pylon emulated cameras (PYLON_CAMEMU)"
    )
    cameras.add_argument(
        "--emulator-only",
        action="store_true",
        help="look only at pylon's emulator (no GigE discovery broadcast on the network)",
    )
    cameras.add_argument("--json", action="store_true", help="JSON on stdout")
    cameras.set_defaults(handler=_cameras)

    dataset = commands.add_parser("dataset", help="build training datasets", description="Build training datasets.")
    dataset_commands = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    importer = dataset_commands.add_parser(
        "import",
        help="convert a labelled dataset into the project's layout",
        description=(
            "Convert a labelled dataset into the project's YOLO layout with a manifest (source, classes, split, "
            "sha256 of every image). The validation split is by board group. Any bad label stops the import "
            "with its file and line; nothing is half-written."
        ),
    )
    importer.add_argument("source", type=Path, help="the source dataset folder")
    importer.add_argument("out", type=Path, help="new folder for the dataset")
    importer.add_argument(
        "--format",
        choices=["deeppcb", "yolo", "coco"],
        default="deeppcb",
        help=(
            "source layout: deeppcb (default; pairs of _test/_temp images), yolo (data.yaml with names and "
            "train/val image folders), coco (annotation JSON files; a 'val' in the name marks the split)"
        ),
    )
    importer.add_argument(
        "--val-groups",
        help=(
            "comma-separated groups for validation: DeepPCB board groups; for yolo/coco the first sub-folder or "
            "the file-name prefix before '_' (default: the source's own val split, else the last groups, >= 10%%)"
        ),
    )
    importer.add_argument(
        "--input",
        choices=["image", "image+reference"],
        default="image",
        help="model input: the image alone (default), or stacked with its reference image of the good part",
    )
    importer.set_defaults(handler=_dataset_import)

    crops = dataset_commands.add_parser(
        "crops",
        help="cut the golden-template detector's regions out as a classification dataset",
        description=(
            "Run the golden-template detector on every image of an image+reference dataset and cut each region "
            "it reports out as a 48 x 48 crop (board, template, difference), filed under the class of the "
            "labelled box it overlaps (IoU > 0.3) or 'none'. The result trains the region classifier: "
            "'inspection train --data OUT'."
        ),
    )
    crops.add_argument(
        "data", type=Path, help="dataset folder from 'inspection dataset import --input image+reference'"
    )
    crops.add_argument("out", type=Path, help="new folder for the crops")
    crops.add_argument(
        "--proposals",
        type=Path,
        default=DEMO_CONFIG.parent / "detectors" / "golden-template.yaml",
        help="golden-template settings that propose the regions (default: configs/detectors/golden-template.yaml)",
    )
    crops.set_defaults(handler=_dataset_crops)

    from_records = dataset_commands.add_parser(
        "from-records",
        help="turn recorded parts and their reviews into a training dataset",
        description=(
            "Recorded images with labels from reviews (corrected boxes; 'correct' keeps the station's counted "
            "boxes; 'false call' means no defect; an 'escape' without drawn boxes is left out) and, unless "
            "--reviewed-only, unreviewed parts with the station's counted boxes. Validation: the newest days."
        ),
    )
    from_records.add_argument("out", type=Path, help="new folder for the dataset")
    from_records.add_argument(
        "--config", type=Path, default=DEMO_CONFIG, help="the station whose records (default demo)"
    )
    from_records.add_argument("--recipe", type=Path, help="recipe giving the class list (default: the station's)")
    _add_record_filters(from_records)
    from_records.add_argument("--reviewed-only", action="store_true", help="only records a person has reviewed")
    from_records.add_argument("--val-groups", help="comma-separated days (YYYY-MM-DD) for validation")
    from_records.set_defaults(handler=_dataset_from_records)

    trainer = commands.add_parser(
        "train",
        help="train a detector or region classifier (offline, resumable)",
        description=(
            "Train a YOLO detector with ultralytics on a dataset from 'inspection dataset import', or the region "
            "classifier on one from 'inspection dataset crops', with no network use at all. The run folder "
            "receives weights/best.pt and last.pt after every epoch, results.csv, and train_config.yaml "
            "(settings, dataset manifest hash). An interrupted run continues with --resume."
        ),
    )
    trainer.add_argument("--data", type=Path, help="dataset folder (or its data.yaml); not with --resume")
    trainer.add_argument("--out", type=Path, required=True, help="run folder (new, or the one to --resume)")
    trainer.add_argument(
        "--architecture",
        help=(
            "ultralytics model YAML (from scratch), or a .pt to fine-tune from; default yolov8n.yaml, or "
            "configs/architectures/region-classifier.yaml for a dataset from 'inspection dataset crops'"
        ),
    )
    trainer.add_argument(
        "--epochs",
        type=int,
        help=f"default {DEFAULT_EPOCHS}; with --resume: a new planned length for the run (e.g. to fit the time left)",
    )
    trainer.add_argument(
        "--imgsz", type=int, help="network input size in pixels (default 320; region crops 64, a multiple of 32)"
    )
    trainer.add_argument("--batch", type=int, help="default 16 (region crops 128)")
    trainer.add_argument("--seed", type=int, default=0, help="default 0")
    trainer.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, 0, 1, ...")
    trainer.add_argument("--fraction", type=float, default=1.0, help="use this share of the training images")
    trainer.add_argument("--patience", type=int, default=100, help="stop after N epochs without improvement")
    trainer.add_argument(
        "--resume", action="store_true", help="continue the interrupted run in --out, with its own settings"
    )
    trainer.set_defaults(handler=_train)

    _add_model_commands(commands)

    plc = commands.add_parser(
        "plc", help="the PLC register map", description="The Modbus register map of the PLC handshake."
    )
    plc_actions = plc.add_subparsers(dest="plc_command", metavar="ACTION", required=True)
    plc_map = plc_actions.add_parser(
        "map",
        help="print the register map, or write it as CSV for the PLC programmer",
        description="Holding registers, 0-based addresses and the PLC's 4x numbers (40001 + address).",
    )
    plc_map.add_argument("--config", type=Path, help="station YAML whose plc section gives the block addresses")
    plc_map.add_argument("--csv", type=Path, help="write the map here as CSV")
    plc_map.set_defaults(handler=_plc_map)

    gui = commands.add_parser(
        "gui",
        help="open the operator window (same as inspection-gui)",
        description="Open the operator window; every argument goes to inspection-gui (see inspection gui --help).",
        add_help=False,
    )
    gui.add_argument("gui_args", nargs=argparse.REMAINDER, help="see inspection-gui --help")

    bench = commands.add_parser(
        "bench",
        help="measure detector and station throughput",
        description=(
            "Measure, in one run on the same images and model, the bare detector throughput and the full "
            "station throughput (camera -> record, images written), their ratio, latency and peak memory."
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
    bench.set_defaults(handler=_bench)
    _add_calibration_commands(commands)
    export_log = commands.add_parser(
        "export-log",
        help="export inspections and detections (CSV, Excel, Parquet, JSON lines)",
        description=(
            "Export the filtered inspections and their detections, streamed (a million records never sit in "
            "memory): csv and parquet write a folder (inspections, detections, summary), xlsx one workbook "
            "(sheets inspections, detections, summary), jsonl one inspection per line with its detections. "
            "Times are ISO 8601 with zone. --images adds a zip of the records' images with a manifest."
        ),
    )
    export_log.add_argument("--out", type=Path, required=True, help="new folder (csv, parquet) or file (xlsx, jsonl)")
    export_log.add_argument("--format", required=True, choices=["csv", "xlsx", "parquet", "jsonl"])
    _add_record_source(export_log)
    export_log.add_argument("--images", action="store_true", help="also a zip of the images, with a manifest")
    _add_record_filters(export_log)
    export_log.set_defaults(handler=_export_log)
    stats = commands.add_parser(
        "stats",
        help="yield, scrap rate, defect Pareto, cycle time",
        description=(
            "Production statistics of the filtered records, computed in the database: parts, pass, fail, "
            "first-pass yield, scrap rate (fails less reviewed false calls), defects per unit, the defect Pareto, "
            "cycle time min/mean/p50/p99/max, and the same counts by hour, shift (the station's shift calendar), "
            "day, recipe, model or station."
        ),
    )
    _add_record_source(stats)
    stats.add_argument("--by", choices=["hour", "shift", "day", "recipe", "model", "station"], default="shift")
    stats.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _add_record_filters(stats)
    stats.set_defaults(handler=_stats)
    spc = commands.add_parser(
        "spc",
        help="control charts (p, u) with Western Electric / Nelson rules",
        description=(
            "A p-chart of the fail fraction, or a u-chart of counted defects per unit (all classes or one), per "
            "hour, shift or run of N parts, with 3-sigma limits from a baseline (the first K subgroups, or a time "
            "range), and the run rules that fire at each subgroup."
        ),
    )
    _add_record_source(spc)
    spc.add_argument("--chart", choices=["p", "u"], default="p", help="p: fail fraction (default); u: defects per unit")
    spc.add_argument("--class", dest="label_chart", help="u-chart of this defect class only")
    spc.add_argument("--subgroup", default="hour", help="hour (default), shift, or parts:N")
    spc.add_argument(
        "--baseline", default="24", help="the first K subgroups (default 24), or SINCE..UNTIL (ISO 8601 times)"
    )
    spc.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _add_record_filters(spc)
    spc.set_defaults(handler=_spc)
    alerts = commands.add_parser(
        "alerts",
        help="alerts the station raised; acknowledge them",
        description="List the alerts the station's rules raised (newest first), and acknowledge one (who, when).",
    )
    _add_record_source(alerts, station_help=None)
    alert_actions = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    alert_list = alert_actions.add_parser("list", help="newest first")
    alert_list.add_argument("--open", action="store_true", help="only those nobody has acknowledged")
    alert_list.add_argument("--json", action="store_true")
    ack = alert_actions.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("id", type=int)
    ack.add_argument("--by", required=True, help="who acknowledges it")
    ack.add_argument("--note", default="", help="what was done")
    alerts.set_defaults(handler=_alerts)
    report = commands.add_parser(
        "report",
        help="a shift report (HTML or PDF)",
        description=(
            "Write a shift report a manager opens without the app: the shift's numbers, the defect Pareto, the "
            "p-chart per hour (limits from the week before), the worst parts with their boxes, alerts and reviews."
        ),
    )
    report.add_argument("--shift", default="last", help="last (default), current, or YYYY-MM-DD:NAME")
    report.add_argument("--format", choices=["html", "pdf"], default="pdf")
    report.add_argument("--out", type=Path, required=True, help="the file to write")
    _add_record_source(report, station_help="only this station's records (default: the config's station)")
    report.set_defaults(handler=_report)
    return parser


def _add_calibration_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    calibrate = commands.add_parser(
        "calibrate",
        help="camera calibration, mm scale, golden templates",
        description="Calibrate a camera, measure the mm-per-pixel scale, build golden templates, print boards.",
    )
    actions = calibrate.add_subparsers(dest="calibrate_command", metavar="ACTION", required=True)
    board_help = "chessboard:COLSxROWS:SQUARE_MM or charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICT] (squares, not corners)"
    camera = actions.add_parser(
        "camera",
        help="intrinsics and lens distortion from views of a board",
        description=(
            "Calibrate from views of a chessboard or ChArUco board: intrinsics, distortion, the reprojection "
            "error per view and overall. Unusable views are named with the reason (board not found, blurred, "
            "board too small); too few views or too little of the image covered is an error."
        ),
    )
    camera.add_argument("images", nargs="+", type=Path, help="views of the board: files, folders or globs")
    camera.add_argument("--board", required=True, help=board_help)
    camera.add_argument("--camera", required=True, help="the camera's serial number (the station checks it)")
    camera.add_argument("--out", type=Path, required=True, help="calibration file to write (JSON)")
    camera.add_argument("--min-views", type=int, help="usable views needed (default 6)")
    scale = actions.add_parser(
        "scale",
        help="millimetres per pixel on the inspection plane",
        description=(
            "Measure the scale: from a board lying on the inspection plane (--board, --image), from a feature of "
            "known size (--length-px, --length-mm), or from the working distance (--distance-mm, --calibration)."
        ),
    )
    scale.add_argument("--calibration", type=Path, help="camera calibration file (undistorts the board view)")
    scale.add_argument("--board", help=board_help)
    scale.add_argument("--image", type=Path, help="a view of the board on the inspection plane")
    scale.add_argument("--length-px", type=float, help="a feature's length in the image (pixels)")
    scale.add_argument("--length-mm", type=float, help="the same feature's length on the part (mm)")
    scale.add_argument("--distance-mm", type=float, help="lens to part, for a camera looking square onto it")
    scale.add_argument("--save", action="store_true", help="write the scale into the --calibration file")
    template = actions.add_parser(
        "template",
        help="a golden template from several good parts",
        description=(
            "Register several images of good parts to the first and write their median as OUT (a reference "
            "image for a recipe) with the tolerance band beside it (OUT.low.png, OUT.high.png)."
        ),
    )
    template.add_argument("images", nargs="+", type=Path, help="images of good parts: files, folders or globs")
    template.add_argument("--out", type=Path, required=True, help="the template image to write (.png)")
    template.add_argument("--edge-px", type=int, default=1, help="edge movement the band absorbs (default 1)")
    template.add_argument("--motion", choices=["translation", "euclidean", "affine"], default="euclidean")
    board = actions.add_parser("board", help="a printable calibration board", description="Draw a board to print.")
    board.add_argument("--board", required=True, help=board_help)
    board.add_argument("--px-per-mm", type=float, default=10.0, help="default 10 (254 dpi)")
    board.add_argument("--margin-mm", type=float, default=10.0, help="white margin (default 10 mm)")
    board.add_argument("--out", type=Path, required=True)
    registration = actions.add_parser(
        "register",
        help="how far a part lies from its reference",
        description="Register an image to a reference image: shift, rotation, scale and correlation.",
    )
    registration.add_argument("image", type=Path)
    registration.add_argument("reference", type=Path)
    registration.add_argument("--motion", choices=["translation", "euclidean", "affine"], default="euclidean")
    calibrate.set_defaults(handler=_calibrate)


def _add_model_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from inspection.config import PROJECT_ROOT  # noqa: PLC0415

    default_registry = PROJECT_ROOT / "models"  # the registry's default, without importing it
    registry_help = f"the model registry folder (default {default_registry})"
    evaluate = commands.add_parser(
        "evaluate",
        help="measure a model on a labelled dataset",
        description=(
            "Measure a model on a dataset split: mAP@0.5 and mAP@0.5:0.95 overall and per class; precision, "
            "recall and F-score with the DeepPCB protocol (IoU > 0.33, same class) at the operating threshold; "
            "image-level escape and false-reject rates; latency per part. Prints a table; writes JSON / Markdown."
        ),
    )
    evaluate.add_argument("--model", required=True, help="registry name, registry folder, or model file")
    evaluate.add_argument("--data", type=Path, required=True, help="dataset folder from 'inspection dataset import'")
    evaluate.add_argument("--split", default="val", help="dataset split (default val)")
    evaluate.add_argument("--recipe", type=Path, help="recipe whose rules give the verdicts")
    evaluate.add_argument("--conf", type=float, help="operating threshold without a recipe (default 0.5)")
    evaluate.add_argument("--json", type=Path, help="write the full report as JSON here")
    evaluate.add_argument("--markdown", type=Path, help="write the table as Markdown here")
    evaluate.add_argument("--save-to-card", action="store_true", help="store the metrics in the model's card")
    evaluate.add_argument("--registry", type=Path, default=default_registry, help=registry_help)
    evaluate.set_defaults(handler=_evaluate)

    export = commands.add_parser(
        "export",
        help="export a registered model (ONNX, OpenVINO) with a parity check",
        description=(
            "Export a registered model's weights to ONNX or OpenVINO, then check parity on a fixed set of "
            "validation images (same verdict on every image; boxes matched with IoU >= 0.9 and confidence "
            "within 0.02). Only an export that passes is registered beside the weights. --precision bf16 "
            "(OpenVINO, CPUs with bf16 units) computes in bfloat16, about twice as fast, and is checked the same way."
        ),
    )
    export.add_argument("--model", required=True, help="registry name or folder")
    export.add_argument("--format", required=True, choices=["onnx", "openvino"])
    export.add_argument("--data", type=Path, help="dataset for the parity images (default: the training dataset)")
    export.add_argument(
        "--precision",
        choices=["f32", "bf16"],
        default="f32",
        help="what the export computes in (bf16: OpenVINO on a CPU with bf16 units; default f32)",
    )
    export.add_argument("--registry", type=Path, default=default_registry, help=registry_help)
    export.set_defaults(handler=_export)

    models = commands.add_parser("models", help="the model registry", description="List, show, register, promote.")
    models.add_argument("--registry", type=Path, default=default_registry, help=registry_help)
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="registered models with their key metrics")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="a model's card, and whether its files verify")
    show.add_argument("name")
    register = actions.add_parser("register", help="register a finished training run")
    register.add_argument("run", type=Path, help="the run folder of 'inspection train'")
    register.add_argument("--name", required=True, help="new registry name")
    register.add_argument("--parent", help="the registered model this one replaces or was trained from")
    register.add_argument("--notes", default="", help="free text for the card")
    promote = actions.add_parser("promote", help="make a model the one a recipe runs")
    promote.add_argument("name")
    promote.add_argument("--recipe", type=Path, required=True, help="recipe YAML whose 'model:' is rewritten")
    promote.add_argument("--format", default="openvino", choices=["pt", "onnx", "openvino"], help="default openvino")
    promote.add_argument("--by", default="", help="who promotes it (kept in the card)")
    models.set_defaults(handler=_models)

    compare = commands.add_parser(
        "compare",
        help="re-inspect parts with two models and report verdict flips",
        description=(
            "Re-inspect the same parts (images, folders, globs, or a station database's recorded images) with a "
            "baseline and a candidate model; report verdict flips by class (new escapes and false rejects when "
            "--labels gives the truth), the speed of each, and write a report."
        ),
    )
    compare.add_argument("sources", nargs="+", type=Path, help="images, folders, globs, or a station .db file")
    compare.add_argument("--baseline", required=True, help="registry name or model file")
    compare.add_argument("--candidate", required=True, help="registry name or model file")
    compare.add_argument("--recipe", type=Path, help="recipe whose rules (and reference) both models use")
    compare.add_argument("--reference", type=Path, help="reference image(s) of the good part")
    compare.add_argument("--labels", type=Path, help="YOLO label folder: the truth (no/empty file = defect-free)")
    compare.add_argument("--conf", type=float, help="operating threshold instead of the recipe's rules")
    compare.add_argument("--report", type=Path, help="write the report here (Markdown, and JSON beside it)")
    compare.set_defaults(handler=_compare)


def main(argv: Sequence[str] | None = None) -> int:
    block_openvino_telemetry()  # before anything can import OpenVINO
    keep_freed_memory()
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["gui"]:  # every argument after it belongs to inspection-gui, --help included
        return _gui(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.handler is not _run:  # `run` keeps the quiet stop until the station's own handler is in place
        signal.signal(signal.SIGINT, signal.default_int_handler)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # The detector thread hands the GIL back and forth between native calls; a shorter switch interval
    # lets it take the GIL back sooner from the grab and record threads (measured: fewer stalls).
    sys.setswitchinterval(0.001)
    try:
        code: int = args.handler(args)
    except StationError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. piped into `head`: the reader has gone, nothing to report
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: unexpected {brief(exc)} (run with --debug for details)", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
