"""The per-position patch memory: for parts that are aligned (fixtured, or cut and straightened like solar
cells), each patch compared only with the good parts' patches at the same place of the part, so that a feature
that is fine at one place and wrong at another (a busbar where a cell has none) is caught; the position-free
memory (``memory.py``) cannot see it. Parts that are not aligned get nothing from it (and lose by it).

Whether the parts are aligned is judged on good parts alone (``position_ratio``): the held-out good parts'
patches, each one's distance to the nearest good patch at its own position against its distance to the nearest
good patch at another position (as many kept at each): aligned parts find their own position's patches nearer
(measured 2026-12-08: ELPV's cells 0.57, the synthetic cells of the tests 0.59-0.61), parts that are not
aligned about as near (DeepPCB crops turned at random 0.97-1.03, random crops of the test boards 0.88-0.93). The
per-position term then replaces the position-free patch term, and its peak and the whole-part term are summed
(``calibration.py``: ``whole``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from inspection.ml.anomaly.memory import PROJECTION_DIMS, FloatArray

PER_POSITION = 128  # good patches kept at each position (a greedy coreset of the fitted parts' patches there) ...
POSITIONS_BUDGET = 65_536  # ... but at most this many in all (25 MB): fewer at each of many positions, at least 8
ALIGNED_BELOW = 0.72  # the held-out good parts' median distance ratio (own position / another) of aligned parts
SAMPLED = 32  # patches of each held-out part the ratio is measured on
BORDER = 2  # cells of the map's border left out of the ratio (the trunk's padding makes them depend on position)
NOTHING_TO_TELL = 1e-6  # a patch's mean distance to good patches elsewhere below which nothing tells positions
RATIO = "position_ratio"  # each held-out part's median ratio, kept with the raw term values


def kept_per_position(positions: int) -> int:
    """How many good patches the memory keeps at each of ``positions`` (``PER_POSITION``, ``POSITIONS_BUDGET``)."""
    return max(8, min(PER_POSITION, POSITIONS_BUDGET // positions))


def position_memory(
    maps: FloatArray, size: int | None = None, seed: int = 0, progress: Callable[[int, int], None] | None = None
) -> FloatArray:
    """(N, h * w, D) standardised patch maps of the fitted parts -> (h * w, K, D): at each position the greedy
    coreset (each next patch the one farthest from those chosen, as ``memory.greedy_coreset``) of the N parts'
    patches there, K = min(size, N) (by default ``kept_per_position``); all positions chosen together."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    generator = torch.Generator().manual_seed(seed)
    patches = torch.from_numpy(np.ascontiguousarray(maps.transpose(1, 0, 2)))  # (h * w, N, D)
    positions, count, dims = patches.shape
    projection = torch.randn(dims, PROJECTION_DIMS, generator=generator) / PROJECTION_DIMS**0.5
    projected = patches @ projection
    size = min(size or kept_per_position(positions), count)
    rows = torch.arange(positions)
    chosen = [torch.randint(count, (positions,), generator=generator)]
    nearest = ((projected - projected[rows, chosen[0]].unsqueeze(1)) ** 2).sum(-1)
    for step in range(1, size):
        chosen.append(nearest.argmax(1))
        nearest = torch.minimum(nearest, ((projected - projected[rows, chosen[-1]].unsqueeze(1)) ** 2).sum(-1))
        if progress is not None and (step % 32 == 0 or step == size - 1):
            progress(step + 1, size)
    picks = torch.stack(chosen, 1)  # (h * w, K)
    return patches[rows.unsqueeze(1), picks].numpy().astype(np.float32)  # type: ignore[no-any-return]


def position_ratio(features: Any, at_position: FloatArray, memory: Any, seed: int) -> float:
    """One part's distances to the nearest good patch at the same position (its map ``at_position``, (h, w))
    against its distances to the nearest good patch at another position (as many kept there), each summed over
    ``SAMPLED`` of its patches away from the border (where padding makes any part's patches depend on their
    position): near 1 where a patch could be anywhere, well below where the good patches at its own position are
    like it and those elsewhere are not (aligned parts); 1 for a part too small to tell or whose patches all match
    good patches elsewhere exactly. ``features``: (1, D, h, w), standardised; ``memory``: (h * w, K, D)."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    _, dims, height, width = features.shape
    rows, cols = range(BORDER, height - BORDER), range(BORDER, width - BORDER)
    inner = np.array([y * width + x for y in rows for x in cols], np.int64)
    if len(inner) < 2:
        return 1.0
    rng = np.random.default_rng(seed)
    picks = rng.choice(inner, min(SAMPLED, len(inner)), replace=False)
    others = inner[(np.searchsorted(inner, picks) + rng.integers(1, len(inner), len(picks))) % len(inner)]
    patches = features[0].reshape(dims, -1).T[torch.from_numpy(picks)]  # (S, D)
    with torch.no_grad():
        elsewhere = ((patches[:, None] - memory[torch.from_numpy(others)]) ** 2).sum(-1).min(-1).values.sqrt()
    own, other = float(at_position.reshape(-1)[picks].sum()), float(elsewhere.sum())
    return own / other if other > NOTHING_TO_TELL * len(picks) else 1.0


def alignment(ratios: FloatArray, memory: Any) -> dict[str, float | bool]:
    """Whether the parts are aligned, from the held-out good parts' ratios (``position_ratio``); and how many good
    patches the per-position ``memory`` keeps at each position."""
    ratio = float(np.median(ratios))
    return {
        "median_ratio": round(ratio, 3),
        "aligned_below": ALIGNED_BELOW,
        "aligned": ratio < ALIGNED_BELOW,
        "per_position": int(memory.shape[1]),
    }
