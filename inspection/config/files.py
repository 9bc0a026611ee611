"""Reading and writing the YAML files: parsing, validation into one-line errors, relative paths, atomic
replacement; the base of every settings block and the demo's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from inspection.core.atomic import write_text_atomic
from inspection.core.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = PROJECT_ROOT / "configs" / "demo_station.yaml"
DEMO_RECIPE = PROJECT_ROOT / "configs" / "recipes" / "deeppcb.yaml"


class Strict(BaseModel):
    """Every settings block: unknown keys rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_M = TypeVar("_M", bound=BaseModel)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    return _parse_yaml(path, text)


def _parse_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


def describe_validation_error(path: Path, error: ValidationError) -> str:
    """One line naming each bad key and what is wrong with it."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-")) or "(top level)"
        if item["type"] == "extra_forbidden":
            parts.append(f"unknown key '{where}'")
        else:
            parts.append(f"'{where}': {item['msg']}")
    return f"{path}: " + "; ".join(parts)


def resolve(base: Path, value: Path) -> Path:
    return value if value.is_absolute() else (base / value).resolve()


def validated(model: type[_M], path: Path, text: str | None = None) -> _M:
    """``path`` (or ``text`` meant for it) as a validated ``model``; one-line ConfigError otherwise."""
    try:
        return model.model_validate(_read_yaml(path) if text is None else _parse_yaml(path, text))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from None


def replace_config_file(path: Path, text: str, model: type[BaseModel]) -> None:
    """Validate ``text`` as ``model`` first, then replace the file atomically (edits made by the app)."""
    validated(model, path, text)
    write_text_atomic(path, text)
