"""Made-up defects: what the anomaly model learns from good parts alone about which of their statistics a defect
moves (``scripts/experiments/anomaly_synthetic.py`` measured it on ELPV).

Each good part is scaled to the statistics' finer size (``DETAIL_PX``) and gets a copy with one made-up
defect: a thin polyline (a crack, a scratch), a soft ellipse (a region gone dark, a stain) or a few spots (pores,
dirt), darker or, for a third of them, brighter; or a piece of the part pasted elsewhere on it, turned (as
CutPaste does: a feature in the wrong place, in the part's own texture). A logistic regression of the
standardised image statistics learns to tell the plain parts from their copies: the direction in which a defect
moves the statistics and good parts do not (a grained surface's own spread counts less than with the
nearest-good distance, which weighs every statistic alike). Parts and copies are both scaled the same way, so
the fit cannot learn the scaling itself. Seeded: the same images give the same copies.

The same copies of the held-out good parts then say whether the patch term helps the whole-part term
(``calibration.py``): a product whose made-up defects the patch network does not find better leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from inspection.core.atomic import save_array_atomic
from inspection.core.channels import grey
from inspection.core.types import Image
from inspection.detectors.image_statistics import DETAIL_PX, GoodStatistics, Vector
from inspection.ml.anomaly.good_images import in_batches, read_all

BRIGHT_SHARE = 1 / 3  # of the made-up defects brighter than the part, the rest darker
DECAY = 0.01  # weight decay of the logistic regression
STEPS = 500
Statistics = Callable[[Image], Vector]
Shade = Callable[[np.ndarray, np.random.Generator], float]  # draws a mask in place, gives how much it darkens
Drawing = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]  # part -> copy, mask


def plain(image: Image) -> np.ndarray:
    """The part as the made-up defects are drawn on it: grey, scaled to ``DETAIL_PX`` square."""
    part: np.ndarray = cv2.resize(grey(image), (DETAIL_PX, DETAIL_PX), interpolation=cv2.INTER_AREA)
    return part


def _crack(mask: np.ndarray, rng: np.random.Generator) -> float:
    size = mask.shape[0]
    points = [(int(rng.integers(size)), int(rng.integers(size)))]
    for _ in range(int(rng.integers(1, 4))):
        angle, length = rng.uniform(0, np.pi), rng.uniform(0.1, 0.6) * size
        x, y = points[-1]
        points.append(
            (
                int(np.clip(x + length * np.cos(angle), 0, size - 1)),
                int(np.clip(y + length * np.sin(angle), 0, size - 1)),
            )
        )
    cv2.polylines(mask, [np.array(points, np.int32)], False, 1.0, int(rng.integers(1, 3)))
    return float(rng.uniform(0.2, 0.6))


def _region(mask: np.ndarray, rng: np.random.Generator) -> float:
    size = mask.shape[0]
    centre = (int(rng.integers(size)), int(rng.integers(size)))
    axes = (int(rng.uniform(0.05, 0.3) * size), int(rng.uniform(0.03, 0.15) * size))
    cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    mask[:] = cv2.GaussianBlur(mask, (0, 0), 3)
    return float(rng.uniform(0.3, 0.8))


def _spots(mask: np.ndarray, rng: np.random.Generator) -> float:
    size = mask.shape[0]
    for _ in range(int(rng.integers(1, 6))):
        cv2.circle(mask, (int(rng.integers(size)), int(rng.integers(size))), int(rng.integers(2, 6)), 1.0, -1)
    return float(rng.uniform(0.3, 0.7))


SHADES = (_crack, _region, _spots)  # the kinds drawn as a shade over the part


def _shaded(draw_mask: Shade) -> Drawing:
    """The drawing of a part darker (or, for ``BRIGHT_SHARE`` of them, brighter) by a share under the mask
    ``draw_mask`` draws."""

    def drawing(part: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros(part.shape[:2], np.float32)
        amount = draw_mask(mask, rng)
        if rng.random() < BRIGHT_SHARE:
            amount = -0.6 * amount
        shade = 1 - amount * (mask if part.ndim == 2 else mask[..., None])
        return np.clip(part.astype(np.float32) * shade, 0, 255).astype(np.uint8), mask

    return drawing


def _pasted(part: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The part with a rectangle (8-25% of its side each way) replaced by another piece of it, turned by a
    multiple of 90 degrees; the mask: that rectangle."""
    size = part.shape[0]
    height, width = (int(rng.uniform(0.08, 0.25) * size) for _ in range(2))
    y, x = int(rng.integers(size - height)), int(rng.integers(size - width))
    mask = np.zeros(part.shape[:2], np.float32)
    mask[y : y + height, x : x + width] = 1.0
    turns = int(rng.integers(4))
    side_y, side_x = (width, height) if turns % 2 else (height, width)
    from_y, from_x = int(rng.integers(size - side_y)), int(rng.integers(size - side_x))
    copy = part.copy()
    copy[y : y + height, x : x + width] = np.rot90(part[from_y : from_y + side_y, from_x : from_x + side_x], turns)
    return copy, mask


DRAWINGS: dict[str, Drawing] = {
    "a thin polyline (crack, scratch)": _shaded(_crack),
    "a soft ellipse (dark or bright region)": _shaded(_region),
    "a few spots": _shaded(_spots),
    "a piece of the part pasted elsewhere, turned": _pasted,
}  # the made-up defects by what they are (the card lists them)
KINDS = tuple(DRAWINGS)
PASTED = KINDS.index("a piece of the part pasted elsewhere, turned")  # moves the part's own pixels (others shade it)


def made_up_defect(part: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of the (plain, square) part with one made-up defect of the ``KINDS``."""
    return defect_and_mask(part, rng)[0]


def defect_and_mask(part: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """``made_up_defect`` (grey or colour part), where it was drawn (a mask of the part's size, 0..1) and its
    kind (an index of ``KINDS``)."""
    kind = int(rng.integers(len(KINDS)))
    copy, mask = DRAWINGS[KINDS[kind]](part, rng)
    return copy, mask, kind


def copies(images: list[Image], seed: int, each: int = 1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each part plain, and ``each`` copies of it with a made-up defect (seeded)."""
    parts, defective, _ = drawn_copies(images, seed, each)
    return parts, defective


def drawn_copies(images: list[Image], seed: int, each: int = 1) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """``copies``, and the kind of each copy's defect."""
    rng = np.random.default_rng(seed)
    parts = [plain(image) for image in images]
    drawn = [defect_and_mask(part, rng) for part in parts for _ in range(each)]
    return parts, [copy for copy, _, _ in drawn], [kind for _, _, kind in drawn]


def made_up_statistics(
    paths: list[Path], statistics: Statistics, work: Path, seed: int, report: Callable[[int, int], None]
) -> tuple[Vector, Vector]:
    """The statistics of each part plain and with its made-up defect; a batch at a time, kept in ``work``."""
    batches = in_batches(paths)
    for number, batch in enumerate(batches):
        path = work / f"made-up-{number:04d}.npy"
        if not path.is_file():
            parts, defective = copies(read_all(batch), seed + number)
            pair = np.stack([[statistics(p) for p in parts], [statistics(d) for d in defective]]).astype(np.float32)
            save_array_atomic(path, pair)
        report(number + 1, len(batches))
    pairs = [np.load(work / f"made-up-{n:04d}.npy") for n in range(len(batches))]
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def defect_direction(
    good: GoodStatistics, parts: Vector, defective: Vector, seed: int, decay: float = DECAY
) -> GoodStatistics:
    """``good`` with the logistic regression of its standardised statistics, plain parts 0, made-up defects 1
    (weight decay ``decay``)."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    inputs = torch.from_numpy(np.concatenate([good.standard(parts), good.standard(defective)]))
    labels = torch.cat([torch.zeros(len(parts)), torch.ones(len(defective))])
    torch.manual_seed(seed)
    model = torch.nn.Linear(inputs.shape[1], 1)
    optimiser = torch.optim.Adam(model.parameters(), 1e-2, weight_decay=decay)
    for _ in range(STEPS):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(inputs)[:, 0], labels)
        loss.backward()
        optimiser.step()
    weights = model.weight.detach().numpy()[0].astype(np.float32)
    bias = float(model.bias.detach().numpy()[0])
    return GoodStatistics(good.vectors, good.mean, good.scale, weights, bias)
