"""Registry operations: register a training run, add an export, list, show and promote models.

Every write builds in a ``.partial`` place and renames at the end, so ``models/`` never holds half a model.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from inspection.config import PROJECT_ROOT, Recipe, load_recipe, replace_config_file
from inspection.core.errors import ConfigError, ModelError
from inspection.core.hashing import file_sha256
from inspection.core.offline import make_ultralytics_offline
from inspection.detectors.card import CARD, InputSpec, ModelCard, find_card, read_card, write_card
from inspection.detectors.formats import format_named
from inspection.detectors.region_crop import CROP_PX, MIN_SIDE, PROPOSALS_FILE, REGION_SETTINGS_FILE
from inspection.ml.anomaly.card import anomaly_card, is_anomaly_run
from inspection.ml.training import TRAIN_CONFIG, weights_of

DEFAULT_REGISTRY = PROJECT_ROOT / "models"
REGION_PREPROCESSING = (
    f"golden-template regions ({PROPOSALS_FILE}) cut from the image stacked with its reference (board, reference, "
    f"difference) as {CROP_PX} px squares of at least {MIN_SIDE} px of the image, scaled (bilinear) to the input "
    "size; channels reversed, /255"
)
CLASSIFY_STRIDE = 32
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def model_folder(registry: Path, name: str) -> Path:
    if not NAME.match(name):
        raise ModelError(f"model name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    return registry / name


def resolve_model(registry: Path, name_or_path: str | Path) -> Path:
    """A registry name (``deeppcb-yolov8n``) or a path to a model file (also of an export, in its subfolder) or
    folder -> the registry folder."""
    candidate = Path(name_or_path)
    found = find_card(candidate) if candidate.is_file() else None
    if found is not None:
        return found[0]
    if (candidate / CARD).is_file():
        return candidate
    folder = registry / str(name_or_path)
    if (folder / CARD).is_file():
        return folder
    known = ", ".join(m.name for m in list_models(registry)) or "none"
    raise ModelError(f"{name_or_path}: no such model in {registry} (registered: {known})")


def weights_file(folder: Path, fmt: str = "pt") -> Path:
    """The model file of one format in a registry folder."""
    card = read_card(folder)
    if not format_named(fmt).exportable:  # the weights themselves
        return folder / format_named(fmt).main_file
    export = card.exports.get(fmt)
    if export is None:
        raise ModelError(f"{folder.name}: has no {fmt} export; make one with 'inspection export --format {fmt}'")
    return folder / str(export["file"])


def default_file(folder: Path) -> Path:
    """The fastest CPU format the model has: OpenVINO, else ONNX, else the PyTorch weights."""
    exports = read_card(folder).exports
    for fmt in ("openvino", "onnx"):
        if fmt in exports:
            return folder / str(exports[fmt]["file"])
    return folder / format_named("pt").main_file


def register_run(
    run: Path,
    name: str,
    registry: Path = DEFAULT_REGISTRY,
    parent: str | None = None,
    notes: str = "",
    final_epoch: bool = False,
) -> Path:
    """Copy a run's best weights (optimizer state stripped) into ``registry/name`` with a new card; with
    ``final_epoch``, its last epoch's instead (when the run's validation split must not choose the model:
    a leave-one-group-out fold validates on the group it is scored on). An anomaly run: its ONNX file and
    image statistics, its threshold in the card."""
    if is_anomaly_run(run):
        return _register_anomaly(run, name, registry, parent, notes)
    best, last = weights_of(run)
    if final_epoch:
        best = last
    if not best.is_file():
        raise ModelError(f"{run}: no weights/best.pt; is it a finished 'inspection train' run?")
    config_path = run / TRAIN_CONFIG
    if not config_path.is_file():
        raise ModelError(f"{run}: no {TRAIN_CONFIG}; register runs made with 'inspection train'")
    config: dict[str, Any] = yaml.safe_load(config_path.read_text())
    folder = _new_folder(registry, name, parent)
    dataset = config.get("dataset", {})
    proposals = Path(dataset.get("crops", "")) / PROPOSALS_FILE
    if dataset.get("task", "detect") == "classify" and not proposals.is_file():
        raise ModelError(f"{run}: trained on region crops, but {proposals} (their proposal settings) is gone")
    card = _new_card(run, name, config, parent, notes)
    with _building(folder) as partial:
        make_ultralytics_offline()
        from ultralytics.utils.torch_utils import strip_optimizer  # noqa: PLC0415  (heavy SDK, loaded only when used)

        strip_optimizer(str(best), str(partial / "model.pt"))
        card.files["model.pt"] = file_sha256(partial / "model.pt")
        if card.task == "classify":
            shutil.copy2(proposals, partial / PROPOSALS_FILE)
            card.files[PROPOSALS_FILE] = file_sha256(partial / PROPOSALS_FILE)
            settings = proposals.with_name(REGION_SETTINGS_FILE)  # crops made before it: the classifier alone
            if settings.is_file():
                shutil.copy2(settings, partial / REGION_SETTINGS_FILE)
                card.files[REGION_SETTINGS_FILE] = file_sha256(partial / REGION_SETTINGS_FILE)
        write_card(partial, card)
    return folder


def _new_folder(registry: Path, name: str, parent: str | None) -> Path:
    """The folder a new model will have (refused when taken, or when its parent is unknown)."""
    folder = model_folder(registry, name)
    if folder.exists():
        raise ModelError(f"{folder}: a model of that name exists; choose another --name")
    if parent is not None:
        resolve_model(registry, parent)
    return folder


@contextmanager
def _building(folder: Path) -> Iterator[Path]:
    """A ``.partial`` folder to fill, renamed to ``folder`` when the block ends well, removed otherwise."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _register_anomaly(run: Path, name: str, registry: Path, parent: str | None, notes: str) -> Path:
    folder = _new_folder(registry, name, parent)
    card, files = anomaly_card(run, folder.name, parent, notes, now())
    with _building(folder) as partial:
        for file_name, source in files.items():
            shutil.copy2(source, partial / file_name)
            card.files[file_name] = file_sha256(partial / file_name)
        write_card(partial, card)
    return folder


def _new_card(run: Path, name: str, config: dict[str, Any], parent: str | None, notes: str) -> ModelCard:
    """The card of a run about to be registered: what it is, what it takes, how it was trained."""
    dataset = config.get("dataset", {})
    task = dataset.get("task", "detect")
    imgsz = int(config["imgsz"])
    if task == "classify":  # ultralytics trains classifiers at the next multiple of 32 (48 -> 64)
        imgsz = -(-imgsz // CLASSIFY_STRIDE) * CLASSIFY_STRIDE
    input_spec = InputSpec(imgsz=imgsz, mode=dataset.get("input", "image"))
    if task == "classify":
        input_spec.preprocessing = REGION_PREPROCESSING
    return ModelCard(
        name=name,
        architecture=_architecture(str(config["architecture"])),
        task=task,
        classes=list(dataset.get("classes", [])),
        input=input_spec,
        training={
            "run": str(run.resolve()),
            "dataset_manifest_sha256": dataset.get("manifest_sha256"),
            "data_yaml": dataset.get("data_yaml"),
            **({"crops": dataset["crops"], "crops_sha256": dataset.get("crops_sha256")} if task == "classify" else {}),
            "settings": {
                k: config[k] for k in ("epochs", "imgsz", "batch", "seed", "architecture", "computed_in") if k in config
            },
            "epochs_run": _epochs_run(run / "results.csv"),
            "notes": notes,
        },
        parent=parent,
        created=now(),
    )


def _architecture(source: str) -> str:
    if source.endswith(".pt"):
        return f"fine-tuned from {source} (ultralytics)"
    return f"{Path(source).stem} (ultralytics, from scratch)"


def _epochs_run(results: Path) -> int | None:
    if not results.is_file():
        return None
    return max(0, len(results.read_text().splitlines()) - 1)


def add_export(folder: Path, produced: Path, fmt: str, parity: dict[str, Any], precision: str = "f32") -> Path:
    """Move a checked export into the folder and list it (with its hashes and parity) in the card."""
    card = read_card(folder)
    described = format_named(fmt)
    target = folder / described.registry_entry
    staging = folder / (target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True) if staging.is_dir() else staging.unlink(missing_ok=True)
    shutil.move(str(produced), staging)
    old = folder / (target.name + ".old")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
    for path in files:
        card.files[path.relative_to(folder).as_posix()] = file_sha256(path)
    main = folder / described.main_file
    card.exports[fmt] = {
        "file": main.relative_to(folder).as_posix(),
        "precision": precision,
        "parity": parity,
        "created": now(),
    }
    write_card(folder, card)
    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return main


def list_models(registry: Path = DEFAULT_REGISTRY) -> list[ModelCard]:
    if not registry.is_dir():
        return []
    return [read_card(folder) for folder in sorted(registry.iterdir()) if (folder / CARD).is_file()]


def verify_folder(folder: Path) -> list[str]:
    """Problems with the files of a registry folder (missing, changed); empty when all verify."""
    card = read_card(folder)
    problems = []
    for name, expected in card.files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(path) != expected:
            problems.append(f"{name}: sha256 differs from the card")
    return problems


AUTO_FORMAT = "auto"  # promote the model folder: the backend follows the device (ml.registry.selection)


def promote(folder: Path, recipe_path: Path, fmt: str = "onnx", by: str = "") -> Path:
    """Point the recipe's ``model:`` line at this model's ``fmt`` file, or with ``fmt`` ``auto`` at the
    model's folder, whose backend the station then picks by device (the rest of the file is kept as
    written, comments included), and note the promotion in the card."""
    problems = verify_folder(folder)
    if problems:
        raise ModelError(f"{folder.name}: refusing to promote, files do not verify: {'; '.join(problems)}")
    card = read_card(folder)
    target = folder if fmt == AUTO_FORMAT else weights_file(folder, fmt)
    recipe = load_recipe(recipe_path)
    if card.input.mode == "image+reference" and recipe.reference is None:
        raise ConfigError(
            f"{recipe_path}: {card.name} compares each part with a reference image; set 'reference' in the recipe first"
        )
    if recipe.classes != card.classes:
        raise ConfigError(f"{recipe_path}: recipe classes {recipe.classes} differ from the model's {card.classes}")
    text = recipe_path.read_text()
    lines = text.splitlines(keepends=True)
    model_lines = [i for i, line in enumerate(lines) if re.match(r"^model\s*:", line)]
    if len(model_lines) != 1:
        raise ConfigError(f"{recipe_path}: expected one top-level 'model:' line to rewrite")
    relative = Path(os.path.relpath(target.resolve(), recipe_path.resolve().parent))
    lines[model_lines[0]] = f"model: {relative.as_posix()}\n"
    replace_config_file(recipe_path, "".join(lines), Recipe)
    card.promoted.append({"recipe": str(recipe_path.resolve()), "format": fmt, "at": now(), "by": by})
    write_card(folder, card)
    return target
