"""Change a recipe's rules from the app: validated, written atomically, the rest of the file (comments
included) kept as written, the recipe's version bumped (every record names the version that judged it,
so records before and after a change can be told apart), and the change in the audit trail with the old
and new values."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from inspection.config import ClassRule, Recipe, load_recipe, replace_config_file
from inspection.core.yaml_lines import top_level_block
from inspection.recorder.accounts import User, require_audited
from inspection.recorder.audit import record_action


def _dump(key: str, value: Any) -> list[str]:
    text = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False)
    return [line + "\n" for line in text.rstrip("\n").splitlines()]


def update_rules(
    engine: Engine, user: User | None, path: Path, default_rule: ClassRule, rules: dict[str, ClassRule]
) -> Recipe:
    editor = require_audited(engine, user, "thresholds", {"recipe": str(path)})
    before = load_recipe(path)  # the new rules are validated against its classes by the Recipe model
    lines = path.read_text().splitlines(keepends=True)
    values = {
        "default_rule": _rule_dict(default_rule),
        "rules": {name: _rule_dict(rule) for name, rule in rules.items()},
    }
    for key, value in values.items():
        found = top_level_block(lines, key)
        replacement = _dump(key, value)
        if found is None:
            lines += replacement
        else:
            start, end = found
            trailing_blank = [line for line in lines[start:end] if not line.strip()]
            lines[start:end] = replacement + trailing_blank
    _set_version(lines, next_version(before.version))
    replace_config_file(path, "".join(lines), Recipe)
    after = load_recipe(path)
    record_action(
        engine,
        editor.username,
        "threshold_change",
        {
            "recipe": str(path),
            "version": {"before": before.version, "after": after.version},
            "before": {"default_rule": before.default_rule.model_dump(), "rules": _dump_rules(before)},
            "after": {"default_rule": after.default_rule.model_dump(), "rules": _dump_rules(after)},
        },
    )
    return after


def _rule_dict(rule: ClassRule) -> dict[str, Any]:
    """The rule as written to the recipe: the basic limits always, size limits (mm) only when set."""
    basic = ("min_confidence", "min_area_px", "max_count")
    return {key: value for key, value in rule.model_dump().items() if key in basic or value not in (None, 0.0)}


def _dump_rules(recipe: Recipe) -> dict[str, Any]:
    return {name: rule.model_dump() for name, rule in recipe.rules.items()}


def next_version(version: str) -> str:
    """``1`` -> ``2``, ``1.4`` -> ``1.5``, ``A-7`` -> ``A-8``; a version without a trailing number gets ``.1``."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    if match is None:
        return f"{version}.1"
    return f"{match.group(1)}{int(match.group(2)) + 1}"


def _set_version(lines: list[str], version: str) -> None:
    """The top-level ``version:`` line set (added after ``name:`` when the recipe has none)."""
    line = f"version: {json.dumps(version)}\n"  # quoted: a version is text ("1.10" is not 1.1)
    for number, text in enumerate(lines):
        if re.match(r"^version\s*:", text):
            lines[number] = line
            return
    names = [number for number, text in enumerate(lines) if re.match(r"^name\s*:", text)]
    lines.insert(names[0] + 1 if names else 0, line)
