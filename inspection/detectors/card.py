"""Model cards (``card.yaml``): what a model is, how it was made, how well it does, and the sha256
of every file, so that the station can refuse weights that changed after they were registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inspection.core.atomic import write_text_atomic
from inspection.core.channels import InputMode
from inspection.core.errors import ModelError
from inspection.core.hashing import file_sha256
from inspection.detectors.formats import format_of

CARD = "card.yaml"


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    imgsz: int
    mode: InputMode = "image"
    preprocessing: str = "letterbox to a square, grey 114 padding, RGB, /255"


class ModelCard(BaseModel):
    """The card's fields; unknown ones are kept (cards written by newer versions stay readable)."""

    model_config = ConfigDict(extra="allow")
    name: str
    architecture: str = "unknown"
    task: str = "detect"
    classes: list[str]
    input: InputSpec
    training: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict, description="from 'inspection evaluate'")
    files: dict[str, str] = Field(default_factory=dict, description="path in the folder -> sha256")
    exports: dict[str, dict[str, Any]] = Field(default_factory=dict, description="format -> file, parity")
    parent: str | None = None
    created: str = ""
    promoted: list[dict[str, str]] = Field(default_factory=list)
    license: str = ""


def read_card(folder: Path) -> ModelCard:
    path = folder / CARD
    try:
        raw = yaml.safe_load(path.read_text())
        return ModelCard.model_validate(raw)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model card ({exc.strerror})") from None
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{path}: not a valid model card ({first})") from None


def write_card(folder: Path, card: ModelCard) -> None:
    """Atomically replace the card (a crash leaves the old or the new one, never half of one)."""
    write_text_atomic(folder / CARD, yaml.safe_dump(card.model_dump(mode="json"), sort_keys=False))


def find_card(model_file: Path) -> tuple[Path, ModelCard] | None:
    """The card of the registry folder holding ``model_file`` (also inside an export subfolder)."""
    for folder in (model_file.parent, model_file.parent.parent):
        if (folder / CARD).is_file():
            return folder, read_card(folder)
    return None


def listed_file(folder: Path, card: ModelCard, name: str, needed_by: str) -> Path:
    """A file a model needs beside its network (``name`` in its registry folder), checked against its card."""
    path = folder / name
    expected = card.files.get(name)
    if expected is None or not path.is_file():
        raise ModelError(f"{folder}: {needed_by} needs its {name}, listed in its card")
    if file_sha256(path) != expected:
        raise ModelError(
            f"{path}: sha256 does not match the model card; the file changed after registration: restore it, "
            "or register the model again"
        )
    return path


def verify_model_file(model_file: Path) -> ModelCard | None:
    """Check ``model_file`` (and an OpenVINO .xml's .bin) against its card; ``None`` when it has none.

    Raises ``ModelError`` when the file is not listed in the card or its sha256 differs.
    """
    found = find_card(model_file)
    if found is None:
        return None
    folder, card = found
    fmt = format_of(model_file)
    files = fmt.files(model_file) if fmt is not None else [model_file]
    for path in files:
        key = path.resolve().relative_to(folder.resolve()).as_posix()
        expected = card.files.get(key)
        if expected is None:
            raise ModelError(
                f"{path}: not listed in {folder / CARD}; register it with 'inspection export' or "
                "'inspection models register' before using it"
            )
        actual = file_sha256(path)
        if actual != expected:
            raise ModelError(
                f"{path}: sha256 {actual[:12]}... does not match its model card ({expected[:12]}...); the file "
                "changed after it was registered: restore it, or register the new weights as a new model"
            )
    return card
