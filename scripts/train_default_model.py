"""Train the bundled DeepPCB model from ../shared/datasets/deeppcb (group-held-out validation).

Usage: python scripts/train_default_model.py [--epochs N] [--imgsz PX] [--out runs/deeppcb]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.model_card import publish

from inspection.dataset.deeppcb import DEEPPCB_CLASSES
from inspection.dataset.importer import MANIFEST, import_deeppcb
from inspection.training import TrainSettings, train

VALIDATION_GROUPS = {"group77000"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("../shared/datasets/deeppcb"))
    parser.add_argument("--out", type=Path, default=Path("runs/deeppcb"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument(
        "--publish",
        type=Path,
        default=Path("models/deeppcb-yolov8n"),
        help="folder that receives model.pt and card.yaml",
    )
    parser.add_argument("--publish-only", action="store_true", help="publish an already finished run")
    args = parser.parse_args()
    if not args.publish_only:
        _train(args)
    run_dir = args.out / "train"
    card = {
        "name": args.publish.name,
        "architecture": "yolov8n (from scratch, no pretrained weights)",
        "task": "detect",
        "classes": list(DEEPPCB_CLASSES),
        "input": {"imgsz": args.imgsz, "preprocessing": "letterbox to a square, grey 114 padding, RGB, /255"},
        "training": {
            "data": "DeepPCB train/validation part (../shared/datasets/deeppcb), defective images and templates",
            "validation_groups": sorted(VALIDATION_GROUPS),
            "epochs": args.epochs,
            "batch": args.batch,
            "seed": 0,
            "command": f"python scripts/train_default_model.py --epochs {args.epochs} --imgsz {args.imgsz}",
        },
        "parent": None,
        "license": "weights trained on DeepPCB (MIT, Tang et al. 2019)",
    }
    model = publish(run_dir / "weights" / "best.pt", run_dir / "results.csv", args.publish, card, args.imgsz)
    print(f"published {model}")


def _train(args: argparse.Namespace) -> None:
    dataset = args.out / "dataset"
    if not (dataset / MANIFEST).is_file():
        import_deeppcb(args.source, dataset, VALIDATION_GROUPS)
    best = train(
        TrainSettings(dataset / "data.yaml", args.out / "train", epochs=args.epochs, imgsz=args.imgsz, batch=args.batch)
    )
    print(f"best weights: {best}")


if __name__ == "__main__":
    main()
