"""The trunks an anomaly model can start from (``inspection train --task anomaly --trunk NAME``), by name:

- ``procedural`` (the default since 2026-12-07): the trunk pre-trained on procedural images by
  ``scripts/train_anomaly_trunk.py`` (``pretraining.py``), shipped in ``models/anomaly-trunk/`` with its card;
- ``random``: the same network with seeded random weights, untrained (every model trained before).

A model does not need its trunk's file to run: the trunk is inside its ONNX file. Training checks the shipped
file against the sha256 in its card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from inspection.config.files import PROJECT_ROOT
from inspection.core.errors import StationError
from inspection.core.hashing import file_sha256
from inspection.ml.anomaly.network import TAPS, WIDTHS, build_trunk

TRUNK_FOLDER = PROJECT_ROOT / "models" / "anomaly-trunk"
WEIGHTS_FILE, CARD_FILE = "trunk.npz", "trunk.yaml"
DEFAULT_TRUNK = "procedural"


def _described(weights: str) -> str:
    """The card's line for the trunk with these weights."""
    widths, strides = "/".join(map(str, WIDTHS)), " and ".join(str(2 ** (tap + 1)) for tap in TAPS)
    return f"{len(WIDTHS)}-stage CNN, widths {widths}, {weights}; taps at strides {strides}"


def _random(seed: int, folder: Path) -> tuple[Any, str]:
    return build_trunk(seed), _described(f"Kaiming-normal weights of seed {seed}, untrained")


def _procedural(seed: int, folder: Path) -> tuple[Any, str]:
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    weights, card = folder / WEIGHTS_FILE, folder / CARD_FILE
    if not weights.is_file() or not card.is_file():
        raise StationError(f"{folder}: no pre-trained trunk ({WEIGHTS_FILE}, {CARD_FILE}); restore it from the "
                           "repository, run scripts/train_anomaly_trunk.py, or train with --trunk random")  # fmt: skip
    try:
        expected = str((yaml.safe_load(card.read_text()) or {}).get("sha256", ""))
    except (yaml.YAMLError, AttributeError) as exc:
        raise StationError(f"{card}: not a trunk card ({exc}); restore it from the repository") from None
    if file_sha256(weights) != expected:
        raise StationError(f"{weights}: its sha256 differs from {card.name}'s; restore the file from the repository "
                           "or run scripts/train_anomaly_trunk.py again")  # fmt: skip
    trunk = build_trunk(0)
    with np.load(weights) as data:
        trunk.load_state_dict({name: torch.from_numpy(data[name]) for name in data.files})
    return trunk.eval(), _described(f"pre-trained on procedural images ({folder.name}, sha256 {expected[:12]})")


TRUNKS: dict[str, Callable[[int, Path], tuple[Any, str]]] = {"procedural": _procedural, "random": _random}


@dataclass(frozen=True)
class TrunkChoice:
    name: str = DEFAULT_TRUNK
    folder: Path = TRUNK_FOLDER

    def check(self) -> None:
        if self.name not in TRUNKS:
            raise StationError(f"--trunk {self.name}: give one of {', '.join(TRUNKS)} (default {DEFAULT_TRUNK})")

    def build(self, seed: int) -> tuple[Any, str]:
        """The trunk (an ``nn.ModuleList``) and the card's line naming it."""
        self.check()
        return TRUNKS[self.name](seed, self.folder)
