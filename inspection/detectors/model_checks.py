"""Checks a model file passes before a runtime sees it, each failing with one line that says what to fix
(the runtimes' own errors are native noise: "Exception from src/inference/src/cpp/core.cpp:84")."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from inspection.core.errors import ModelError

EXPORT_AGAIN = "export it again with 'inspection export'"


def class_names(raw: object, path: Path, where: str) -> list[str]:
    """Class names from a model's metadata (a list, or a dict of 0..N-1): ``raw`` as stored, or a string
    of one of them (ONNX metadata). ``where`` names the place for the message."""
    if raw is None or raw == "" or raw == [] or raw == {}:
        raise ModelError(f"{path}: no class names in {where}; {EXPORT_AGAIN} so the names travel with it")
    names = raw
    if isinstance(raw, str):
        try:
            names = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise ModelError(
                f"{path}: the class names in {where} are malformed ({raw[:60]!r}); {EXPORT_AGAIN}"
            ) from None
    if isinstance(names, dict):
        if sorted(names) != list(range(len(names))):
            raise ModelError(
                f"{path}: the class names in {where} must be numbered 0..{len(names) - 1} (found keys "
                f"{sorted(map(str, names))[:6]}); {EXPORT_AGAIN}"
            )
        names = [names[i] for i in range(len(names))]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) and n for n in names):
        raise ModelError(
            f"{path}: the class names in {where} are not a list of names ({str(raw)[:60]!r}); {EXPORT_AGAIN}"
        )
    return [str(n) for n in names]


def check_image_input(shape: Sequence[object], path: Path) -> None:
    """A network here takes (batch, 3, size, size) images; dimensions may be symbolic (dynamic)."""
    channels = shape[1] if len(shape) == 4 else None
    if len(shape) != 4 or (isinstance(channels, int) and channels != 3):
        shown = "x".join(str(d) if isinstance(d, int) else "?" for d in shape)
        raise ModelError(
            f"{path}: the network's input is {shown}; this station feeds (batch, 3, size, size) images: "
            f"not an image detector or classifier, or {EXPORT_AGAIN}"
        )


def check_openvino_ir(path: Path) -> None:
    """An OpenVINO IR is an XML ``<net>`` with its ``.bin`` weights beside it."""
    try:
        for _event, element in ElementTree.iterparse(path, events=("start",)):
            tag = element.tag
            break
        else:
            tag = ""
    except (ElementTree.ParseError, UnicodeDecodeError, OSError) as exc:
        raise ModelError(f"{path}: not an OpenVINO model (not XML: {exc}); {EXPORT_AGAIN}") from None
    if tag != "net":
        raise ModelError(f"{path}: not an OpenVINO model (an XML file whose root is <{tag}>, not <net>)")
    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise ModelError(f"{path}: the weights {weights.name} are missing beside it; copy the whole model folder")


def openvino_metadata(path: Path) -> dict[str, Any]:
    """``metadata.yaml`` beside an OpenVINO model (class names, input mode, precision); {} when absent."""
    meta_file = path.with_name("metadata.yaml")
    if not meta_file.is_file():
        return {}
    try:
        data = yaml.safe_load(meta_file.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelError(f"{meta_file}: not readable YAML ({str(exc).splitlines()[0]}); {EXPORT_AGAIN}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{meta_file}: expected a mapping (names, input_mode, precision); {EXPORT_AGAIN}")
    return data
