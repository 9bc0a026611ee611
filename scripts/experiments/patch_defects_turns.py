"""Does averaging the patch defects' map over the part turned by 0, 90, 180 and 270 degrees help (issue 18)?

The patch defects' head (``inspection/ml/anomaly/patch_defects.py``) sits on an untrained, seeded trunk whose
features are not the same for a part and the part turned; a part that is not aligned may lie either way. Here a
registered model that scores the patch defects is run on each test part and on the part turned three times
(each map turned back), and the averaged map's peak replaces the plain one: alone, and in the whole-part sum
(image distance + defect logit + patch defects' peak, each scaled on the model's held-out good parts as the
product does). Nothing is fitted; the held-out parts are the model's own (seed 0, 20%).

    .venv/bin/python scripts/experiments/grey_crops.py 13000 /tmp/crops-13000      # its header: train, register
    .venv/bin/python scripts/experiments/patch_defects_turns.py /tmp/crops-13000 /tmp/c13-registry/c13

Measured 2026-12-07, 2-core Intel Xeon, models trained at the default 256 px on the grey crops (image AUROC;
the product as shipped in brackets): group 13000, the peak alone 0.925 -> **0.951** turned, summed 0.927 ->
**0.941** (0.924); group 00041, alone 0.848 -> **0.921**, summed 0.888 -> **0.918** (0.882). The network runs four
times a part. Shipped since (``patch_defects.TURNS``, inside the exported network, and the choice judged the same
way): the script measures models trained before, whose card's ``made_up_defects: patch_defects:`` has no ``turns``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inspection.core.images import list_images, load_image  # noqa: E402
from inspection.core.types import Image  # noqa: E402
from inspection.detectors.anomaly_backend import AnomalyDetector  # noqa: E402
from inspection.detectors.factory import load_detector  # noqa: E402
from inspection.ml.anomaly.calibration import upper_bound  # noqa: E402
from inspection.ml.anomaly.good_images import find_good_images, split_held_out  # noqa: E402
from inspection.ml.evaluation.anomaly_metrics import auroc  # noqa: E402

RATE = 0.01  # the target false-reject rate the model's scales are set for
PLAIN, TURNED = 2, 3  # columns of terms(): image, defects, the patch defects' peak plain and turned


def terms(detector: AnomalyDetector, image: Image) -> list[float]:
    """The image distance, the defect logit, the patch defects' peak, and the peak of the map averaged over turns."""
    grid = detector.info.imgsz // 8
    raw = detector.term_maps(image, grid)[0]
    maps = [np.rot90(detector.term_maps(np.ascontiguousarray(np.rot90(image, k)), grid)[0]["patch_defects"], -k)
            for k in range(4)]  # fmt: skip
    return [
        float(raw["image"]),
        float(raw["defects"]),
        float(raw["patch_defects"].max()),
        float(np.mean(maps, 0).max()),
    ]


def scaled(held: np.ndarray, values: np.ndarray) -> np.ndarray:
    median = float(np.median(held))
    return (values - median) / max(upper_bound(held, RATE) - median, 1e-6)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="train/ and test/good, test/defect (grey_crops.py)")
    parser.add_argument("model", type=Path, help="a registered anomaly model that scores the patch defects")
    args = parser.parse_args()
    detector = load_detector(args.model / "model.onnx", 256)
    if not isinstance(detector, AnomalyDetector) or "patch_defects" not in detector.calibration.terms:
        parser.error(f"{args.model}: not an anomaly model that scores the patch defects")
    card = yaml.safe_load((args.model / "card.yaml").read_text())
    if card["anomaly"]["made_up_defects"]["patch_defects"].get("turns", 1) > 1:
        parser.error(f"{args.model}: its network averages the turns already; train the model with an older version")
    paths = find_good_images(args.data / "train")
    held = [paths[i] for i in split_held_out(len(paths), 0.2, 0)[1]]
    good, defective = list_images(args.data / "test" / "good"), list_images(args.data / "test" / "defect")
    labels = np.array([0] * len(good) + [1] * len(defective))
    held_terms = np.array([terms(detector, load_image(p)) for p in held])
    test_terms = np.array([terms(detector, load_image(p)) for p in good + defective])
    for name, column in (("plain", PLAIN), ("turned x4", TURNED)):
        summed = sum(scaled(held_terms[:, c], test_terms[:, c]) for c in (0, 1, column))
        alone = auroc(list(test_terms[labels == 0, column]), list(test_terms[labels == 1, column]))
        total = auroc(list(summed[labels == 0]), list(summed[labels == 1]))
        print(f"patch defects {name}: alone {alone:.3f}, summed with the whole-part terms {total:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
