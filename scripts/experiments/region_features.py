"""Do geometric features of a template-detector region name it better on unseen boards than the rules?

For every shared DeepPCB pair (and a re-capture of its template), the golden-template detector's regions
are measured from the full-resolution masks of the board and its registered template (polarity, size,
thickness, how the difference touches the conductors, pieces and holes around it at several window
sizes) and labelled like ``inspection dataset crops`` labels them. Writes a table (``.npz``) that
``--score`` scores per board group: both versions of the topology rules of ``calibration/defect_kinds.py``,
and a classifier learnt on the other six groups' features (scikit-learn's gradient boosting; not a
dependency of the station: ``pip install scikit-learn``).

Measured 2026-12-06 (12,820 regions, 6,824 of them labelled defects), defect regions named right per held-out
group 00041 13000 20085 44000 50600 77000 92000: rules version 1 0.987 0.960 0.978 0.907 0.950 0.977 0.979
(mean 0.963); version 2 0.995 0.985 0.979 0.966 0.968 0.994 0.992 (mean 0.983); learnt from these features
0.992 0.984 0.963 0.891 0.989 0.975 0.992 (mean 0.969; it also rejects most non-defects, but only 31% of
44000's). The rules generalise best to a new board design; version 2 ships.

    python scripts/experiments/region_features.py /tmp/regions.npz            # ~5 min on 2 cores
    python scripts/experiments/region_features.py /tmp/regions.npz --score    # needs scikit-learn
"""

from __future__ import annotations

import argparse
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from calibration.defect_kinds import DEFECT_KINDS, Window, classify, holes, pieces
from calibration.golden import GoldenTemplate, Region
from inspection.core.boxes import Box
from inspection.core.types import Detection
from inspection.detectors.template_backend import read_config
from inspection.ml.dataset.deeppcb import read_deeppcb, recaptured
from inspection.ml.dataset.region_crops import label_regions

PROPOSALS = Path("configs/detectors/golden-template.yaml")
CLASSES = [*DEFECT_KINDS, "none"]
MARGIN = read_config(PROPOSALS).box_margin_px  # as the detector grows its boxes


def features(region: Region, seen: np.ndarray, good: np.ndarray) -> list[float]:
    """Geometry of one region (seen / good: foreground masks of the board and the registered template)."""
    extra = region.polarity == "extra"
    x1, y1, x2, y2 = region.box
    w, h = x2 - x1, y2 - y1
    near = Window.around(region, seen, good, 3)
    local = (near.seen & ~near.good) if extra else (near.good & ~near.seen)
    count, labels = cv2.connectedComponents(local.astype(np.uint8), connectivity=8)
    if count > 1:  # the largest piece of difference inside the box
        sizes = np.bincount(labels.ravel())[1:]
        local = labels == 1 + int(sizes.argmax())
    ring = cv2.dilate(local.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~local
    good_near, seen_near = near.good, near.seen
    thick = cv2.distanceTransform(local.astype(np.uint8), cv2.DIST_L2, 3)
    track = cv2.distanceTransform(good_near.astype(np.uint8), cv2.DIST_L2, 3)
    gap = cv2.distanceTransform((~good_near).astype(np.uint8), cv2.DIST_L2, 3)
    # template conductors the difference touches (extra copper bridging two of them is a short)
    _pieces_count, comp = cv2.connectedComponents(good_near.astype(np.uint8), connectivity=8)
    touched = len(set(np.unique(comp[ring & good_near])) - {0})
    row = [
        float(extra),
        np.log1p(region.area_px),
        np.log1p(max(w, h)),
        min(w, h) / max(w, h, 1),
        region.area_px / max(w * h, 1),
        float(thick.max()),
        float(ring.sum() and (ring & good_near).sum() / ring.sum()),  # share of its border on the template's copper
        float(ring.sum() and (ring & seen_near).sum() / ring.sum()),
        float(touched),
        float(np.median(track[good_near]) if good_near.any() else 0.0),  # local conductor half-width
        float(np.median(gap[~good_near]) if (~good_near).any() else 0.0),
        float(good_near.mean()),
    ]
    for pad in (6, 12, 24):
        window = Window.around(region, seen, good, pad)
        row.append(float(pieces(window.seen).total - pieces(window.good).total))
        row.append(float(holes(window.seen) - holes(window.good)))
    return row


def _label(regions: list[Region], truth: list[tuple[int, Box]], shape: tuple[int, int]) -> list[str]:
    """Each region's class as ``inspection dataset crops`` gives it (its box grown as the detector grows it)."""
    height, width = shape
    found = [
        Detection(
            "region",
            0,
            1.0,
            (max(0, x1 - MARGIN), max(0, y1 - MARGIN), min(width, x2 + MARGIN), min(height, y2 + MARGIN)),
        )
        for x1, y1, x2, y2 in (r.box for r in regions)
    ]
    return label_regions(found, truth, list(DEFECT_KINDS))


def _one_image(board: np.ndarray, template_image: np.ndarray, truth: list, settings) -> list[tuple]:
    template = GoldenTemplate.from_image(template_image, settings.edge_px)
    comparison = template.compare(board, settings)
    seen, good = board < 128, comparison.aligned < 128
    labels = _label(comparison.regions, truth, board.shape)
    return [
        (features(r, seen, good), label, classify(r, seen, good, 1), classify(r, seen, good, 2))
        for r, label in zip(comparison.regions, labels, strict=True)
    ]


def _pair_rows(args: tuple) -> list[tuple[list[float], str, str, str, str]]:
    group, test_path, template_path, boxes = args
    settings = read_config(PROPOSALS).settings()
    board = cv2.imread(str(test_path), cv2.IMREAD_GRAYSCALE)
    template = cv2.imread(str(template_path), cv2.IMREAD_GRAYSCALE)
    truth = [(int(b[4]), tuple(b[:4])) for b in boxes]
    rows = [(*row, group) for row in _one_image(board, template, truth, settings)]
    rng = np.random.default_rng(zlib.crc32(Path(template_path).name.encode()))
    rows += [(*row, group) for row in _one_image(recaptured(template, rng), template, [], settings)]
    return rows


def build(source: Path, out: Path) -> None:
    pairs = read_deeppcb(source).pairs
    jobs = [(p.group, p.test_image, p.template_image, p.boxes) for p in pairs]
    table = []
    with ProcessPoolExecutor(2) as pool:
        for number, rows in enumerate(pool.map(_pair_rows, jobs, chunksize=8), start=1):
            table += rows
            if number % 100 == 0:
                print(f"{number}/{len(jobs)} pairs, {len(table)} regions", flush=True)
    np.savez(
        out,
        x=np.array([r[0] for r in table], np.float32),
        y=np.array([CLASSES.index(r[1]) for r in table]),
        rule=np.array([CLASSES.index(r[2]) for r in table]),
        rule2=np.array([CLASSES.index(r[3]) for r in table]),
        group=np.array([r[4] for r in table]),
    )


def score(table: Path) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415

    data = np.load(table)
    x, y, rule, rule2, group = data["x"], data["y"], data["rule"], data["rule2"], data["group"]
    none = CLASSES.index("none")
    print("group       regions  defects  rules 1 (defects)  rules 2  learnt(defects)  learnt(all)  none-recall")
    for held in sorted(set(group)):
        test = group == held
        model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, random_state=0)
        model.fit(x[~test], y[~test])
        guess = model.predict(x[test])
        defect = y[test] != none
        print(
            f"{held}  {test.sum():7d}  {defect.sum():7d}  {np.mean(rule[test][defect] == y[test][defect]):17.3f}"
            f"  {np.mean(rule2[test][defect] == y[test][defect]):7.3f}"
            f"  {np.mean(guess[defect] == y[test][defect]):15.3f}  {np.mean(guess == y[test]):11.3f}"
            f"  {np.mean(guess[~defect] == none):11.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", type=Path)
    parser.add_argument("--source", type=Path, default=Path("../shared/datasets/deeppcb"))
    parser.add_argument("--score", action="store_true")
    args = parser.parse_args()
    if args.score:
        score(args.table)
    else:
        build(args.source, args.table)


if __name__ == "__main__":
    main()
