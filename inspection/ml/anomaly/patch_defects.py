"""Made-up defects at the patch level: where on a part they are, learnt from good parts alone.

The patch network's memory term (the distance of each patch to the nearest good one) measures how unusual a
patch is, on features of an untrained trunk; on grey parts it has mostly done worse than leaving it out. Here the
same features learn what a defect looks like: each good part (scaled to ``DETAIL_PX`` square, in its own colours)
gets ``COPIES`` copies with one made-up defect each (``made_up.py``: a crack, a region, spots), and a small
head (two 1 x 1 convolutions) learns, for every patch, whether a made-up defect covers it. Its logit map, averaged
over turns of the part (``TURNS``; in the exported network: ``network.build_scorer``), is the term *patch
defects*: its peak joins the whole-part term (summed, like the statistics' defect direction) where made-up
defects on the held-out parts are found better with it, each kind judged by a head taught only the other kinds
(``calibration.py``), and its map says where a failing part is wrong (measured on local defects of parts not
aligned: ``scripts/experiments/grey_crops.py``). Seeded and resumable (each batch's examples kept in
``work/patch-defects-NNNN.npz``, the heads in ``work/patch-head.npz`` and ``work/patch-head-without-K.npz``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from inspection.core.atomic import save_arrays_atomic
from inspection.core.types import Image
from inspection.detectors.anomaly_features import AnomalyFeatures
from inspection.detectors.image_statistics import DETAIL_PX
from inspection.detectors.processing import to_bgr
from inspection.ml.anomaly.good_images import in_batches, read_all
from inspection.ml.anomaly.made_up import KINDS, defect_and_mask
from inspection.ml.anomaly.memory import FloatArray
from inspection.ml.anomaly.network import STRIDE, build_scorer, turned_back_mean
from inspection.ml.evaluation.anomaly_metrics import auroc

COPIES = 2  # made-up copies of each training part
HIDDEN = 64  # channels of the head's hidden layer
EPOCHS = 40
COVERED = 0.05  # a patch counts as defective where the made-up defect covers this share of it
PLAIN_SAMPLE = 64  # patches of each plain part kept as examples (all of a copy's defective ones are)
STEP_BATCH = 1024  # patch examples per optimiser step
PLAIN = -1  # the kind of a plain part's examples
TURNS = 2  # by default the map is the mean of the head's maps of the part as it is and turned by 90 degrees
TURN_CHOICES = (1, 2, 4)  # 4: by 0, 90, 180 and 270 degrees, twice the network's time of 2
Reporter = Callable[[str, int, int], None]

if TYPE_CHECKING:
    from inspection.ml.anomaly.training import AnomalySettings


def build_head(dims: int, seed: int) -> Any:
    """The head: standardised patch features (N, dims, h, w) -> defect logits (N, 1, h, w)."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from torch import nn  # noqa: PLC0415  (heavy SDK, loaded only when used)

    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(dims, HIDDEN, 1), nn.ReLU(), nn.Conv2d(HIDDEN, 1, 1)).eval()


def plain_and_copies(image: Image, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """The part (BGR, ``DETAIL_PX`` square) and ``COPIES`` copies with a made-up defect; the masks (zero for the
    part) and the defects' kinds (``PLAIN`` for the part)."""
    part = cv2.resize(to_bgr(image), (DETAIL_PX, DETAIL_PX), interpolation=cv2.INTER_AREA)
    drawn = [defect_and_mask(part, rng) for _ in range(COPIES)]
    masks = [np.zeros(part.shape[:2], np.float32)] + [mask for _, mask, _ in drawn]
    return [part] + [copy for copy, _, _ in drawn], masks, [PLAIN] + [kind for _, _, kind in drawn]


def _examples(
    images: list[Image], standard: Any, inputs: AnomalyFeatures, imgsz: int, seed: int
) -> dict[str, np.ndarray]:
    """The patch examples of some parts: standardised features (``standard``: a scorer without memory or head,
    whose ``features`` the heads are taught on) and whether a made-up defect covers them."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    rng = np.random.default_rng(seed)
    grid = imgsz // STRIDE
    features, targets, kinds = [], [], []
    for image in images:
        parts, masks, drawn = plain_and_copies(image, rng)
        batch = np.concatenate([inputs.network_input(part, imgsz) for part in parts])
        with torch.no_grad():
            maps = standard.features(torch.from_numpy(batch)).numpy()
        flat = maps.transpose(0, 2, 3, 1).reshape(len(parts), grid * grid, -1)
        for number, (mask, kind) in enumerate(zip(masks, drawn, strict=True)):
            covered = cv2.resize(mask, (grid, grid), interpolation=cv2.INTER_AREA).reshape(-1) > COVERED
            keep = np.flatnonzero(covered)
            clean = np.flatnonzero(~covered)
            keep = np.concatenate([keep, rng.choice(clean, min(PLAIN_SAMPLE, len(clean)), replace=False)])
            features.append(flat[number, keep])
            targets.append(covered[keep])
            kinds.append(np.full(len(keep), kind, np.int8))
    arrays = {"features": np.concatenate(features).astype(np.float16), "targets": np.concatenate(targets)}
    return arrays | {"kinds": np.concatenate(kinds)}


def patch_examples(
    paths: list[Path], standard: Any, inputs: AnomalyFeatures, imgsz: int, work: Path, seed: int,
    report: Reporter,
) -> tuple[FloatArray, np.ndarray, np.ndarray]:  # fmt: skip
    """Every training part's patch examples (features, covered or not, the kind of defect drawn on their part),
    a batch of parts at a time, kept in ``work``."""
    batches = in_batches(paths)
    for number, batch in enumerate(batches):
        path = work / f"patch-defects-{number:04d}.npz"
        if not path.is_file():
            save_arrays_atomic(path, _examples(read_all(batch), standard, inputs, imgsz, seed + number))
        report("patch defects", number + 1, len(batches))
    found = [np.load(work / f"patch-defects-{n:04d}.npz") for n in range(len(batches))]
    features = np.concatenate([f["features"] for f in found]).astype(np.float32)
    return features, np.concatenate([f["targets"] for f in found]), np.concatenate([f["kinds"] for f in found])


def fit_head(features: FloatArray, targets: np.ndarray, seed: int, report: Reporter) -> Any:
    """The head fitted to tell covered patches (1) from the rest (0), the classes weighed alike."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    head = build_head(features.shape[1], seed)
    inputs = torch.from_numpy(features)[:, :, None, None]
    labels = torch.from_numpy(targets.astype(np.float32))[:, None, None, None]
    covered = max(float(labels.mean()), 1e-6)
    weight = torch.tensor((1 - covered) / covered)
    optimiser = torch.optim.Adam(head.parameters(), 1e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    head.train()
    for epoch in range(EPOCHS):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), STEP_BATCH):
            chosen = order[start : start + STEP_BATCH]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                head(inputs[chosen]), labels[chosen], pos_weight=weight
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        report("patch defects' head", epoch + 1, EPOCHS)
    return head.eval()


def save_head(head: Any, path: Path) -> None:
    save_arrays_atomic(path, {name: value.detach().numpy() for name, value in head.state_dict().items()})


def load_head(path: Path, dims: int, seed: int) -> Any:
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    head = build_head(dims, seed)
    with np.load(path) as saved:
        head.load_state_dict({name: torch.from_numpy(saved[name]) for name in saved.files})
    return head.eval()


@dataclass(frozen=True)
class PatchDefectHeads:
    """The head taught every kind of made-up defect (the one the model keeps), and for each kind one taught the
    others: the fair judge of whether the head helps, by how it finds a kind of defect it never saw, as a
    product's real defects are (``calibration.py``)."""

    head: Any
    without: dict[int, Any]  # kind left out -> head
    turns: int  # of the part, each map is averaged over

    def unseen_peaks(self, features: Any) -> dict[int, FloatArray]:
        """For each kind left out, the peak of its head's map on each part, the map averaged over the ``turns``
        of the part as the network's (``features``: the scorer's of the parts' turns, ``network.turned``)."""
        import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

        with torch.no_grad():
            return {
                kind: turned_back_mean(head(features), self.turns).flatten(1).max(1).values.numpy()
                for kind, head in self.without.items()
            }


def _fitted(path: Path, features: FloatArray, targets: np.ndarray, seed: int, report: Reporter) -> Any:
    """A head fitted once and kept in ``path`` (a resumed run takes it as it was)."""
    if path.is_file():
        return load_head(path, features.shape[1], seed)
    head = fit_head(features, targets, seed, report)
    save_head(head, path)
    return head


def patch_defects_head(
    paths: list[Path], trunk: Any, mean: FloatArray, scale: FloatArray, settings: AnomalySettings, report: Reporter
) -> tuple[PatchDefectHeads, dict[str, Any]]:
    """The fitted heads (kept in the run's ``work``) and the card's summary of the one the model keeps."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    inputs, imgsz, work, seed = settings.inputs, settings.imgsz, settings.out / "work", settings.seed
    standard = build_scorer(trunk, mean, scale, None)  # its features: standardised as the model's
    features, targets, kinds = patch_examples(paths, standard, inputs, imgsz, work, seed, report)
    head = _fitted(work / "patch-head.npz", features, targets, seed, report)
    without = {}
    for kind in range(len(KINDS)):
        taught = kinds != kind
        path = work / f"patch-head-without-{kind}.npz"
        without[kind] = _fitted(path, features[taught], targets[taught], seed, report)
    sample = np.random.default_rng(seed).choice(len(targets), min(len(targets), 20_000), replace=False)
    with torch.no_grad():
        logits = head(torch.from_numpy(features[sample])[:, :, None, None]).numpy().reshape(-1)
    fitted = auroc(list(logits[~targets[sample]]), list(logits[targets[sample]]))
    summary = {
        "copies_per_part": COPIES,
        "turns": settings.turns,
        "epochs": EPOCHS,
        "patch_examples": len(targets),
        "covered_patches": int(targets.sum()),
        "fitted_auroc": None if fitted is None else round(fitted, 4),
    }
    return PatchDefectHeads(head, without, settings.turns), summary
