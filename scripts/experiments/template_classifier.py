"""Planning question: does a small CNN that names the golden-template detector's regions (or rejects them)
reach the model issue's mAP@0.5 target on the held-out board group?

    python scripts/experiments/template_classifier.py --data runs/ref-ds [--epochs 12]

``--data``: a DeepPCB dataset imported with ``--input image+reference --val-groups group77000``. Steps:
1. the template detector (configs/detectors/golden-template.yaml) proposes regions on every image of
   both splits; each region becomes a 48 x 48 crop of the three channels (board, template, difference),
   labelled with the class of the ground-truth box it overlaps (IoU > 0.3) or "none";
2. a small CNN (three conv blocks) learns the train split's crops (flips and 90-degree turns), seeded;
3. on the validation split, each region is re-scored with the CNN and the same metrics as
   ``inspection evaluate`` are computed, for several ways of using the CNN's probabilities.
Not part of the station (plain PyTorch here); the numbers are in scripts/experiments/README.md.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from inspection.core.boxes import iou_matrix
from inspection.core.types import Detection, Verdict
from inspection.detectors.template_backend import TemplateDetector
from inspection.ml.dataset.splits import read_split
from inspection.ml.evaluation.metrics import Evaluation, ImageResult

ROOT = Path(__file__).resolve().parents[2]
CROP = 48
NONE = 6  # the seventh class: not a defect


def crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """A square around the box (at least 24 px), scaled to CROP x CROP."""
    x1, y1, x2, y2 = box
    cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1, 24)
    matrix = np.float32([[CROP / side, 0, CROP / 2 - cx * CROP / side], [0, CROP / side, CROP / 2 - cy * CROP / side]])
    return np.asarray(cv2.warpAffine(image, matrix, (CROP, CROP), flags=cv2.INTER_AREA, borderValue=(255, 255, 0)))


def proposals(data: Path, split: str, detector: TemplateDetector) -> tuple[list, np.ndarray, np.ndarray]:
    """(rows for the evaluation, crops, labels) of one split."""
    evalset = read_split(data, split)
    rows, crops, labels = [], [], []
    for item in evalset.images:
        image = cv2.imread(str(item.path), cv2.IMREAD_UNCHANGED)
        found = detector.predict_prepared(image, 0.0)
        truth = item.boxes(image.shape[1], image.shape[0])
        overlap = iou_matrix([b for _, b in truth], [d.box for d in found]) if truth and found else None
        for j, detection in enumerate(found):
            label = NONE
            if overlap is not None and overlap[:, j].max() > 0.3:
                label = truth[int(overlap[:, j].argmax())][0]
            crops.append(crop(image, detection.box))
            labels.append(label)
        rows.append((item.path.name, truth, found))
    return rows, np.stack(crops), np.asarray(labels)


def network() -> nn.Module:
    def block(i: int, o: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
            nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip

    return nn.Sequential(
        block(3, 32), block(32, 64), block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
        nn.Linear(128, NONE + 1),
    )  # fmt: skip


def tensor(crops: np.ndarray) -> torch.Tensor:
    return torch.tensor(crops, dtype=torch.float32).permute(0, 3, 1, 2) / 255.0


def train(crops: np.ndarray, labels: np.ndarray, epochs: int) -> nn.Module:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = tensor(crops), torch.tensor(labels)
    net = network()
    optimiser = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    steps = epochs * ((len(x) + 127) // 128)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 3e-3, total_steps=steps)
    loss = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        started = time.perf_counter()
        net.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            batch = order[i : i + 128]
            xb = x[batch]
            if rng.random() < 0.5:
                xb = xb.flip(3)
            if rng.random() < 0.5:
                xb = xb.flip(2)
            xb = torch.rot90(xb, int(rng.integers(4)), (2, 3))
            value = loss(net(xb), y[batch])
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
            schedule.step()
        print(f"epoch {epoch + 1}/{epochs}: {time.perf_counter() - started:.0f} s", flush=True)
    return net.eval()


def evaluate(classes: list[str], rows: list, probabilities: np.ndarray, rescore) -> dict:  # type: ignore[no-untyped-def]
    evaluation = Evaluation(classes)
    index = 0
    for name, truth, found in rows:
        out: list[Detection] = []
        for detection in found:
            out += rescore(detection, probabilities[index])
            index += 1
        kept = [d for d in out if d.confidence >= 0.5]
        verdict = Verdict.FAIL if kept else Verdict.PASS
        evaluation.results.append(ImageResult(name, truth, out, kept, verdict, 0.0))
    return evaluation.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    detector = TemplateDetector(ROOT / "configs" / "detectors" / "golden-template.yaml")
    _, train_crops, train_labels = proposals(args.data, "train", detector)
    rows, val_crops, val_labels = proposals(args.data, "val", detector)
    print(f"crops: train {len(train_labels)} {np.bincount(train_labels).tolist()}, val {len(val_labels)}")
    net = train(train_crops, train_labels, args.epochs)
    with torch.no_grad():
        probabilities = torch.softmax(net(tensor(val_crops)), 1).numpy()
    classes = read_split(args.data, "val").classes

    def named(detection: Detection, c: int, confidence: float) -> Detection:
        return replace(detection, class_id=c, label=classes[c], confidence=confidence)

    ways = {
        "template alone (topology names)": lambda d, p: [d],
        "CNN's class, its probability": lambda d, p: [named(d, int(p[:6].argmax()), float(p[:6].max()))],
        "every class above 0.01, its probability": lambda d, p: [
            named(d, c, float(p[c])) for c in range(6) if p[c] > 0.01
        ],
        "topology class, 1 - p(none)": lambda d, p: [replace(d, confidence=float(1 - p[NONE]))],
    }
    accuracy = float((probabilities.argmax(1) == val_labels).mean())
    print(f"CNN accuracy on the validation crops: {accuracy:.3f}")
    for name, rescore in ways.items():
        s = evaluate(classes, rows, probabilities, rescore)
        print(
            f"{name:42} mAP@0.5 {s['map50']:.4f}  mAP@0.5:0.95 {s['map50_95']:.4f}  "
            f"F {s['deeppcb_protocol']['f_score']:.4f}  escapes {s['escape_rate']}  false rejects "
            f"{s['false_reject_rate']}  per class {[round(v['ap50'], 3) for v in s['per_class'].values()]}"
        )


if __name__ == "__main__":
    main()
