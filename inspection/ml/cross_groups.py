"""Leave-one-group-out: how the default detector does on boards of a group it never saw.

DeepPCB's boards come in groups (one board design each). A model scored on a group it was tuned on says
little about a new board; this protocol trains the default detector's region classifier once per group with
that group held out, scores it there (``inspection.ml.scoring``: mAP, per class, the DeepPCB F-score,
escapes, false rejects on the split and on re-captured good boards) and reports every fold, the mean and
the worst. The work is cut to what changes between folds: the boards are stacked with their registered
templates and the template detector's regions are cut out once; each fold only links them into its split.

Every finished step stays in the work folder, so an interrupted run goes on where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from inspection.config import PROJECT_ROOT
from inspection.core.errors import StationError
from inspection.detectors.region_crop import NONE, REGION_SETTINGS_FILE
from inspection.detectors.region_settings import DEFAULT_GEOMETRY_WEIGHT, RegionSettings
from inspection.ml.dataset.deeppcb import ImportResult, read_deeppcb, write_yolo_dataset
from inspection.ml.dataset.layout import report_problems
from inspection.ml.dataset.region_crops import (
    BOXES_FILE,
    CLASSIFIER_PX,
    CROPS_FILE,
    build_region_crops,
    fitted_settings,
)
from inspection.ml.registry.store import register_run, weights_file
from inspection.ml.scoring import RECAPTURES, evaluate
from inspection.ml.training import REGION_CLASSIFIER, TrainSettings, train, weights_of

PROPOSALS = PROJECT_ROOT / "configs" / "detectors" / "golden-template.yaml"
REPORT_JSON = "cross-groups.json"
REPORT_MD = "cross-groups.md"
# The classifier's own validation during a fold's training only shows progress (the fold's model is its
# last epoch, never chosen on the held-out group): a sample of the held-out group's crops is enough.
VAL_SAMPLE = 8
HEADLINE = ("map50", "map50_95", "f_score", "escape_rate", "false_reject_rate", "recapture_false_reject_rate")


@dataclass(frozen=True)
class CrossGroupSettings:
    source: Path  # DeepPCB layout (groupNNNNN/NNNNN/*_test.jpg)
    out: Path  # work folder
    epochs: int = 4
    imgsz: int = CLASSIFIER_PX
    batch: int = 128
    seed: int = 0
    groups: tuple[str, ...] = ()  # the folds (default: every group)
    pairs_per_group: int = 0  # 0: all; fewer for a quick run (the test)
    recaptures: int = RECAPTURES
    proposals: Path = PROPOSALS


def run_cross_groups(settings: CrossGroupSettings, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Every fold, then the summary (written as ``cross-groups.json`` and ``.md`` in the work folder)."""
    pairs = _pairs(settings)
    group_of = {image.stem: pair.group for pair in pairs for image in (pair.test_image, pair.template_image)}
    groups = sorted({pair.group for pair in pairs})
    folds = list(settings.groups) or groups
    unknown = sorted(set(folds) - set(groups))
    if unknown:
        raise StationError(f"{settings.source}: no board group {unknown}; it holds {groups}")
    stacked, crops = _shared_inputs(settings, pairs, progress)
    reports = {}
    for number, group in enumerate(folds, start=1):
        progress(f"fold {number}/{len(folds)}: {group} held out")
        reports[group] = _fold(settings, group, group_of, stacked, crops, progress)
    summary = summarise(reports, settings)
    settings.out.mkdir(parents=True, exist_ok=True)
    (settings.out / REPORT_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    (settings.out / REPORT_MD).write_text(format_summary(summary) + "\n")
    return summary


def _pairs(settings: CrossGroupSettings) -> list[Any]:
    if not settings.source.is_dir():
        raise StationError(f"{settings.source}: not a folder; give the DeepPCB data (groupNNNNN folders)")
    result = read_deeppcb(settings.source)
    report_problems(result.problems, settings.source)
    if not result.pairs:
        raise StationError(f"{settings.source}: no DeepPCB pairs found (trainval.txt or groupNNNNN/NNNNN/*_test.jpg)")
    if not settings.pairs_per_group:
        return list(result.pairs)
    kept: dict[str, list[Any]] = {}
    for pair in result.pairs:
        kept.setdefault(pair.group, [])
        if len(kept[pair.group]) < settings.pairs_per_group:
            kept[pair.group].append(pair)
    return [pair for group in sorted(kept) for pair in kept[group]]


def _shared_inputs(
    settings: CrossGroupSettings, pairs: list[Any], progress: Callable[[str], None]
) -> tuple[Path, Path]:
    """Every board stacked with its registered template (defect-free examples: re-captures), and every
    region the template detector proposes on them, cut out: the same for every fold."""
    stacked = settings.out / "stacked"
    if not (stacked / "data.yaml").is_file():
        progress(f"stacking {2 * len(pairs)} boards with their registered templates")
        partial = stacked.with_name("stacked.partial")
        shutil.rmtree(partial, ignore_errors=True)
        result = ImportResult(pairs=pairs)  # read once, by _pairs
        first = sorted({pair.group for pair in pairs})[0]  # a split for the crop builder; folds re-split
        write_yolo_dataset(result, partial, {first}, input_mode="image+reference")
        spec = yaml.safe_load((partial / "data.yaml").read_text())
        spec["path"] = str(stacked.resolve())
        (partial / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        partial.rename(stacked)
    crops = settings.out / "regions"
    if not (crops / CROPS_FILE).is_file():
        progress("cutting out the template detector's regions")
        shutil.rmtree(crops, ignore_errors=True)
        build_region_crops(stacked, crops, settings.proposals, progress)
    return stacked, crops


def _fold(
    settings: CrossGroupSettings,
    group: str,
    group_of: dict[str, str],
    stacked: Path,
    crops: Path,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    folder = settings.out / "folds" / group
    report_path = folder / "report.json"
    if report_path.is_file():
        progress(f"{group}: done already ({report_path})")
        report: dict[str, Any] = json.loads(report_path.read_text())
        return report
    dataset = _split_dataset(stacked, folder / "dataset", group, group_of)
    fold_crops = _split_crops(crops, folder / "regions", group, group_of)
    model = _trained_model(settings, folder, fold_crops, group)
    report = evaluate(weights_file(model), dataset, progress=progress, recaptures=settings.recaptures)
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _split_dataset(stacked: Path, out: Path, held_out: str, group_of: dict[str, str]) -> Path:
    """The stacked dataset with ``held_out`` as its validation split (links, no copies)."""
    if (out / "data.yaml").is_file():
        return out
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for kind in ("images", "labels"):
        _link_split(stacked / kind, partial / kind, held_out, group_of, lambda f: f.stem)
    spec = yaml.safe_load((stacked / "data.yaml").read_text())
    spec["path"] = str(out.resolve())
    (partial / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    partial.rename(out)
    return out


def _split_crops(crops: Path, out: Path, held_out: str | None, group_of: dict[str, str]) -> Path:
    """The region crops with the held-out group's as the validation split (links), and their description;
    with none held out (the final model), all of them for training and a sample of them for validation."""
    if (out / CROPS_FILE).is_file():
        return out
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    info = yaml.safe_load((crops / CROPS_FILE).read_text())
    _link_split(crops, partial, held_out, group_of, lambda f: f.stem.rsplit("_", 1)[0], VAL_SAMPLE)
    for split in ("train", "val"):  # every class in both splits
        for name in [*info["classes"], NONE]:
            (partial / split / name).mkdir(parents=True, exist_ok=True)
    shutil.copy2(crops / info["proposals"]["file"], partial / info["proposals"]["file"])
    (partial / REGION_SETTINGS_FILE).write_text(_fold_settings(crops, partial / "train"))
    info["counts"] = {
        split: {name.name: len(list(name.iterdir())) for name in sorted((partial / split).iterdir())}
        for split in ("train", "val")
    }
    info["held_out"] = held_out or "none (every group trains; the validation split is a sample of the training crops)"
    (partial / CROPS_FILE).write_text(yaml.safe_dump(info, sort_keys=False))
    partial.rename(out)
    return out


def _fold_settings(crops: Path, train: Path) -> str:
    """The fold's region settings: the box corrections learnt from its own training crops only (crops made
    before the boxes were kept: the source's settings as they are)."""
    boxes = crops / BOXES_FILE
    if not boxes.is_file():
        settings = crops / REGION_SETTINGS_FILE
        return settings.read_text() if settings.is_file() else RegionSettings(DEFAULT_GEOMETRY_WEIGHT).as_text()
    known = {key: pair for split in json.loads(boxes.read_text()).values() for key, pair in split.items()}
    trained = (str(file.relative_to(train)) for file in train.rglob("*.png"))
    return fitted_settings({key: known[key] for key in trained if key in known}).as_text()


def _link_split(
    source: Path,
    target: Path,
    held_out: str | None,
    group_of: dict[str, str],
    stem: Callable[[Path], str],
    val_sample: int = 1,
) -> None:
    """Link the files of ``source/train`` and ``source/val`` (any depth) into ``target``: those of the
    held-out group under ``val`` (every ``val_sample``-th of them), the rest under ``train``. With no
    group held out, every file goes under ``train`` and every ``val_sample``-th also under ``val``."""
    held = 0
    for split in ("train", "val"):
        root = source / split
        if not root.is_dir():
            continue
        for file in sorted(root.rglob("*")):
            group = group_of.get(stem(file)) if file.is_file() else None
            if group is None:
                continue
            validates = held_out is None or group == held_out
            held += validates
            if group != held_out:
                _link(file, target / "train" / file.relative_to(root))
            if validates and (held - 1) % val_sample == 0:
                _link(file, target / "val" / file.relative_to(root))


def _link(file: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        os.symlink(file.resolve(), link)


def train_final(
    settings: CrossGroupSettings, progress: Callable[[str], None] = print, epochs: int | None = None
) -> Path:
    """The model the protocol's figures stand for: the classifier trained as in every fold (for ``epochs``,
    default the folds' own), on every group (resumed if interrupted). Its run folder (``OUT/final/train``),
    to register with ``--final-epoch``: its validation split is a sample of its own training crops, which
    must not choose the weights."""
    final = replace(settings, epochs=epochs or settings.epochs)
    pairs = _pairs(final)
    group_of = {image.stem: pair.group for pair in pairs for image in (pair.test_image, pair.template_image)}
    _, crops = _shared_inputs(final, pairs, progress)
    folder = final.out / "final"
    progress(f"final model: trained on every group ({len(pairs)} pairs), {final.epochs} epochs")
    return _trained_run(final, folder, _split_crops(crops, folder / "regions", None, group_of))


def _trained_model(settings: CrossGroupSettings, folder: Path, crops: Path, group: str) -> Path:
    """The fold's classifier, registered in the fold's own registry (trained, or resumed, first)."""
    registry, name = folder / "registry", f"logo-{group}"
    model = registry / name
    if model.is_dir():
        return model
    run = _trained_run(settings, folder, crops)
    notes = f"leave-one-group-out fold: {group} held out; the last epoch's weights (not chosen on {group})"
    return register_run(run, name, registry, notes=notes, final_epoch=True)


def _trained_run(settings: CrossGroupSettings, folder: Path, crops: Path) -> Path:
    """``folder/train`` trained on ``crops`` for ``settings.epochs`` (resumed when it stopped early)."""
    run = folder / "train"
    best, last = weights_of(run)
    if not _finished(run, settings.epochs):
        if last.is_file():
            train(TrainSettings(crops, run), resume=True)
        else:
            shutil.rmtree(run, ignore_errors=True)
            train(_train_settings(settings, crops, run))
    if not best.is_file():
        raise StationError(f"{run}: training ended without weights/best.pt")
    return run


def _train_settings(settings: CrossGroupSettings, crops: Path, run: Path) -> TrainSettings:
    return TrainSettings(
        crops, run, architecture=str(REGION_CLASSIFIER), epochs=settings.epochs, imgsz=settings.imgsz,
        batch=settings.batch, seed=settings.seed,
    )  # fmt: skip


def _finished(run: Path, epochs: int) -> bool:
    results = run / "results.csv"
    return results.is_file() and len(results.read_text().splitlines()) - 1 >= epochs and weights_of(run)[0].is_file()


def headline(report: dict[str, Any]) -> dict[str, float | None]:
    """The figures a fold is judged by."""
    recapture = report.get("recapture") or {}
    return {
        "map50": report["map50"],
        "map50_95": report["map50_95"],
        "f_score": report["deeppcb_protocol"]["f_score"],
        "escape_rate": report["escape_rate"],
        "false_reject_rate": report["false_reject_rate"],
        "recapture_false_reject_rate": recapture.get("false_reject_rate"),
    }


def _spread(values: list[float | None], worst_is_low: bool) -> dict[str, float | None]:
    known = [v for v in values if v is not None]
    if not known:
        return {"mean": None, "worst": None}
    return {"mean": round(statistics.fmean(known), 4), "worst": min(known) if worst_is_low else max(known)}


def summarise(reports: dict[str, dict[str, Any]], settings: CrossGroupSettings) -> dict[str, Any]:
    """Per fold, per class, and the mean and worst over the folds."""
    folds = {group: headline(report) for group, report in reports.items()}
    overall = {
        key: _spread([f[key] for f in folds.values()], key in ("map50", "map50_95", "f_score")) for key in HEADLINE
    }
    classes = sorted({name for report in reports.values() for name in report["per_class"]})
    first: dict[str, Any] = next(iter(reports.values()), {"per_class": {}})
    order = [name for name in first["per_class"] if name in classes]
    per_class = {
        name: {
            metric: _spread([r["per_class"][name][metric] for r in reports.values() if name in r["per_class"]], True)
            for metric in ("ap50", "ap50_95")
        }
        for name in order
    }
    return {
        "protocol": "leave-one-group-out",
        "source": str(settings.source),
        "epochs_per_fold": settings.epochs,
        "pairs_per_group": settings.pairs_per_group or "all",
        "recaptures_per_good_board": settings.recaptures,
        "folds": folds,
        "per_fold_per_class": {g: {n: r["per_class"][n]["ap50"] for n in order} for g, r in reports.items()},
        "overall": overall,
        "per_class": per_class,
        "fold_reports": {g: str(settings.out / "folds" / g / "report.json") for g in reports},
    }


def card_section(summary: dict[str, Any], measured: str, final_epochs: int) -> dict[str, Any]:
    """What a model card keeps of a leave-one-group-out report (key ``leave_one_group_out``): for the
    final model trained the same way on every group (``train_final``), for ``final_epochs``."""
    folds = summary["epochs_per_fold"]
    longer = f", for {final_epochs} epochs instead of {folds}" if final_epochs != folds else ""
    return {
        "what": (
            f"the protocol's figures for this detector's recipe: each fold's classifier trained as this one "
            f"({folds} epochs) on all groups but one, scored on that one; this model is the same training on "
            f"every group{longer}"
        ),
        "command": f"inspection evaluate --cross-groups {summary['source']} --epochs {folds} --final"
        + (f" --final-epochs {final_epochs}" if longer else ""),
        "measured": measured,
        "epochs_per_fold": folds,
        "epochs_final": final_epochs,
        "recaptures_per_good_board": summary["recaptures_per_good_board"],
        "overall": summary["overall"],
        "per_class_ap50": {name: spread["ap50"] for name, spread in summary["per_class"].items()},
        "folds": summary["folds"],
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The Markdown tables: one row per fold, then mean and worst; per class AP@0.5."""

    def cell(value: float | None, rate: bool = False) -> str:
        if value is None:
            return "n/a"
        return f"{value * 100:.1f}%" if rate else f"{value:.3f}"

    lines = [
        f"Leave-one-group-out on {summary['source']} ({summary['epochs_per_fold']} epochs per fold, "
        f"{summary['pairs_per_group']} pairs per group, {summary['recaptures_per_good_board']} re-captures per "
        "good board)",
        "",
        "| held-out group | mAP@0.5 | mAP@.5:.95 | F (IoU>0.33) | escapes | false rejects | FR re-captured |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [(group, fold) for group, fold in summary["folds"].items()]
    rows += [(f"**{kind}**", {k: v[kind] for k, v in summary["overall"].items()}) for kind in ("mean", "worst")]
    for name, fold in rows:
        lines.append(
            f"| {name} | {cell(fold['map50'])} | {cell(fold['map50_95'])} | {cell(fold['f_score'])} | "
            f"{cell(fold['escape_rate'], True)} | {cell(fold['false_reject_rate'], True)} | "
            f"{cell(fold['recapture_false_reject_rate'], True)} |"
        )
    names = list(summary["per_class"])
    lines += ["", "| AP@0.5 per class | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for group, values in summary["per_fold_per_class"].items():
        lines.append(f"| {group} | " + " | ".join(cell(values.get(n)) for n in names) + " |")
    for kind in ("mean", "worst"):
        lines.append(f"| **{kind}** | " + " | ".join(cell(summary["per_class"][n]["ap50"][kind]) for n in names) + " |")
    return "\n".join(lines)
