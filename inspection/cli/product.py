"""``inspection product``: the products a station may switch to, what its running instance inspects, and
a changeover of the running station (``inspection run`` or the app) without a restart."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.cli.actor import actor
from inspection.cli.options import Commands
from inspection.config import DEMO_CONFIG, StationConfig, load_recipe, load_station_config
from inspection.core.errors import StationError
from inspection.outputs.local_control import send_command

REFUSED = 1  # the exit code of a changeover the station refused (it stays on the old product)


def add_commands(commands: Commands) -> None:
    product = commands.add_parser(
        "product",
        help="list the station's products, show or change what the running station inspects",
        description="Products are the station file's 'recipes:' (index -> recipe). 'select' switches the "
        "running station (inspection run, or the app) to one between two parts: it finishes the parts in "
        "flight, loads the model, sets the camera and answers when the next part is judged by it.",
    )
    actions = product.add_subparsers(dest="product_command", metavar="ACTION", required=True)
    for name, help_text, handler in (
        ("list", "the products the station may switch to (and which one runs)", _list),
        ("status", "what the running station inspects, and its state", _status),
        ("select", "switch the running station to a product (its index or name)", _select),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        action.add_argument("--config", type=Path, default=DEMO_CONFIG, help="the station (default: the demo)")
        action.set_defaults(handler=handler)
        if name == "select":
            action.add_argument("product", help="the recipe index in the station file's recipes:, or its name")


def _running(config: StationConfig) -> dict[str, object] | None:
    try:
        return send_command(config.storage.data_dir, {"command": "status"}, timeout_s=10)
    except StationError:
        return None


def _list(args: argparse.Namespace) -> int:
    config = load_station_config(args.config)
    running = _running(config)
    current = running.get("product") if running else None
    products = {index: load_recipe(path) for index, path in sorted(config.recipes.items())}
    if not products:
        only = load_recipe(config.recipe).name
        print(f"{args.config}: no 'recipes:' (index -> recipe file) to switch between; the station runs {only}")
    for index, recipe in products.items():
        mark = "  <- running" if recipe.name == current else ""
        print(f"{index:>4}  {recipe.name} v{recipe.version}  ({recipe.model}){mark}")
    if running is None:
        print("no station is running on this data folder")
    return 0


def _status(args: argparse.Namespace) -> int:
    config = load_station_config(args.config)
    reply = send_command(config.storage.data_dir, {"command": "status"}, timeout_s=10)
    detail = f" ({reply['detail']})" if reply.get("detail") else ""
    print(f"product {reply.get('product')} v{reply.get('version')}; station {reply.get('state')}{detail}")
    return 0


def _select(args: argparse.Namespace) -> int:
    config = load_station_config(args.config)
    index = _index(config, args.product)
    reply = send_command(config.storage.data_dir, {"command": "recipe", "index": index, "by": actor()})
    if "refused" in reply:
        raise StationError(str(reply["refused"]))
    answer = str(reply.get("answer", ""))
    if answer.startswith("refused"):
        print(answer, flush=True)
        return REFUSED
    print(answer)
    return 0


def _index(config: StationConfig, wanted: str) -> int:
    """The recipe index ``wanted`` names: the index itself, or the name of one of the station's recipes."""
    if wanted.isdigit() and int(wanted) in config.recipes:
        return int(wanted)
    names = {load_recipe(path).name: index for index, path in config.recipes.items()}
    if wanted in names:
        return names[wanted]
    known = ", ".join(f"{index} {name}" for name, index in sorted(names.items(), key=lambda item: item[1]))
    raise StationError(f"{wanted!r} is not one of the station's products ({known or 'none: add recipes:'})")
