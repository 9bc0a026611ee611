"""The good parts' patch memory: a greedy coreset (as PatchCore chooses it) that covers every good patch
with a fixed number of them, so that the nearest-patch distance of a good part stays small everywhere."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
PROJECTION_DIMS = 32  # the coreset is chosen on a random projection of the features (distances kept roughly)


def greedy_coreset(
    patches: FloatArray, size: int, seed: int = 0, progress: Callable[[int, int], None] | None = None
) -> npt.NDArray[np.int64]:
    """Indices of ``size`` patches: each next one the patch farthest from all chosen so far."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    generator = torch.Generator().manual_seed(seed)
    data = torch.from_numpy(patches)
    projection = torch.randn(data.shape[1], PROJECTION_DIMS, generator=generator) / PROJECTION_DIMS**0.5
    projected = data @ projection
    size = min(size, len(projected))
    chosen = [int(torch.randint(len(projected), (1,), generator=generator))]
    nearest = ((projected - projected[chosen[0]]) ** 2).sum(1)
    for step in range(1, size):
        chosen.append(int(nearest.argmax()))
        nearest = torch.minimum(nearest, ((projected - projected[chosen[-1]]) ** 2).sum(1))
        if progress is not None and (step % 256 == 0 or step == size - 1):
            progress(step + 1, size)
    return np.asarray(chosen, np.int64)


def standardise(patches: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-feature mean and scale of the good patches."""
    mean = patches.mean(axis=0, dtype=np.float64).astype(np.float32)
    scale = (patches.std(axis=0, dtype=np.float64) + 1e-6).astype(np.float32)
    return mean, scale
