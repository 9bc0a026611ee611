"""``inspection evaluate``: accuracy, escapes, false rejects and latency of a model on a dataset split."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from inspection.cli.options import REGISTRY_HELP, Commands
from inspection.core.errors import StationError
from inspection.detectors.anomaly_backend import TASK as ANOMALY_TASK
from inspection.detectors.card import read_card, write_card
from inspection.ml.anomaly_scoring import evaluate_anomaly
from inspection.ml.cross_groups import (
    REPORT_JSON,
    REPORT_MD,
    CrossGroupSettings,
    format_summary,
    run_cross_groups,
    train_final,
)
from inspection.ml.dataset.region_crops import CLASSIFIER_PX
from inspection.ml.registry.store import DEFAULT_REGISTRY, default_file, resolve_model
from inspection.ml.scoring import RECAPTURES, evaluate, model_path


def format_table(report: dict[str, Any]) -> str:
    """The terminal / Markdown table."""
    protocol = report["deeppcb_protocol"]
    lines = [
        f"Model {report['model']} on {report['data']} ({report['split']}): {report['images']} images, "
        f"{report['boxes']} boxes",
        "",
        "| class | boxes | AP@0.5 | AP@0.5:0.95 | precision | recall | F-score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in report["per_class"].items():
        lines.append(
            f"| {name} | {row['boxes']} | {row['ap50']:.3f} | {row['ap50_95']:.3f} | {row['precision']:.3f} | "
            f"{row['recall']:.3f} | {row['f_score']:.3f} |"
        )
    lines.append(
        f"| **all** | {report['boxes']} | **{report['map50']:.3f}** | **{report['map50_95']:.3f}** | "
        f"{protocol['precision']:.3f} | {protocol['recall']:.3f} | {protocol['f_score']:.3f} |"
    )
    point = report["operating_point"]
    escape = report["escape_rate"]
    false_reject = report["false_reject_rate"]
    latency = report["latency_ms"]
    lines += [
        "",
        f"Precision / recall / F-score: DeepPCB protocol (IoU > {protocol['iou_above']}, same class) at confidence "
        f">= {point['min_confidence']}.",
        *_agnostic_line(protocol),
        f"Escapes (defective image judged PASS): {_rate(escape)} of {report['defective_images']}; "
        f"false rejects (defect-free image judged FAIL): {_rate(false_reject)} of {report['defect_free_images']}.",
        *_recapture_line(report.get("recapture")),
        f"Latency per part ({report['backend']}): mean {latency['mean']} ms, p50 {latency['p50']} ms, "
        f"p95 {latency['p95']} ms.",
    ]
    return "\n".join(lines)


def _agnostic_line(protocol: dict[str, Any]) -> list[str]:
    """Localisation alone (any class); absent from reports written before it existed."""
    agnostic = protocol.get("class_agnostic")
    if agnostic is None:
        return []
    return [
        f"Class-agnostic (localisation only): precision {agnostic['precision']:.3f}, recall {agnostic['recall']:.3f}, "
        f"F-score {agnostic['f_score']:.3f}."
    ]


def _recapture_line(recapture: dict[str, Any] | None) -> list[str]:
    """False rejects on re-captured good boards; absent from reports written before it existed."""
    if not recapture or not recapture["inspected"]:
        return []
    sim = recapture["simulation"]
    return [
        f"False rejects on re-captured good boards (moved up to {sim['max_shift_px']} px, turned up to "
        f"{sim['max_angle_deg']} degree, re-binarised, re-encoded; reference alignment {recapture['alignment']}): "
        f"{_rate(recapture['false_reject_rate'])} of {recapture['inspected']}."
    ]


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def format_anomaly_table(report: dict[str, Any]) -> str:
    """The terminal / Markdown report of an anomaly model."""
    recall = report["region_recall"]
    lines = [
        f"Anomaly model {report['model']} on {report['data']}: {report['good_images']} good and "
        f"{report['defective_images']} defective images; threshold {report['threshold']} (score)",
        "",
        f"Image AUROC: {'n/a' if report['auroc'] is None else format(report['auroc'], '.3f')}",
        f"Escapes (defective judged PASS): {_rate(report['escape_rate'])} of {report['defective_images']}; "
        f"false rejects (good judged FAIL): {_rate(report['false_reject_rate'])} of {report['good_images']}.",
        "Region recall (labelled defects overlapped by a reported region): "
        + ("n/a (no boxes in the data)" if recall is None else f"{recall['found']} of {recall['boxes']}"),
        "",
        "| score | " + " | ".join(report["score_histogram"]["good"]) + " |",
        "| --- |" + " ---: |" * len(report["score_histogram"]["good"]),
    ]
    for side in ("good", "defective"):
        lines.append(f"| {side} | " + " | ".join(str(n) for n in report["score_histogram"][side].values()) + " |")
    lines += ["", "| kind | parts | failed | mean score |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {k} | {v['parts']} | {v['failed']} | {v['mean_score']:.3f} |" for k, v in report["per_kind"].items()]
    latency = report["latency_ms"]
    lines += ["", f"Latency per part ({report['backend']}): mean {latency['mean']} ms, p50 {latency['p50']} ms."]
    return "\n".join(lines)


def _is_anomaly(model: str, registry: Path) -> Path | None:
    """The file an anomaly model runs from (the fastest CPU format), or None for another model."""
    try:
        folder = resolve_model(registry, model)
    except StationError:
        return None
    if read_card(folder).task != ANOMALY_TASK:
        return None
    return Path(model) if Path(model).is_file() else default_file(folder)


def run_evaluate(
    model: str,
    data: Path,
    recipe: Path | None,
    conf: float | None,
    split: str,
    json_out: Path | None,
    markdown_out: Path | None,
    save_to_card: bool,
    registry: Path = DEFAULT_REGISTRY,
    recaptures: int = RECAPTURES,
) -> int:
    anomaly = _is_anomaly(model, registry)
    if anomaly is not None:
        report = evaluate_anomaly(
            anomaly, data, split, recipe, conf, progress=lambda line: print(line, file=sys.stderr)
        )
        table = format_anomaly_table(report)
    else:
        report = evaluate(model_path(model, registry), data, recipe, conf, split, recaptures=recaptures)
        table = format_table(report)
    print(table)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    if markdown_out is not None:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(table + "\n")
    if save_to_card:
        folder = resolve_model(registry, model)
        card = read_card(folder)
        kept = {k: v for k, v in report.items() if k not in ("escapes", "false_rejects")}
        if kept.get("recapture"):
            kept["recapture"] = {k: v for k, v in kept["recapture"].items() if k != "false_rejects"}
        counts = {"escape_count": len(report["escapes"]), "false_reject_count": len(report["false_rejects"])}
        card.metrics = {**kept, **counts}
        write_card(folder, card)
        print(f"metrics written to {folder / 'card.yaml'}")
    return 0


def add_commands(commands: Commands) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="measure a model on a labelled dataset",
        description=(
            "Measure a model on a dataset split: mAP@0.5 and mAP@0.5:0.95 overall and per class; precision, "
            "recall and F-score with the DeepPCB protocol (IoU > 0.33, same class) at the operating threshold; "
            "image-level escape and false-reject rates, and false rejects on re-captured good boards (moved, "
            "turned, re-binarised, re-encoded; compared with the original); latency per part. Prints a table; "
            "writes JSON / Markdown. An anomaly model instead: image AUROC of its score, escapes and false rejects at "
            "its threshold, region recall and the score histograms of good and defective parts (--data: a dataset, "
            "or a folder with good/ and one folder per defect kind). With --cross-groups: the leave-one-group-out "
            "protocol instead."
        ),
    )
    evaluate.add_argument("--model", help="registry name, registry folder, or model file")
    evaluate.add_argument("--data", type=Path, help="dataset folder from 'inspection dataset import'")
    evaluate.add_argument("--split", default="val", help="dataset split (default val)")
    evaluate.add_argument("--recipe", type=Path, help="recipe whose rules give the verdicts")
    evaluate.add_argument("--conf", type=float, help="operating threshold without a recipe (default 0.5)")
    evaluate.add_argument("--json", type=Path, help="write the full report as JSON here")
    evaluate.add_argument("--markdown", type=Path, help="write the table as Markdown here")
    evaluate.add_argument(
        "--recaptures",
        type=int,
        default=RECAPTURES,
        help=f"inspect each good board of the split this often, captured again (simulated), for false rejects "
        f"(default {RECAPTURES}; 0: skip)",
    )
    evaluate.add_argument("--save-to-card", action="store_true", help="store the metrics in the model's card")
    evaluate.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help=REGISTRY_HELP)
    logo = evaluate.add_argument_group(
        "leave-one-group-out",
        "train the default detector's region classifier once per board group with that group held out, score "
        "each fold on its group, report every fold, the mean and the worst (resumable: run it again to go on)",
    )
    logo.add_argument("--cross-groups", type=Path, metavar="DEEPPCB", help="the DeepPCB data (groupNNNNN folders)")
    logo.add_argument("--out", type=Path, default=Path("runs/cross-groups"), help="work folder (default %(default)s)")
    logo.add_argument("--epochs", type=int, default=2, help="epochs per fold (default %(default)s)")
    logo.add_argument(
        "--final", action="store_true",
        help="then train the final classifier the same way on every group (OUT/final/train; register it with "
        "'inspection models register OUT/final/train --name NAME --final-epoch --cross-groups OUT/cross-groups.json')",
    )  # fmt: skip
    logo.add_argument(
        "--final-epochs", type=int, metavar="N", help="epochs of the final model (default: as many as per fold)"
    )
    logo.add_argument("--groups", nargs="+", default=[], help="only these folds (default: every group)")
    logo.add_argument("--pairs-per-group", type=int, default=0, help="use only this many pairs of each group")
    logo.add_argument("--imgsz", type=int, default=CLASSIFIER_PX, help="classifier input (default %(default)s)")
    evaluate.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.cross_groups is not None:
        return _handle_cross_groups(args)
    if args.model is None or args.data is None:
        raise StationError("evaluate: give --model and --data (or --cross-groups DEEPPCB for leave-one-group-out)")
    return run_evaluate(
        args.model, args.data, args.recipe, args.conf, args.split, args.json, args.markdown, args.save_to_card,
        args.registry, args.recaptures,
    )  # fmt: skip


def _handle_cross_groups(args: argparse.Namespace) -> int:
    settings = CrossGroupSettings(
        args.cross_groups, args.out, epochs=args.epochs, imgsz=args.imgsz, groups=tuple(args.groups),
        pairs_per_group=args.pairs_per_group, recaptures=args.recaptures,
    )  # fmt: skip
    progress = lambda line: print(line, file=sys.stderr)  # noqa: E731
    summary = run_cross_groups(settings, progress=progress)
    print(format_summary(summary))
    print(f"report: {args.out / REPORT_JSON} and {args.out / REPORT_MD}")
    if args.final:
        epochs = args.final_epochs or settings.epochs
        run = train_final(settings, progress=progress, epochs=epochs)
        print(f"final model (every group, {epochs} epochs): {run}")
    return 0
