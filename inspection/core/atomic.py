"""Replace a small file so that a crash leaves the old or the new content, never half of either."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``path.partial``, fsync it, rename it over ``path``."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def save_array_atomic(path: Path, array: np.ndarray) -> None:
    """``np.save`` to ``NAME.partial.npy``, renamed over ``path`` (a ``.npy`` file)."""
    partial = path.with_name(path.stem + ".partial.npy")
    np.save(partial, array)
    partial.replace(path)


def save_arrays_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` to ``NAME.partial.npz``, renamed over ``path`` (a ``.npz`` file)."""
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, **arrays)  # type: ignore[arg-type]
    partial.replace(path)
