"""Which anomaly detector to build (issue 18): image AUROC of candidate approaches trained from good parts
only, on the two development sets, on this CPU.

    .venv/bin/python scripts/experiments/anomaly_baselines.py elpv      # needs 'pip install elpv-dataset'
    .venv/bin/python scripts/experiments/anomaly_baselines.py deeppcb   # ../shared/datasets/deeppcb

ELPV (solar-cell EL images, CC BY-NC-SA: development only, nothing of it is shipped): 600 functional cells
train; the other functional cells and every cell with defect probability >= 0.67 test. DeepPCB: good boards
(templates) of six groups train; the seventh group's defective boards, with no template, against
re-captures of its good boards (``inspection/core/recapture.py``: moved, turned, re-binarised) test; each
group held out in turn.

Approaches (each a memory of good patch features, scored by the distance of a part's patches to their
nearest good ones, the image score their maximum; position-free, so parts need not be aligned):
- ``random-cnn``: features of a fixed, randomly initialised three-stage CNN (seeded; nothing trained);
- ``filters``: multi-scale Gaussian-derivative responses and local statistics (classical texture).

Measured 2026-12-03 on the 2-core development CPU (a training ran beside it, so the times are high), 160 px,
8,192 random good patches in memory: ELPV image AUROC random-cnn 0.548 (fit 22 s, 117 ms a part), filters
0.613 (fit 23 s; run at the lowest priority, so its time says nothing). Neither is near the issue's 0.85:
features nobody trained do not carry it; a backbone the project trains itself comes next.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inspection.core.recapture import DEFAULT_RECAPTURE  # noqa: E402
from inspection.ml.dataset.deeppcb import read_deeppcb  # noqa: E402

SIZE = 160
MEMORY = 8192
Features = Callable[[np.ndarray], torch.Tensor]  # images (N, H, W) uint8 -> (N, D, h, w)


def random_cnn(seed: int = 0) -> Features:
    torch.manual_seed(seed)
    layers = []
    width_in = 1
    for width in (16, 32, 64):
        layers += [
            nn.Conv2d(width_in, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
        ]
        layers += [nn.AvgPool2d(2)]
        width_in = width
    net = nn.Sequential(*layers).eval()
    for module in net:
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight)
            nn.init.zeros_(module.bias)
    taps = (9, 14)  # after stage 2 (stride 4) and 3 (stride 8)

    @torch.no_grad()
    def features(images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(images).float().unsqueeze(1) / 255.0
        out = []
        for index, module in enumerate(net):
            x = module(x)
            if index in taps:
                out.append(x)
        size = out[-1].shape[-2:]
        maps = [nn.functional.adaptive_avg_pool2d(m, size) for m in out]
        return nn.functional.avg_pool2d(torch.cat(maps, 1), 3, 1, 1)

    return features


def filter_bank() -> Features:
    sigmas = (1.0, 2.0, 4.0)

    @torch.no_grad()
    def features(images: np.ndarray) -> torch.Tensor:
        maps = []
        for image in images:
            f = image.astype(np.float32) / 255.0
            channels = []
            for sigma in sigmas:
                g = cv2.GaussianBlur(f, (0, 0), sigma)
                gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)
                lap = cv2.Laplacian(g, cv2.CV_32F)
                mean = cv2.GaussianBlur(f, (0, 0), 2 * sigma)
                var = cv2.GaussianBlur(f * f, (0, 0), 2 * sigma) - mean * mean
                channels += [g, np.abs(gx), np.abs(gy), lap, np.sqrt(np.maximum(var, 0))]
            stack = np.stack(channels)
            pooled = torch.from_numpy(stack).unsqueeze(0)
            maps.append(nn.functional.avg_pool2d(pooled, 4))
        return torch.cat(maps)

    return features


class PatchMemory:
    def __init__(self, features: Features) -> None:
        self.features = features
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None
        self.bank = torch.empty(0)

    def _patches(self, images: np.ndarray) -> torch.Tensor:
        maps = self.features(images)
        n, d, h, w = maps.shape
        return maps.permute(0, 2, 3, 1).reshape(n, h * w, d)

    def fit(self, images: np.ndarray, batch: int = 16) -> None:
        parts = [self._patches(images[i : i + batch]) for i in range(0, len(images), batch)]
        patches = torch.cat([part.reshape(-1, part.shape[-1]) for part in parts])
        self.mean, self.std = patches.mean(0), patches.std(0) + 1e-6
        patches = (patches - self.mean) / self.std
        generator = torch.Generator().manual_seed(0)
        chosen = torch.randperm(len(patches), generator=generator)[:MEMORY]
        self.bank = patches[chosen]

    @torch.no_grad()
    def score(self, images: np.ndarray, batch: int = 8) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        scores = []
        for i in range(0, len(images), batch):
            patches = (self._patches(images[i : i + batch]) - self.mean) / self.std
            for part in patches:
                distance = torch.cdist(part, self.bank).min(1).values
                scores.append(float(distance.max()))
        return np.asarray(scores)


def auroc(good: np.ndarray, bad: np.ndarray) -> float:
    """Probability that a defective part scores above a good one (ties count half)."""
    scores = np.concatenate([good, bad])
    ranks = scores.argsort().argsort().astype(np.float64) + 1
    return float((ranks[len(good) :].sum() - len(bad) * (len(bad) + 1) / 2) / (len(good) * len(bad)))


def resized(images: list[np.ndarray]) -> np.ndarray:
    return np.stack([cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for image in images])


def elpv_sets() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    from elpv_dataset.utils import load_dataset  # noqa: PLC0415  (development data, not a dependency)

    images, probability, _ = load_dataset()
    rng = np.random.default_rng(0)
    good = rng.permutation(np.flatnonzero(probability == 0))
    bad = np.flatnonzero(probability >= 0.67)
    train, test_good = good[:600], good[600:]
    return [("elpv", resized(list(images[train])), resized(list(images[test_good])), resized(list(images[bad])))]


def deeppcb_sets(source: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    pairs = read_deeppcb(source).pairs
    load = lambda path: cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    sets = []
    for group in sorted({pair.group for pair in pairs}):
        train = [load(p.template_image) for p in pairs if p.group != group][:600]
        held = [p for p in pairs if p.group == group]
        good = [DEFAULT_RECAPTURE.apply(load(p.template_image), np.random.default_rng(n)) for n, p in enumerate(held)]
        bad = [load(p.test_image) for p in held]
        sets.append((group, resized(train), resized(good), resized(bad)))
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", choices=["elpv", "deeppcb"])
    parser.add_argument("--deeppcb", type=Path, default=ROOT.parent / "shared" / "datasets" / "deeppcb")
    parser.add_argument("--approaches", nargs="+", default=["random-cnn", "filters"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sets = elpv_sets() if args.data == "elpv" else deeppcb_sets(args.deeppcb)
    makers = {"random-cnn": random_cnn, "filters": filter_bank}
    for approach in args.approaches:
        results = []
        for name, train, good, bad in sets:
            memory = PatchMemory(makers[approach]())
            started = time.perf_counter()
            memory.fit(train)
            fitted = time.perf_counter() - started
            started = time.perf_counter()
            good_scores, bad_scores = memory.score(good), memory.score(bad)
            per_part = (time.perf_counter() - started) / (len(good) + len(bad))
            results.append(auroc(good_scores, bad_scores))
            timing = f"fit {fitted:.0f} s on {len(train)}, {1000 * per_part:.0f} ms a part"
            print(f"{approach} {name}: AUROC {results[-1]:.3f}  ({timing})", flush=True)
        print(f"{approach}: mean AUROC {np.mean(results):.3f}, worst {np.min(results):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
