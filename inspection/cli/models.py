"""``inspection models list|show|register|promote``: the model registry from the command line."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from inspection.cli.actor import actor, who
from inspection.cli.options import REGISTRY_HELP, Commands
from inspection.config import load_station_config
from inspection.core.errors import StationError
from inspection.detectors.card import ModelCard, read_card, write_card
from inspection.detectors.formats import FORMAT_NAMES
from inspection.ml.cross_groups import card_section
from inspection.ml.registry.store import (
    AUTO_FORMAT,
    DEFAULT_REGISTRY,
    list_models,
    promote,
    register_run,
    resolve_model,
    verify_folder,
)
from inspection.recorder.audit import record_action
from inspection.recorder.database import open_station_database


def list_command(registry: Path, as_json: bool) -> int:
    cards = list_models(registry)
    if as_json:
        print(json.dumps([_row(registry, card.name) for card in cards], indent=2))
        return 0
    if not cards:
        print(f"no models in {registry}")
        return 0
    print(f"{'name':24} {'input':16} {'imgsz':>5} {'mAP50':>6} {'escapes':>8} {'FR':>6}  {'formats':22}  files")
    for card in cards:
        row = _row(registry, card.name)
        print(
            f"{card.name:24} {card.input.mode:16} {card.input.imgsz:5} {_num(row['map50']):>6} "
            f"{_pct(row['escape_rate']):>8} {_pct(row['false_reject_rate']):>6}  "
            f"{','.join(_labelled(row)):22}  {'ok' if row['verified'] else 'CHANGED'}"
        )
    return 0


def _row(registry: Path, name: str) -> dict[str, Any]:
    folder = registry / name
    card = read_card(folder)
    return {
        "name": card.name,
        "input": card.input.mode,
        "imgsz": card.input.imgsz,
        "map50": card.metrics.get("map50"),
        "escape_rate": card.metrics.get("escape_rate"),
        "false_reject_rate": card.metrics.get("false_reject_rate"),
        "auroc": card.metrics.get("auroc"),  # an anomaly model's
        "formats": [*(["pt"] if (folder / "model.pt").is_file() else []), *card.exports],
        "precision": {fmt: str(export.get("precision", "f32")) for fmt, export in card.exports.items()},
        "verified": not verify_folder(folder),
        "parent": card.parent,
        "promoted": card.promoted[-1] if card.promoted else None,
    }


def _labelled(row: dict[str, Any]) -> list[str]:
    """Formats as listed, an export that computes in another precision than f32 marked (openvino:bf16)."""
    precision = row["precision"]
    return [fmt if precision.get(fmt, "f32") == "f32" else f"{fmt}:{precision[fmt]}" for fmt in row["formats"]]


def _num(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "-"


def _pct(value: object) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, float | int) else "-"


def show_command(registry: Path, name: str) -> int:
    folder = resolve_model(registry, name)
    card = read_card(folder)
    print(yaml.safe_dump(card.model_dump(mode="json"), sort_keys=False), end="")
    problems = verify_folder(folder)
    print("files: " + ("all verify against their sha256" if not problems else "; ".join(problems)))
    return 0 if not problems else 1


def register_command(
    registry: Path,
    run: Path,
    name: str,
    parent: str | None,
    notes: str,
    final_epoch: bool = False,
    cross_groups: Path | None = None,
) -> int:
    """Register a run; ``cross_groups``: a leave-one-group-out report (``cross-groups.json``) whose
    figures the card keeps for this model (one trained the same way on every group)."""
    summary = _cross_groups_report(cross_groups) if cross_groups is not None else None
    folder = register_run(run, name, registry, parent, notes, final_epoch=final_epoch)
    if summary is not None and cross_groups is not None:
        card = read_card(folder)
        measured = datetime.fromtimestamp(cross_groups.stat().st_mtime, UTC).date().isoformat()
        epochs = int(card.training.get("settings", {}).get("epochs") or summary["epochs_per_fold"])
        section = card_section(summary, measured, epochs)
        write_card(folder, ModelCard.model_validate({**card.model_dump(), "leave_one_group_out": section}))
    print(f"registered {folder}" + (" (its last epoch)" if final_epoch else ""))
    return 0


def _cross_groups_report(path: Path) -> dict[str, Any]:
    """The report, checked before anything is registered."""
    try:
        summary: dict[str, Any] = json.loads(path.read_text())
        card_section(summary, "", 0)
        return summary
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StationError(
            f"{path}: not a leave-one-group-out report ({exc}); give the cross-groups.json of "
            "'inspection evaluate --cross-groups'"
        ) from None


def promote_command(
    registry: Path, name: str, recipe: Path, fmt: str, by: str, station: Path | None, password_env: str | None = None
) -> int:
    """Promote, and record it in the station's audit trail when ``station`` is given (who, from which OS
    user and command line; a station account named by ``by`` must give its password)."""
    how = actor()
    engine = open_station_database(load_station_config(station).storage) if station is not None else None
    person = who(engine, by or None, password_env) if engine is not None else by or how["os_user"]
    target = promote(resolve_model(registry, name), recipe, fmt, person)
    if engine is not None:
        detail = {"model": name, "recipe": str(recipe.resolve()), "format": fmt, "file": str(target), **how}
        record_action(engine, person, "model_promote", detail)
    print(f"{recipe}: model is now {target}")
    return 0


def add_commands(commands: Commands) -> None:
    models = commands.add_parser("models", help="the model registry", description="List, show, register, promote.")
    models.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help=REGISTRY_HELP)
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
    register.add_argument(
        "--final-epoch", action="store_true",
        help="register the last epoch's weights, not the best on the run's validation split (for a run whose "
        "validation split must not choose: e.g. 'evaluate --cross-groups --final')",
    )  # fmt: skip
    register.add_argument(
        "--cross-groups", type=Path, metavar="JSON",
        help="a leave-one-group-out report (cross-groups.json) to keep in the card: for a model trained as its folds",
    )  # fmt: skip
    promote = actions.add_parser("promote", help="make a model the one a recipe runs")
    promote.add_argument("name")
    promote.add_argument("--recipe", type=Path, required=True, help="recipe YAML whose 'model:' is rewritten")
    promote.add_argument(
        "--format",
        default=AUTO_FORMAT,
        choices=[AUTO_FORMAT, *FORMAT_NAMES],
        help="auto (default): the model folder, run as the device calls for (GPU: the weights; CPU: the fastest "
        "export); or one file format",
    )
    promote.add_argument("--by", default="", help="who promotes it (kept in the card; default: the OS user)")
    promote.add_argument(
        "--config", type=Path, help="the station whose audit trail records the promotion (with the OS user)"
    )
    promote.add_argument("--password-env", help="with --config: variable holding the --by account's password")
    models.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.models_command == "list":
        return list_command(args.registry, args.json)
    if args.models_command == "show":
        return show_command(args.registry, args.name)
    if args.models_command == "register":
        return register_command(
            args.registry, args.run, args.name, args.parent, args.notes, args.final_epoch, args.cross_groups
        )
    return promote_command(args.registry, args.name, args.recipe, args.format, args.by, args.config, args.password_env)
