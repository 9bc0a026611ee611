"""Made-up defects (``inspection/ml/anomaly/made_up.py``): drawn the same way for the same seed, darker or
brighter; the statistics' direction fitted on real part crops tells the copies from the plain parts; and the
choice of the patch term follows the held-out copies' AUROC, a tie keeping it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from anomaly_parts import make_parts

from inspection.core.images import load_image
from inspection.detectors.anomaly_backend import TermScale
from inspection.detectors.image_statistics import GoodStatistics, detail_statistics
from inspection.ml.anomaly.calibration import patch_choice
from inspection.ml.anomaly.made_up import copies, defect_direction, made_up_defect, made_up_statistics
from inspection.ml.evaluation.anomaly_metrics import auroc


def test_made_up_defects_are_seeded_and_go_both_ways() -> None:
    part = np.random.default_rng(1).integers(100, 156, (320, 320)).astype(np.uint8)  # a texture around 128
    first = [made_up_defect(part, np.random.default_rng(7)) for _ in range(2)]
    assert np.array_equal(first[0], first[1]) and not np.array_equal(first[0], part)
    rng = np.random.default_rng(0)
    moved = [made_up_defect(part, rng).astype(int) - part for _ in range(60)]
    assert any(m.min() < -20 for m in moved) and any(m.max() > 10 for m in moved)  # darker, and brighter
    assert all(np.count_nonzero(m) < 0.5 * m.size for m in moved)  # a defect, not a new part


def test_the_direction_fitted_on_made_up_defects_tells_them_apart(tmp_path: Path) -> None:
    parts = make_parts(tmp_path / "parts", blur=2.0, per_board=8)
    paths = sorted((parts / "good").glob("*.png"))
    plain, defective = made_up_statistics(paths, detail_statistics, tmp_path, seed=0, report=lambda d, t: None)
    assert plain.shape == defective.shape == (len(paths), len(detail_statistics(np.zeros((32, 32), np.uint8))))
    again = made_up_statistics(paths, detail_statistics, tmp_path, seed=0, report=lambda d, t: None)  # kept
    assert np.array_equal(again[1], defective)
    good = defect_direction(GoodStatistics.of(plain), plain, defective, seed=0)
    assert good.defect_weights is not None
    fitted = auroc([good.defect_logit(v) for v in plain], [good.defect_logit(v) for v in defective])
    assert fitted is not None and fitted > 0.65
    # copies of parts it never saw: plain and made-up, scored by the same direction
    unseen = [load_image(p) for p in sorted((parts / "test" / "good").glob("*.png"))]
    plain_copies, made_up_copies = copies(unseen, seed=1)
    held = auroc(
        [good.defect_logit(detail_statistics(p)) for p in plain_copies],
        [good.defect_logit(detail_statistics(d)) for d in made_up_copies],
    )
    assert held is not None and held > 0.6


def _trial(patch_noise: bool) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    plain = {"image": rng.normal(0, 0.3, 40), "defects": rng.normal(0, 0.3, 40)}
    made_up = {"image": rng.normal(3, 0.3, 40), "defects": rng.normal(3, 0.3, 40)}
    if patch_noise:  # a patch term that finds no made-up defect, with a heavy good tail
        plain["patches"], made_up["patches"] = rng.exponential(1.0, 40) * 3, rng.exponential(1.0, 40) * 3
    else:  # as sure as the statistics
        plain["patches"], made_up["patches"] = rng.normal(0, 0.3, 40), rng.normal(3, 0.3, 40)
    return {"plain": plain, "made_up": made_up}


def test_the_patch_term_joins_unless_made_up_defects_are_found_better_without_it() -> None:
    unit = TermScale(0.0, 1.0)
    scales = {"image": unit, "defects": unit, "part": TermScale(0.0, 2.0)}
    noisy = patch_choice(scales, unit, _trial(patch_noise=True))
    assert noisy is not None and noisy["patches_scored"] is False
    assert noisy["with_patches"] < noisy["without_patches"]
    sure = patch_choice(scales, unit, _trial(patch_noise=False))
    assert sure is not None and sure["with_patches"] == sure["without_patches"] == 1.0
    assert sure["patches_scored"] is True  # a tie keeps it: its map gives the boxes
    assert patch_choice(scales, unit, {}) is None  # no copies (two-level parts, or a model without the direction)
