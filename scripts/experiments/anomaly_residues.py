"""Can good boards alone, with no template, tell a defective DeepPCB board of a design never seen? A
design-rule check learnt from good parts (issue 18, item 5), measured leave-one-group-out.

Copper and gaps are each opened with a disc of diameter k: what the opening removes and is compact (extent
at most 3 k, area at least ``--min-area``) is a feature thinner than k that is not a line of the design: a
spur, a bridge (short), a stray speck of copper, a pin-hole, a bite out of a track, an open. The part's
score is how many such residues it has. k is learnt from good parts only: the largest size at which at most
``--allowed`` of the training good boards (re-captured, as the camera gives them) show any residue. The
held-out group's defective boards are scored against re-captures of its good boards; the threshold is set on
the training boards (a part fails with more residues than the training boards' ``1 - target`` quantile).

    .venv/bin/python scripts/experiments/anomaly_residues.py [--groups group44000 ...]

Measured 2026-12-06 (2-core Intel Xeon): **it does not transfer**. With k learnt as above (at most 5% of 200
training boards with a residue, 40 px) the rule picks 3 px for six groups and 5 px for one, where nothing is
removed: AUROC 0.50 everywhere (mean 0.504). Fixing k by hand shows why: per group the best disc differs
(group 44000: 9 px, AUROC 1.00; 20085: 0.48-0.70 over 5-9 px; 13000: 0.61-0.86), and the training boards of
the other designs show 0-56 residues at the 99th percentile while a held-out design's good boards show 1-57:
a threshold set on other designs misses (escapes 68-100% at a 1% false-reject target). A first run with a
fixed threshold of 128 and 60 boards per group had given 0.99 on 44000 and 0.95 on 20085 at k 5, 0.67 at k 7:
small samples and a hand-picked k flatter it. Learning k per design needs that design's good boards, which
the protocol withholds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inspection.core.recapture import DEFAULT_RECAPTURE  # noqa: E402
from inspection.ml.dataset.deeppcb import read_deeppcb  # noqa: E402
from inspection.ml.evaluation.anomaly_metrics import auroc  # noqa: E402

SIZES = (3, 5, 7, 9, 11)


def residues(image: np.ndarray, size: int, min_area: int) -> int:
    """Compact residues of opening the foreground and the background with a disc of diameter ``size``."""
    _, fg = cv2.threshold(image, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    count = 0
    for mask in (fg, 1 - fg):
        removed = mask & (1 - cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc))
        removed = cv2.morphologyEx(removed, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))  # edge jaggies
        found, _, stats, _ = cv2.connectedComponentsWithStats(removed)
        areas = stats[1:found, cv2.CC_STAT_AREA]
        extent = np.maximum(stats[1:found, cv2.CC_STAT_WIDTH], stats[1:found, cv2.CC_STAT_HEIGHT])
        count += int(((areas >= min_area) & (extent <= 3 * size)).sum())
    return count


def learn_size(goods: list[np.ndarray], min_area: int, allowed: float) -> int:
    """The largest disc at which at most ``allowed`` of the good boards show a residue."""
    chosen = SIZES[0]
    for size in SIZES:
        if np.mean([residues(image, size, min_area) > 0 for image in goods]) <= allowed:
            chosen = size
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deeppcb", type=Path, default=ROOT.parent / "shared" / "datasets" / "deeppcb")
    parser.add_argument("--groups", nargs="*")
    parser.add_argument("--train", type=int, default=200, help="good boards of the other groups to learn from")
    parser.add_argument("--min-area", type=int, default=40)
    parser.add_argument("--allowed", type=float, default=0.05)
    parser.add_argument("--target", type=float, default=0.01, help="false-reject rate the threshold is set for")
    args = parser.parse_args()
    pairs = read_deeppcb(args.deeppcb).pairs
    load = lambda path: cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    recaptured = lambda path, n: DEFAULT_RECAPTURE.apply(load(path), np.random.default_rng(n))  # noqa: E731
    results = []
    for group in args.groups or sorted({pair.group for pair in pairs}):
        others = [pair for pair in pairs if pair.group != group]
        picks = np.random.default_rng(0).permutation(len(others))[: args.train]
        goods = [recaptured(others[i].template_image, 10_000 + int(i)) for i in picks]
        size = learn_size(goods, args.min_area, args.allowed)
        train_scores = np.array([residues(image, size, args.min_area) for image in goods])
        threshold = float(np.quantile(train_scores, 1 - args.target, method="higher"))
        held = [pair for pair in pairs if pair.group == group]
        good = np.array([residues(recaptured(p.template_image, n), size, args.min_area) for n, p in enumerate(held)])
        bad = np.array([residues(load(p.test_image), size, args.min_area) for p in held])
        area = auroc(list(good), list(bad))
        assert area is not None  # every group has good and defective boards
        result = (area, float(np.mean(bad <= threshold)), float(np.mean(good > threshold)))
        results.append(result)
        print(
            f"{group}: disc {size} px (learnt), threshold {threshold:.0f} residues; AUROC {result[0]:.3f}, "
            f"escapes {result[1]:.1%}, false rejects {result[2]:.1%} ({len(held)} + {len(held)} boards)",
            flush=True,
        )
    aurocs = [r[0] for r in results]
    print(f"mean AUROC {statistics.mean(aurocs):.3f}, worst {min(aurocs):.3f} over {len(aurocs)} groups")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
