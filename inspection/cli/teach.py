"""``inspection teach``: a new product from good parts alone, at the cell (the app's teach-in does the same)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspection.cli.actor import actor, who
from inspection.cli.options import REGISTRY_HELP, Commands
from inspection.config import DEMO_CONFIG, load_station_config
from inspection.core.errors import StationError
from inspection.core.types import Image
from inspection.ml.evaluation.anomaly_metrics import score_histogram
from inspection.ml.registry.store import DEFAULT_REGISTRY
from inspection.recorder.audit import record_action
from inspection.recorder.database import open_station_database
from inspection.station.station_edit import switch_station_recipe
from inspection.station.teach import (
    RECIPES,
    TeachPlan,
    capture_from_station,
    describe_threshold,
    discard,
    take_folder,
    train_product,
    write_recipe,
)


def add_commands(commands: Commands) -> None:
    teach = commands.add_parser(
        "teach",
        help="teach a new product from good parts alone (capture, train, register, recipe)",
        description=(
            "Teach the station a product it does not know, from good parts only: capture N good parts with the "
            "station's camera (--capture N; the station must be stopped) or take a folder of them (--images), "
            "train an anomaly model (its threshold set on held-out good parts for --target-false-reject), "
            "register it under the product's name with its card, write configs/recipes/PRODUCT.yaml, and with "
            "--switch point the station at it. Audited in the station's trail. Nothing is overwritten: a product "
            "name in use is refused; an interrupted teach-in leaves no model and no recipe."
        ),
    )
    teach.add_argument("product", help="the product's name (model and recipe get it)")
    source = teach.add_mutually_exclusive_group(required=True)
    source.add_argument("--capture", type=int, metavar="N", help="capture N good parts with the station's camera")
    source.add_argument("--images", type=Path, metavar="FOLDER", help="a folder of good images instead")
    teach.add_argument("--config", type=Path, default=DEMO_CONFIG, help="the station (default: the demo)")
    teach.add_argument("--switch", action="store_true", help="then point the station's 'recipe:' at the new recipe")
    teach.add_argument("--imgsz", type=int, default=256, help="the model's input size (default 256)")
    teach.add_argument(
        "--target-false-reject", type=float, default=0.01, help="false-reject rate of the threshold (default 0.01)"
    )
    teach.add_argument("--by", help="who teaches it (an account of the station; default: the OS user)")
    teach.add_argument("--password-env", help="variable holding the --by account's password")
    teach.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help=REGISTRY_HELP)
    teach.add_argument("--recipes", type=Path, default=RECIPES, help="where the recipe goes (default configs/recipes)")
    teach.add_argument("--work", type=Path, help="where the good parts and the run go (default runs/teach/PRODUCT)")
    teach.set_defaults(handler=_handle)


def _shown(count: int) -> Any:
    def shown(number: int, image: Image) -> None:
        height, width = image.shape[:2]
        print(f"captured {number}/{count} good parts ({width} x {height})", file=sys.stderr, flush=True)

    return shown


def _handle(args: argparse.Namespace) -> int:
    if args.capture is not None and args.capture < 10:
        raise StationError(f"--capture {args.capture}: capture at least 10 good parts (30-300 is a good range)")
    config = load_station_config(args.config)
    engine = open_station_database(config.storage)
    person = who(engine, args.by, args.password_env)
    plan = TeachPlan.for_product(
        args.product, work=args.work, registry=args.registry, recipes=args.recipes, imgsz=args.imgsz,
        target_false_reject=args.target_false_reject,
    )  # fmt: skip
    plan.check_free()
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.capture is not None:
            images = capture_from_station(config, plan, args.capture, _shown(args.capture))
        else:
            images = take_folder(args.images, plan)
        folder, section = train_product(plan, progress)
    except BaseException:
        discard(plan)
        raise
    recipe = write_recipe(plan, folder)
    switched = switch_station_recipe(args.config, recipe) if args.switch else None
    detail = {
        "product": args.product, "model": str(folder), "recipe": str(recipe), "good_parts": len(images),
        "source": "camera" if args.capture is not None else str(args.images), "threshold": describe_threshold(section),
        **({"station": str(args.config), "recipe_before": switched} if args.switch else {}), **actor(),
    }  # fmt: skip
    record_action(engine, person, "product_teach", detail)
    _report(section, folder, recipe, args.config if args.switch else None)
    return 0


def _report(section: dict[str, Any], folder: Path, recipe: Path, station: Path | None) -> None:
    scores = section.get("held_out_good", {}).get("scores", [])
    print(f"model: {folder}")
    print(describe_threshold(section))
    print("held-out good parts by score: " + ", ".join(f"{k}: {v}" for k, v in score_histogram(scores).items() if v))
    print(f"recipe: {recipe}")
    if station is not None:
        print(f"{station}: now runs {recipe.name} (restart the station, or switch it in the app)")
