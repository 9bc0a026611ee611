"""Pre-train the anomaly model's trunk on procedural images and write it with its card (issue 18).

    .venv/bin/python scripts/train_anomaly_trunk.py [--out models/anomaly-trunk] [--steps 1500] [--seed 0]

No dataset: the images are drawn by ``inspection/ml/anomaly/procedural.py``; the training is contrastive
(``inspection/ml/anomaly/pretraining.py``). About 21 minutes on a 2-core CPU (1,500 steps of 256 image pairs).
Writes OUT/trunk.npz (the weights) and OUT/trunk.yaml (how they were made, their sha256), each whole or
not at all. ``inspection train --task anomaly`` starts from OUT's trunk (``--trunk procedural``, the default).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from dataclasses import asdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inspection.core.atomic import save_arrays_atomic, write_text_atomic  # noqa: E402
from inspection.core.hashing import file_sha256  # noqa: E402
from inspection.core.machine import describe_machine  # noqa: E402
from inspection.ml.anomaly.pretraining import (  # noqa: E402
    TEMPERATURE,
    VIEW,
    PretrainingSettings,
    StepReporter,
    pretrain_trunk,
)
from inspection.ml.anomaly.trunks import CARD_FILE, TRUNK_FOLDER, WEIGHTS_FILE  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = PretrainingSettings()
    parser.add_argument("--out", type=Path, default=TRUNK_FOLDER)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (the weights depend on it slightly)")
    args = parser.parse_args()
    import torch  # noqa: PLC0415  (heavy SDK)

    torch.set_num_threads(args.threads)
    settings = PretrainingSettings(steps=args.steps, seed=args.seed)
    reporter = StepReporter(settings.steps, lambda line: print(line, flush=True))
    started = time.perf_counter()
    weights = pretrain_trunk(settings, reporter)
    args.out.mkdir(parents=True, exist_ok=True)
    save_arrays_atomic(args.out / WEIGHTS_FILE, weights)
    loss, found = reporter.last
    card = {
        "name": "anomaly-trunk",
        "what": "the anomaly model's trunk (3-stage CNN, widths 16/32/64), pre-trained; "
        "inspection train --task anomaly starts from it",
        "data": "procedural images only (inspection/ml/anomaly/procedural.py): no dataset",
        "training": {
            "command": "scripts/train_anomaly_trunk.py " + " ".join(sys.argv[1:]),
            "method": f"contrastive (SimCLR-like): two {VIEW} px views of each image, temperature {TEMPERATURE}",
            "settings": asdict(settings),
            "threads": args.threads,
            "final_loss": round(loss, 4),
            "pairs_found": round(found, 4),
            "seconds": round(time.perf_counter() - started, 1),
            "machine": describe_machine(),
            "date": datetime.date.today().isoformat(),
        },
        "sha256": file_sha256(args.out / WEIGHTS_FILE),
    }
    write_text_atomic(args.out / CARD_FILE, yaml.safe_dump(card, sort_keys=False))
    print(f"{args.out / WEIGHTS_FILE}: {card['training']['seconds']:.0f} s, loss {loss:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
