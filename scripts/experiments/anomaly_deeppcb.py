"""The anomaly model on DeepPCB without templates, each board group held out in turn (issue 18, item 5):
train on the good boards (templates) of the other six groups (at most 600), then score the held-out group's
defective boards against re-captures of its good boards (moved, turned, re-binarised, re-encoded:
``inspection/core/recapture.py``). The product's own code throughout (``train --task anomaly``, register,
``evaluate``); reports every fold, the mean and the worst.

    .venv/bin/python scripts/experiments/anomaly_deeppcb.py [--imgsz 320] [--groups group50600 ...]

Measured 2026-12-03 (patch + image terms, 320 px: chance) and 2026-12-07 (two-level boards: the pattern
term; 2-core CPU): see the README's anomaly section.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inspection.core.recapture import DEFAULT_RECAPTURE  # noqa: E402
from inspection.ml.anomaly.training import AnomalySettings, train_anomaly  # noqa: E402
from inspection.ml.anomaly_scoring import evaluate_anomaly  # noqa: E402
from inspection.ml.dataset.deeppcb import read_deeppcb  # noqa: E402
from inspection.ml.registry.store import register_run  # noqa: E402


def fold_data(source: Path, group: str, out: Path) -> Path:
    """out/train (templates of the other groups), out/test/good (re-captures), out/test/defect."""
    pairs = read_deeppcb(source).pairs
    for folder in ("train", "test/good", "test/defect"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    others = [p for p in pairs if p.group != group]
    rng = np.random.default_rng(0)
    for index in sorted(rng.choice(len(others), min(600, len(others)), replace=False)):
        link = out / "train" / others[index].template_image.name
        if not link.exists():
            link.symlink_to(others[index].template_image)
    for number, pair in enumerate(p for p in pairs if p.group == group):
        template = cv2.imread(str(pair.template_image), cv2.IMREAD_GRAYSCALE)
        good = DEFAULT_RECAPTURE.apply(template, np.random.default_rng(number))
        cv2.imwrite(str(out / "test/good" / f"{pair.template_image.stem}.png"), good)
        link = out / "test/defect" / pair.test_image.name
        if not link.exists():
            link.symlink_to(pair.test_image)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deeppcb", type=Path, default=ROOT.parent / "shared" / "datasets" / "deeppcb")
    parser.add_argument("--out", type=Path, default=Path("runs/anomaly-deeppcb"))
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--groups", nargs="+", default=[])
    args = parser.parse_args()
    groups = args.groups or sorted({pair.group for pair in read_deeppcb(args.deeppcb).pairs})
    results = {}
    for group in groups:
        work = args.out / group
        data = fold_data(args.deeppcb, group, work / "data")
        shutil.rmtree(work / "run", ignore_errors=True)
        shutil.rmtree(work / "registry", ignore_errors=True)
        say = lambda line, group=group: print(f"{group}: {line}", file=sys.stderr, flush=True)  # noqa: E731
        train_anomaly(AnomalySettings(data / "train", work / "run", imgsz=args.imgsz), say)
        folder = register_run(work / "run", f"anomaly-{group}", work / "registry")
        report = evaluate_anomaly(folder / "model.onnx", data / "test", progress=say)
        results[group] = {k: report[k] for k in ("auroc", "escape_rate", "false_reject_rate", "latency_ms")}
        print(f"{group}: AUROC {report['auroc']}, escapes {report['escape_rate']}, FR {report['false_reject_rate']}")
    aurocs = [r["auroc"] for r in results.values()]
    print(f"mean AUROC {statistics.fmean(aurocs):.3f}, worst {min(aurocs):.3f} over {len(aurocs)} groups")
    (args.out / "summary.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
