"""Change station settings from the app (engineers): the camera, the archive policy, the product (the
station's recipe) and the recipe's model (a promotion from the registry). Each edit changes one line,
keeps the rest of the file as written, is validated before it replaces the file, and goes to the audit
trail."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from inspection.config import StationConfig, load_recipe, load_station_config, replace_config_file
from inspection.config.cameras import Trigger
from inspection.core.errors import ConfigError
from inspection.core.yaml_lines import top_level_block
from inspection.ml.registry.store import promote
from inspection.recorder.accounts import User, require_audited
from inspection.recorder.audit import record_action


def _set_in_block(lines: list[str], block: str, key: str, value: str) -> str | None:
    """Set ``block.key`` (two-level YAML) in place; returns the old value's text (None: added)."""
    found = top_level_block(lines, block)
    if found is None:
        raise ConfigError(f"no '{block}:' section in the station file")
    start, end = found
    indent = "  "
    for number in range(start + 1, end):
        match = re.match(rf"^(\s+){key}\s*:\s*(.*?)\s*$", lines[number])
        if match:
            indent = match.group(1)
            lines[number] = f"{indent}{key}: {value}\n"
            return match.group(2)
        if lines[number].strip():
            indent = re.match(r"^(\s+)", lines[number]).group(1)  # type: ignore[union-attr]
    lines.insert(start + 1, f"{indent}{key}: {value}\n")
    return None


def set_station_options(
    engine: Engine, user: User | None, path: Path, camera_serial: str | None = None, archive: str | None = None
) -> StationConfig:
    editor = require_audited(engine, user, "station", {"station": str(path)})
    lines = path.read_text().splitlines(keepends=True)
    changes: dict[str, tuple[str | None, str]] = {}
    if camera_serial is not None:
        old = _set_in_block(lines, "camera", "serial", json.dumps(camera_serial))  # quoted: serials are text
        changes["camera.serial"] = (old, camera_serial)
    if archive is not None:
        changes["storage.archive"] = (_set_in_block(lines, "storage", "archive", archive), archive)
    replace_config_file(path, "".join(lines), StationConfig)
    config = load_station_config(path)
    detail = {"station": str(path), **{key: {"before": old, "after": new} for key, (old, new) in changes.items()}}
    record_action(engine, editor.username, "station_change", detail)
    return config


def choose_model(engine: Engine, user: User | None, folder: Path, recipe: Path, fmt: str) -> Path:
    """Promote a registered model into the recipe (engineers): verified files, audited."""
    editor = require_audited(engine, user, "model", {"model": folder.name, "recipe": str(recipe)})
    target = promote(folder, recipe, fmt, by=editor.username)
    record_action(engine, editor.username, "model_change", {"recipe": str(recipe), "model": folder.name, "format": fmt})
    return target


def switch_station_recipe(station: Path, recipe: Path) -> str | None:
    """Point the station file's top-level ``recipe:`` at ``recipe`` (the rest kept as written); the old value."""
    lines = station.read_text().splitlines(keepends=True)
    if top_level_block(lines, "recipe") is None:
        raise ConfigError(f"{station}: no top-level 'recipe:' line to switch")
    relative = Path(os.path.relpath(recipe.resolve(), station.resolve().parent)).as_posix()
    old = None
    for number, line in enumerate(lines):
        match = re.match(r"^recipe\s*:\s*(.*?)\s*$", line)
        if match:
            old, lines[number] = match.group(1), f"recipe: {relative}\n"
    replace_config_file(station, "".join(lines), StationConfig)
    return old


def choose_product(engine: Engine, user: User | None, station: Path, recipe: Path) -> StationConfig:
    """Switch the station to another product's recipe (engineers): the recipe must load and name a model
    that is there, else nothing changes; audited with the recipe before and after."""
    editor = require_audited(engine, user, "station", {"action": "product_change", "recipe": str(recipe)})
    chosen = load_recipe(recipe)
    if not chosen.model.exists():
        raise ConfigError(f"recipe {chosen.name} ({recipe}): its model {chosen.model} is not there; nothing changed")
    before = switch_station_recipe(station, recipe)
    config = load_station_config(station)
    detail = {"station": str(station), "recipe_before": before, "recipe": str(recipe), "product": chosen.name,
              "version": chosen.version}  # fmt: skip
    record_action(engine, editor.username, "product_change", detail)
    return config


def set_camera_settings(
    engine: Engine, user: User | None, path: Path, settings: dict[str, float], trigger: Trigger | None = None
) -> StationConfig:
    """The camera's exposure / gain (``settings``: ``exposure_us``, ``gain``) and trigger as set in the live
    preview (engineers): one line each in the station file's ``camera:`` block (the trigger as one line),
    validated, audited with the values before and after."""
    editor = require_audited(engine, user, "station", {"station": str(path), "change": "camera"})
    lines = path.read_text().splitlines(keepends=True)
    changes: dict[str, dict[str, Any]] = {}
    for key, value in settings.items():
        changes[f"camera.{key}"] = {"before": _set_in_block(lines, "camera", key, f"{value:g}"), "after": value}
    if trigger is not None:
        _drop_sub_block(lines, "camera", "trigger")
        flow = json.dumps(trigger.model_dump(mode="json"))
        changes["camera.trigger"] = {"before": _set_in_block(lines, "camera", "trigger", flow), "after": trigger.mode}
    replace_config_file(path, "".join(lines), StationConfig)
    record_action(engine, editor.username, "camera_settings", {"station": str(path), **changes})
    return load_station_config(path)


def _drop_sub_block(lines: list[str], block: str, key: str) -> None:
    """Remove the lines indented under ``block.key:`` (a nested mapping), leaving its ``key:`` line."""
    found = top_level_block(lines, block)
    if found is None:
        return
    start, end = found
    for number in range(start + 1, end):
        match = re.match(rf"^(\s+){key}\s*:\s*$", lines[number])
        if match:
            depth = len(match.group(1))
            last = number + 1
            while last < end and (not lines[last].strip() or len(lines[last]) - len(lines[last].lstrip()) > depth):
                last += 1
            del lines[number + 1 : last]
            return
