"""``inspection train``: a YOLO detector or the region classifier, offline and resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspection.cli.options import Commands
from inspection.core.errors import StationError
from inspection.ml.anomaly.patch_defects import TURN_CHOICES, TURNS
from inspection.ml.anomaly.training import SETTINGS_FILE as ANOMALY_SETTINGS
from inspection.ml.anomaly.training import AnomalySettings, train_anomaly
from inspection.ml.anomaly.trunks import DEFAULT_TRUNK, TRUNKS
from inspection.ml.dataset.region_crops import CLASSIFIER_PX
from inspection.ml.training import PRECISIONS, REGION_CLASSIFIER, TrainSettings, is_crops_dataset, train

DEFAULT_EPOCHS = 20
ANOMALY_IMGSZ = 256


def add_commands(commands: Commands) -> None:
    trainer = commands.add_parser(
        "train",
        help="train a detector, region classifier or anomaly model (offline, resumable)",
        description=(
            "Train a YOLO detector with ultralytics on a dataset from 'inspection dataset import', or the region "
            "classifier on one from 'inspection dataset crops', or (--task anomaly) an anomaly model from good images "
            "alone, with no network use at all. The run folder "
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
        "--imgsz",
        type=int,
        help="network input size in pixels (default 320; region crops 64; anomaly 256; a multiple of 32)",
    )
    _add_run_settings(trainer)
    trainer.add_argument(
        "--resume", action="store_true", help="continue the interrupted run in --out, with its own settings"
    )
    _add_anomaly_settings(trainer)
    trainer.set_defaults(handler=_handle)


def _add_anomaly_settings(trainer: argparse.ArgumentParser) -> None:
    """--task anomaly and what only an anomaly model's training takes."""
    anomaly = trainer.add_argument_group(
        "anomaly (--task anomaly)",
        "a model of good parts only: --data is a folder of good images (or a dataset from 'inspection dataset "
        "import', whose good train images it takes); some are held out to set the threshold",
    )
    anomaly.add_argument(
        "--task", choices=["auto", "anomaly"], default="auto",
        help="auto (default): a YOLO detector, or the region classifier for region crops; anomaly: from good images",
    )  # fmt: skip
    anomaly.add_argument("--memory", type=int, default=8192, help="good patches the model keeps (default 8192)")
    anomaly.add_argument(
        "--holdout", type=float, default=0.2, help="share of the good images that set the threshold (default 0.2)"
    )
    anomaly.add_argument(
        "--target-false-reject", type=float, default=0.01,
        help="false-reject rate the threshold is set for, on the held-out good images (default 0.01)",
    )  # fmt: skip
    anomaly.add_argument(
        "--turns", type=int, choices=TURN_CHOICES, default=TURNS,
        help=f"turns of the part the patch defects' map is averaged over (default {TURNS}: the part as it is and "
        "turned by 90 degrees; 4: by 0, 90, 180 and 270 degrees, twice the network's time; 1: the part as it is)",
    )  # fmt: skip
    anomaly.add_argument(
        "--trunk", choices=list(TRUNKS), default=DEFAULT_TRUNK,
        help=f"the patch network's trunk (default {DEFAULT_TRUNK}: pre-trained on procedural images, shipped in "
        "models/anomaly-trunk; random: seeded random weights, as every model before 2026-12-07)",
    )  # fmt: skip


def _add_run_settings(trainer: argparse.ArgumentParser) -> None:
    """How a new run trains: batch, seed, device, data share, early stop, precision."""
    trainer.add_argument("--batch", type=int, help="default 16 (region crops 128)")
    trainer.add_argument("--seed", type=int, default=0, help="default 0")
    trainer.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, 0, 1, ...")
    trainer.add_argument("--fraction", type=float, default=1.0, help="use this share of the training images")
    trainer.add_argument("--patience", type=int, default=100, help="stop after N epochs without improvement")
    trainer.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto (default): on a CPU with bf16 units (AVX512-BF16, AMX) train in bf16 autocast (on 2 cores: the "
        "region classifier 2.7x, a YOLO 1.25x faster); elsewhere f32. f32: always f32",
    )


def _handle_anomaly(args: argparse.Namespace) -> int:
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.resume:
        model = train_anomaly(AnomalySettings(Path(), args.out), progress, resume=True)
    else:
        if args.data is None:
            raise StationError("train --task anomaly: give --data (a folder of good images)")
        settings = AnomalySettings(
            args.data, args.out, imgsz=args.imgsz or ANOMALY_IMGSZ, memory=args.memory, holdout=args.holdout,
            target_false_reject=args.target_false_reject, seed=args.seed, turns=args.turns,
            trunk=args.trunk,
        )  # fmt: skip
        model = train_anomaly(settings, progress)
    print(f"anomaly model: {model} (register it with 'inspection models register {args.out} --name NAME')")
    return 0


def _handle(args: argparse.Namespace) -> int:
    if args.task == "anomaly" or (args.resume and (args.out / ANOMALY_SETTINGS).is_file()):
        return _handle_anomaly(args)
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
            precision=args.precision,
        )
        best = train(settings)
    print(f"best weights: {best}")
    return 0
