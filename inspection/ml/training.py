"""Train with ultralytics, offline (no hub, no downloads, no analytics), resumably: a YOLO detector on a
dataset from ``inspection dataset import``, or the region classifier on one from ``inspection dataset crops``."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from inspection.config import PROJECT_ROOT
from inspection.core.atomic import write_text_atomic
from inspection.core.errors import StationError
from inspection.core.hashing import file_sha256
from inspection.core.offline import make_ultralytics_offline
from inspection.detectors.base import usable_cores
from inspection.detectors.region_crop import NONE
from inspection.ml.dataset.layout import class_names
from inspection.ml.dataset.region_crops import CROPS_FILE, read_crops_info

TRAIN_CONFIG = "train_config.yaml"
REGION_CLASSIFIER = PROJECT_ROOT / "configs" / "architectures" / "region-classifier.yaml"
PRECISIONS = ("auto", "f32")  # auto: bf16 autocast on a CPU with bf16 units, else f32
LAST_GOOD = "last_good.pt"  # a complete copy of last.pt, made after each epoch (ultralytics writes in place)


@dataclass(frozen=True)
class TrainSettings:
    data_yaml: Path  # a detection dataset's data.yaml, or a region-crop dataset's folder
    out: Path  # the run folder: weights/, results.csv, args.yaml, train_config.yaml
    architecture: str = "yolov8n.yaml"  # built from its YAML: no pretrained weights are fetched
    epochs: int = 20
    imgsz: int = 320
    batch: int = 16
    workers: int = 2
    seed: int = 0
    device: str | None = None  # None: CUDA when present, else CPU
    fraction: float = 1.0
    patience: int = 100
    precision: str = "auto"  # auto: bf16 autocast on a CPU with bf16 units (faster), else f32


def weights_of(run: Path) -> tuple[Path, Path]:
    """(best.pt, last.pt) of a run folder."""
    return run / "weights" / "best.pt", run / "weights" / "last.pt"


def is_crops_dataset(data: Path) -> bool:
    return data.is_dir() and (data / CROPS_FILE).is_file()


def dataset_info(data_yaml: Path) -> dict[str, Any]:
    """What the run records about its data: the data.yaml (or crops.yaml), the manifest's hash, the model input."""
    crops = read_crops_info(data_yaml) if data_yaml.is_dir() else None
    if crops is not None:
        return {
            "task": "classify",
            "crops": str(data_yaml.resolve()),
            "crops_sha256": file_sha256(data_yaml / CROPS_FILE),
            "data_yaml": crops["source"]["data_yaml"],  # the detection dataset the crops came from
            "manifest_sha256": crops["source"]["manifest_sha256"],
            "input": "image+reference",
            "classes": list(crops["classes"]),
            "crop_px": crops["crop_px"],
        }
    if not data_yaml.is_file():
        raise StationError(f"{data_yaml}: no data.yaml; build a dataset with 'inspection dataset import'")
    data = yaml.safe_load(data_yaml.read_text()) or {}
    manifest = data_yaml.parent / "manifest.yaml"
    return {
        "task": "detect",
        "data_yaml": str(data_yaml.resolve()),
        "manifest_sha256": file_sha256(manifest) if manifest.is_file() else None,
        "input": data.get("input", "image"),
        "classes": class_names(data.get("names")),
    }


def train(settings: TrainSettings, resume: bool = False, new_epochs: int | None = None) -> Path:
    """Train (or resume an interrupted run) and return the path of the best weights.

    ``new_epochs`` (with ``resume``): change the run's planned length, e.g. to fit the time left;
    the learning-rate schedule follows the new length from the next epoch on.
    """
    run = settings.out.resolve()
    best, last = weights_of(run)
    if settings.precision not in PRECISIONS:
        raise StationError(f"training precision {settings.precision!r}: choose one of {', '.join(PRECISIONS)}")
    if resume:
        if not last.is_file():
            raise StationError(f"{run}: nothing to resume (no weights/last.pt); start it without --resume")
        checkpoint = _unfinished_checkpoint(run, last)
    elif run.exists() and any(run.iterdir()):
        raise StationError(f"{run}: already holds a run; resume it with --resume or choose a new --out")
    make_ultralytics_offline()
    from ultralytics import YOLO  # noqa: PLC0415  (heavy SDK, imported only here)

    if resume:
        if new_epochs is not None:
            _set_planned_epochs(run, last, checkpoint, new_epochs)
        model = YOLO(str(last))
        _add_callbacks(model, _recorded_precision(run))
        model.train(resume=True)
        return best
    info = dataset_info(settings.data_yaml)
    run.mkdir(parents=True, exist_ok=True)
    config = {
        **{k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(settings).items()},
        "dataset": info,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_train_config(run, config)
    model = YOLO(settings.architecture)
    _add_callbacks(model, settings.precision)
    if info["task"] == "classify":
        _check_classifier_classes(model, info["classes"], settings.architecture)
    model.train(**_train_arguments(settings, run, info["task"]))
    return best


def _train_arguments(settings: TrainSettings, run: Path, task: str) -> dict[str, Any]:
    """ultralytics' train settings: offline (nothing it would download), the run's own, and augmentation
    that suits binarised boards."""
    arguments: dict[str, Any] = dict(
        data=str(settings.data_yaml.resolve()),
        project=str(run.parent),
        name=run.name,
        exist_ok=True,
        epochs=settings.epochs,
        imgsz=settings.imgsz,
        batch=settings.batch,
        workers=settings.workers,
        seed=settings.seed,
        deterministic=True,
        device=settings.device,
        fraction=settings.fraction,
        patience=settings.patience,
        pretrained=False,
        amp=False,  # the AMP check would download reference weights
        plots=False,  # plots download a font
        # Binarised grey boards (or stacked grey channels): colour jitter would teach nothing or
        # corrupt the reference channels; flips and shifts apply to all channels alike.
        hsv_h=0.0,
        hsv_s=0.0,
        hsv_v=0.0,
        fliplr=0.5,
        flipud=0.5,
        degrees=0.0,
        translate=0.1,
        scale=0.2,
        mosaic=1.0,
        close_mosaic=3,
        cache="ram",
        verbose=True,
    )
    if task == "classify":
        arguments.update(CLASSIFY_AUGMENTATION)
    return arguments


# Region crops are centred on their region at a fixed scale: a random resized crop would cut the defect
# away or change its size, and RandAugment's colour and shear changes mean nothing for binarised
# boards. Flips keep what a region is.
CLASSIFY_AUGMENTATION = {"scale": 0.0, "auto_augment": None, "erasing": 0.0}


def _check_classifier_classes(model: Any, classes: list[str], architecture: str) -> None:
    expected = len(classes) + 1  # and 'none'
    found = int(model.model.yaml.get("nc", expected)) if hasattr(model.model, "yaml") else expected
    if found != expected:
        raise StationError(
            f"{architecture}: built for {found} classes; the crops have {expected} ({classes} and '{NONE}')"
        )


def _add_callbacks(model: Any, precision: str) -> None:
    choose = _bf16_on_cpu_with_bf16_units if precision == "auto" else _record_f32
    model.add_callback("on_pretrain_routine_end", choose)
    model.add_callback("on_train_epoch_start", _use_every_core)
    model.add_callback("on_fit_epoch_end", _report_epoch)


def _read_train_config(run: Path) -> dict[str, Any]:
    config_path = run / TRAIN_CONFIG
    return (yaml.safe_load(config_path.read_text()) if config_path.is_file() else None) or {}


def _write_train_config(run: Path, config: dict[str, Any]) -> None:
    """Replaced whole (a kill while it is rewritten on a resume leaves the old one, which resuming needs)."""
    write_text_atomic(run / TRAIN_CONFIG, yaml.safe_dump(config, sort_keys=False))


def _recorded_precision(run: Path) -> str:
    """The precision a run was started with (runs from before the setting trained in f32)."""
    return str(_read_train_config(run).get("precision", "f32"))


def cpu_has_bf16_units() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX): elsewhere bf16 is emulated, slower than f32."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, check, lambda: False)()) for check in checks)


def _bf16_on_cpu_with_bf16_units(trainer: Any) -> None:
    """Train in bf16 autocast on a CPU with bf16 units (the region classifier on 2 cores with AMX: 106 -> 237
    crops/s). ultralytics' own AMP is for CUDA only (its check needs downloaded weights); its training step
    enters ``autocast(trainer.amp, device)``, which on the CPU is bf16, and needs no gradient scaler."""
    if getattr(trainer.device, "type", "cpu") == "cpu" and cpu_has_bf16_units():
        trainer.amp = True
        print("training in bf16 autocast (this CPU has bf16 units)", file=sys.stderr, flush=True)
        _record_computed_in(Path(trainer.save_dir), "bf16")
    else:
        _record_f32(trainer)


def _record_f32(trainer: Any) -> None:
    _record_computed_in(Path(trainer.save_dir), "f32")


def _record_computed_in(run: Path, precision: str) -> None:
    """train_config.yaml says what the run computed in (a resumed run appends when it changed machine)."""
    config = _read_train_config(run)
    if config.get("computed_in") == precision:
        return
    config["computed_in"] = precision if "computed_in" not in config else f"{config['computed_in']}, then {precision}"
    _write_train_config(run, config)


def _use_every_core(trainer: Any) -> None:
    """ultralytics trains on the CPU with one thread less than there are cores (on 2 cores: one). Training
    owns the machine: use them all (measured on 2 cores, 320 px, 1,800 images: 215 s -> 120 s an epoch)."""
    if getattr(trainer.device, "type", "cpu") == "cpu":
        import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

        torch.set_num_threads(usable_cores())


def _unfinished_checkpoint(run: Path, last: Path) -> dict[str, Any]:
    """A readable, unfinished checkpoint to resume from (the last good copy if last.pt was cut short).

    ultralytics strips the optimizer from a finished run's weights: such a run cannot go on.
    """
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    try:
        checkpoint = torch.load(last, map_location="cpu", weights_only=False)
    except Exception:  # cut short by a crash while it was written: many error types
        good = last.with_name(LAST_GOOD)
        if not good.is_file():
            raise StationError(f"{last}: unreadable and no {LAST_GOOD} beside it; start a new run") from None
        print(f"{last} is unreadable (cut short?); resuming from {LAST_GOOD}", file=sys.stderr)
        shutil.copy2(good, last)
        checkpoint = torch.load(last, map_location="cpu", weights_only=False)
    if checkpoint.get("optimizer") is None or int(checkpoint.get("epoch", -1)) < 0:
        raise StationError(
            f"{run}: this run has finished; register its weights, or start a new run with --out elsewhere"
        )
    return dict(checkpoint)


def _set_planned_epochs(run: Path, last: Path, checkpoint: dict[str, Any], epochs: int) -> None:
    """Rewrite the epoch count stored in the checkpoint (ultralytics resumes with the stored arguments)."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    done = int(checkpoint.get("epoch", -1)) + 1
    if epochs <= done:
        raise StationError(f"{run}: {done} epochs are done already; --epochs must be more than that to resume")
    checkpoint["train_args"]["epochs"] = epochs
    partial = last.with_name(last.name + ".partial")
    torch.save(checkpoint, partial)
    partial.replace(last)
    config = _read_train_config(run)
    config.setdefault("changes", []).append(
        {"at_epoch": done, "epochs": epochs, "when": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    config["epochs"] = epochs
    _write_train_config(run, config)


def _report_epoch(trainer: Any) -> None:
    """After each epoch: keep a complete copy of last.pt, and print one plain line (ultralytics'
    progress bars are lost when the output is not a terminal)."""
    done = trainer.epoch + 1
    if done > trainer.epochs or getattr(trainer, "_inspection_reported", 0) >= done:
        return  # ultralytics calls back once more after the last epoch
    trainer._inspection_reported = done
    last = Path(trainer.last)
    if last.is_file():
        partial = last.with_name(LAST_GOOD + ".partial")
        shutil.copy2(last, partial)
        partial.replace(last.with_name(LAST_GOOD))
    metrics = trainer.metrics or {}
    left = float(trainer.epoch_time or 0.0) * (trainer.epochs - done)
    print(
        f"epoch {done}/{trainer.epochs}: {_headline(metrics)}, about {left / 60:.0f} min left",
        file=sys.stderr,
        flush=True,
    )


def _headline(metrics: dict[str, float]) -> str:
    if "metrics/accuracy_top1" in metrics:
        return f"accuracy {metrics['metrics/accuracy_top1']:.3f}"
    return f"mAP50 {metrics.get('metrics/mAP50(B)', 0.0):.3f}, mAP50-95 {metrics.get('metrics/mAP50-95(B)', 0.0):.3f}"
