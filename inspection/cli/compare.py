"""``inspection compare``: re-inspect the same parts with a baseline and a candidate model and report
what would change on the line (verdict flips, by class; new escapes and false rejects where the truth
is known), and the speed of each. The "test it on the twin, not on the line" step before promotion."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspection.cli.inspect import expand
from inspection.cli.options import Commands
from inspection.config import Recipe, load_recipe
from inspection.core.errors import StationError
from inspection.core.images import read_image
from inspection.core.types import Decision, Verdict
from inspection.detectors import Detector, load_detector
from inspection.detectors.base import usable_cores
from inspection.ml.registry.store import DEFAULT_REGISTRY, default_file, now, resolve_model
from inspection.ml.scoring import model_imgsz, operating_recipe
from inspection.recorder.archive import stored_image
from inspection.station.part import detect_and_decide


@dataclass(frozen=True)
class Part:
    name: str
    path: Path
    defective: bool | None  # None: truth unknown


def parts_from(sources: list[Path], labels: Path | None) -> list[Part]:
    """Images from files, folders, globs, or a station database (its recorded images)."""
    found: list[tuple[str, Path]] = []
    for source in sources:
        if source.suffix == ".db" and source.is_file():
            found.extend(_recorded(source))
        else:
            found.extend(expand([source]))
    if not found:
        raise StationError("nothing to compare: no images found")
    parts = []
    for shown, path in found:
        defective = None
        if labels is not None:
            label = labels / (path.stem + ".txt")
            defective = label.is_file() and bool(label.read_text().strip())
        parts.append(Part(shown, path, defective))
    return parts


def _recorded(database: Path) -> list[tuple[str, Path]]:
    """The images of a station's records (read-only; image paths are relative to the data folder)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            rows = connection.execute(
                "SELECT id, image_path FROM inspections WHERE image_path IS NOT NULL ORDER BY created_at"
            ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise StationError(f"{database}: not a station database ({exc})") from None
    found = [(f"record {record_id}", stored_image(database.parent, image)) for record_id, image in rows]
    kept = [(shown, path) for shown, path in found if path is not None]
    if len(kept) < len(found):  # never followed: a path outside the data folder, or a file that is gone
        print(
            f"warning: {len(found) - len(kept)} recorded image(s) skipped: missing, or outside the data folder "
            f"{database.parent.resolve()}",
            file=sys.stderr,
        )
    return kept


def _load(
    model: str, registry: Path, recipe_path: Path | None, reference: Path | None, conf: float | None
) -> tuple[Detector, Recipe]:
    """The detector (a registry model runs its fastest CPU export) and the rules that give its verdicts."""
    path = Path(model) if Path(model).is_file() else default_file(resolve_model(registry, model))
    if reference is None and recipe_path is not None:
        reference = load_recipe(recipe_path).reference
    detector = load_detector(path, model_imgsz(path), "cpu", threads=usable_cores(), reference=reference)
    rules = operating_recipe(path, detector.info.classes, recipe_path if conf is None else None, conf)
    return detector, rules


def compare(
    baseline: str,
    candidate: str,
    sources: list[Path],
    recipe_path: Path | None = None,
    reference: Path | None = None,
    labels: Path | None = None,
    conf: float | None = None,
    registry: Path = DEFAULT_REGISTRY,
) -> dict[str, Any]:
    parts = parts_from(sources, labels)
    models = {
        "baseline": _load(baseline, registry, recipe_path, reference, conf),
        "candidate": _load(candidate, registry, recipe_path, reference, conf),
    }
    decisions, seconds, unreadable = _decide_all(parts, models)
    readable = [p for p in parts if p.name not in set(unreadable)]
    flips, counts, by_class = _flips(readable, decisions["baseline"], decisions["candidate"])
    n = len(readable)
    return {
        "baseline": str(baseline),
        "candidate": str(candidate),
        "parts": n,
        "unreadable": unreadable,
        "truth": "labels" if labels else "unknown (flips are judged against the baseline only)",
        "fail_rate": {role: _fail_rate(decisions[role]) for role in models},
        "flips": len(flips),
        "effects": dict(counts),
        "flips_by_class": {kind: dict(counter) for kind, counter in by_class.items()},
        "speed": {
            role: {
                "backend": f"{models[role][0].info.backend} ({models[role][0].info.threads} threads, "
                f"{models[role][0].info.precision})",
                "parts_per_s": round(n / seconds[role], 1) if seconds[role] else None,
                "mean_ms": round(1000 * seconds[role] / max(n, 1), 2),
            }
            for role in models
        },
        "flip_list": flips,
        "compared": now(),
    }


def _decide_all(
    parts: list[Part], models: dict[str, tuple[Detector, Recipe]]
) -> tuple[dict[str, list[Decision]], dict[str, float], list[str]]:
    """Each model's verdict on every readable part, its seconds, and the parts that could not be read."""
    decisions: dict[str, list[Decision]] = {role: [] for role in models}
    seconds = dict.fromkeys(models, 0.0)
    unreadable = []
    for number, part in enumerate(parts, start=1):
        image = read_image(part.path)
        if image is None:
            unreadable.append(part.name)
            continue
        for role, (detector, rules) in models.items():
            start = time.perf_counter()
            decision = detect_and_decide(detector, image, rules)[1]
            seconds[role] += time.perf_counter() - start
            decisions[role].append(decision)
        if number % 50 == 0:
            print(f"compared {number}/{len(parts)} parts", file=sys.stderr)
    return decisions, seconds, unreadable


def _flips(
    parts: list[Part], old_decisions: list[Decision], new_decisions: list[Decision]
) -> tuple[list[dict[str, Any]], Counter[str], dict[str, Counter[str]]]:
    """The parts whose verdict flipped, the count of each effect, and the classes behind each kind of flip."""
    flips: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    by_class: dict[str, Counter[str]] = {"fail_to_pass": Counter(), "pass_to_fail": Counter()}
    for part, old, new in zip(parts, old_decisions, new_decisions, strict=True):
        if old.verdict == new.verdict:
            continue
        kind = "fail_to_pass" if old.verdict == Verdict.FAIL else "pass_to_fail"
        classes = sorted({d.label for d in (old.kept if kind == "fail_to_pass" else new.kept)})
        by_class[kind].update(classes)
        effect = _effect(kind, part.defective)
        counts[effect] += 1
        flips.append(
            {
                "part": part.name,
                "flip": kind,
                "effect": effect,
                "classes": classes,
                "baseline_reasons": list(old.reasons),
                "candidate_reasons": list(new.reasons),
            }
        )
    return flips, counts, by_class


def _fail_rate(decisions: list[Decision]) -> float:
    return round(sum(d.verdict == Verdict.FAIL for d in decisions) / max(len(decisions), 1), 4)


def _effect(kind: str, defective: bool | None) -> str:
    if defective is None:
        return "possible new escape" if kind == "fail_to_pass" else "possible new false reject"
    if kind == "fail_to_pass":
        return "new escape" if defective else "fixed false reject"
    return "fixed escape" if defective else "new false reject"


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"Compared on {report['parts']} parts: baseline {report['baseline']} vs candidate {report['candidate']}",
        f"Truth: {report['truth']}",
        "",
        "| | baseline | candidate |",
        "| --- | ---: | ---: |",
        f"| fail rate | {report['fail_rate']['baseline'] * 100:.1f}% | {report['fail_rate']['candidate'] * 100:.1f}% |",
        f"| parts/s | {report['speed']['baseline']['parts_per_s']} | {report['speed']['candidate']['parts_per_s']} |",
        f"| backend | {report['speed']['baseline']['backend']} | {report['speed']['candidate']['backend']} |",
        "",
        f"Verdict flips: {report['flips']}" + _effects(report["effects"]),
    ]
    for kind, title in (("fail_to_pass", "FAIL -> PASS"), ("pass_to_fail", "PASS -> FAIL")):
        classes = report["flips_by_class"][kind]
        if classes:
            lines.append(f"{title} by class: " + ", ".join(f"{name} {n}" for name, n in sorted(classes.items())))
    if report["flip_list"]:
        lines += ["", "| part | flip | effect | classes |", "| --- | --- | --- | --- |"]
        for flip in report["flip_list"]:
            lines.append(f"| {flip['part']} | {flip['flip']} | {flip['effect']} | {', '.join(flip['classes'])} |")
    return "\n".join(lines)


def _effects(effects: dict[str, int]) -> str:
    return " (" + ", ".join(f"{n} {kind}" for kind, n in sorted(effects.items())) + ")" if effects else ""


def run_compare(args: argparse.Namespace) -> int:
    report = compare(args.baseline, args.candidate, args.sources, args.recipe, args.reference, args.labels, args.conf)
    text = format_report(report)
    print(text)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n")
        args.report.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"report written to {args.report} and {args.report.with_suffix('.json')}")
    return 0


def add_commands(commands: Commands) -> None:
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
    compare.set_defaults(handler=run_compare)
