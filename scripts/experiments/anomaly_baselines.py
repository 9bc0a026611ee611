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
- ``filters``: multi-scale Gaussian-derivative responses and local statistics (classical texture);
- ``synthetic-seg``: a small network trained from scratch, for ``--train-seconds``, to segment made-up
  defects pasted onto the good images (blobs and lines of another image's texture, brightness or noise);
- ``random-distill``: a student trained for ``--train-seconds`` to reproduce the random CNN's features on
  the good images; its error is the map (random network distillation, a student-teacher method).

Measured 2026-12-03 on the 2-core development CPU, 160 px, 8,192 good patches in memory, on ELPV (image
AUROC): random-cnn 0.548 with a random sample of patches as memory, **0.703** with the greedy coreset
(fit 121 s, 18 ms a part); filters 0.613 (random sample; with the coreset not finished in 17 min);
synthetic-seg 0.510 (300 s of training, 5 ms a part): what it learns to find does not transfer. For
scale, the mean brightness of a cell alone scores 0.772 on ELPV (defective cells are darker), above all
of these. No approach here is near the issue's 0.85; memory coverage mattered most (0.548 -> 0.703).
Per cell type (``--elpv-type``; half of the good cells train, at most 600): random-cnn with the coreset
0.778 on mono (294 train), 0.704 on poly (460 train). random-distill (2026-12-03, 180 s, 480 train, 3
channels): 0.612, below the memory.

The shipped model (``inspection train --task anomaly``, ``inspection/ml/anomaly/``) combines the coreset
memory with image statistics (percentiles of brightness, edges, dark and bright spots; nearest good parts):
on ELPV at 160 px the patch term scores 0.713, the image statistics 0.812, the model 0.790. Wider trunk
(32/64/128) 0.694, 256 px 0.611 for the patch term: neither helps.
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


def greedy_coreset(patches: torch.Tensor, size: int, dims: int = 32) -> torch.Tensor:
    """Indices of ``size`` patches that cover all of them (each next pick the farthest from those picked),
    as PatchCore does, on a random projection to ``dims`` for speed."""
    generator = torch.Generator().manual_seed(0)
    projected = patches @ torch.randn(patches.shape[1], dims, generator=generator) / dims**0.5
    picked = [int(torch.randint(len(patches), (1,), generator=generator))]
    nearest = torch.cdist(projected, projected[picked[-1] : picked[-1] + 1]).squeeze(1)
    for _ in range(min(size, len(patches)) - 1):
        picked.append(int(nearest.argmax()))
        nearest = torch.minimum(nearest, torch.cdist(projected, projected[picked[-1] : picked[-1] + 1]).squeeze(1))
    return torch.tensor(picked)


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
        self.bank = patches[greedy_coreset(patches, MEMORY)]

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


def synthetic_defect(image: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with a made-up defect, and its mask (0..1): blobs from smooth noise or thin lines, filled
    with another good image's texture, a brightness change or noise (nothing about any one product)."""
    size = image.shape[0]
    mask = np.zeros((size, size), np.float32)
    if rng.random() < 0.5:
        noise = cv2.resize(rng.random((size // 16, size // 16)).astype(np.float32), (size, size))
        noise = cv2.GaussianBlur(noise, (0, 0), size / 40)
        mask[noise > np.quantile(noise, 1 - rng.uniform(0.01, 0.06))] = 1
    else:
        for _ in range(rng.integers(1, 3)):
            p1, p2 = rng.integers(0, size, 2), rng.integers(0, size, 2)
            cv2.line(mask, tuple(int(v) for v in p1), tuple(int(v) for v in p2), 1.0, int(rng.integers(1, 4)))
    kind = rng.integers(3)
    if kind == 0:
        fill = np.roll(other, tuple(int(v) for v in rng.integers(0, size, 2)), (0, 1)).astype(np.float32)
    elif kind == 1:
        fill = image.astype(np.float32) + rng.choice([-1, 1]) * rng.uniform(30, 110)
    else:
        fill = rng.uniform(0, 255, image.shape).astype(np.float32)
    beta = rng.uniform(0.5, 1.0)
    out = image.astype(np.float32) * (1 - beta * mask) + np.clip(fill, 0, 255) * beta * mask
    return np.clip(out, 0, 255).astype(np.uint8), mask


class SyntheticSegmenter:
    """A small fully convolutional network trained from scratch to find made-up defects on good images
    (DRAEM-like, without the reconstruction network); its map at 1/4 resolution is the anomaly map."""

    def __init__(self, seconds: float = 300.0) -> None:
        def block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
            conv = nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)
            return [conv, nn.BatchNorm2d(cout), nn.ReLU()]

        torch.manual_seed(0)
        layers = block(1, 16) + block(16, 32, 2) + block(32, 32) + block(32, 64, 2)
        layers += block(64, 64, dilation=2) + block(64, 64, dilation=4) + [nn.Conv2d(64, 1, 1)]
        self.net = nn.Sequential(*layers)
        self.seconds = seconds

    def fit(self, images: np.ndarray) -> None:
        rng = np.random.default_rng(0)
        optimiser = torch.optim.AdamW(self.net.parameters(), lr=2e-3, weight_decay=1e-4)
        started = time.perf_counter()
        self.net.train()
        while time.perf_counter() - started < self.seconds:
            picks = rng.integers(0, len(images), 16)
            batch, targets = [], []
            for n, index in enumerate(picks):
                image = images[index][:, ::-1] if rng.random() < 0.5 else images[index]
                mask = np.zeros(image.shape, np.float32)
                if n % 2:
                    image, mask = synthetic_defect(image, images[rng.integers(len(images))], rng)
                batch.append(image)
                targets.append(
                    cv2.resize(mask, (image.shape[1] // 4, image.shape[0] // 4), interpolation=cv2.INTER_AREA)
                )
            x = torch.from_numpy(np.stack(batch)).float().unsqueeze(1) / 255.0
            y = torch.from_numpy(np.stack(targets)).unsqueeze(1)
            loss = nn.functional.binary_cross_entropy_with_logits(self.net(x), y, pos_weight=torch.tensor(8.0))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.net.eval()

    @torch.no_grad()
    def score(self, images: np.ndarray, batch: int = 16) -> np.ndarray:
        scores = []
        for i in range(0, len(images), batch):
            x = torch.from_numpy(images[i : i + batch]).float().unsqueeze(1) / 255.0
            maps = nn.functional.avg_pool2d(torch.sigmoid(self.net(x)), 3, 1, 1)
            scores += [float(m.max()) for m in maps]
        return np.asarray(scores)


class RandomDistillation:
    """A student network trained for ``seconds`` to reproduce the random CNN's patch features on the good
    images (random network distillation); a patch the student cannot reproduce is unusual."""

    def __init__(self, seconds: float = 180.0, width: int = 16) -> None:
        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

        torch.manual_seed(1)
        self.teacher = random_cnn()
        layers: list[nn.Module] = []
        width_in = 1
        for scale in (1, 2, 4):
            layers += block(width_in, width * scale) + block(width * scale, width * scale) + [nn.AvgPool2d(2)]
            width_in = width * scale
        self.student = nn.Sequential(*layers, nn.Conv2d(width_in, 96, 1))
        self.seconds = seconds

    def _target(self, x: np.ndarray) -> torch.Tensor:
        return (self.teacher(x) - self.mean) / self.std

    def fit(self, images: np.ndarray) -> None:
        features = torch.cat([self.teacher(images[i : i + 32]) for i in range(0, len(images), 32)])
        self.mean, self.std = features.mean((0, 2, 3), keepdim=True), features.std((0, 2, 3), keepdim=True) + 1e-6
        optimiser = torch.optim.AdamW(self.student.parameters(), lr=2e-3, weight_decay=1e-4)
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        self.student.train()
        while time.perf_counter() - started < self.seconds:
            batch = images[rng.integers(0, len(images), 16)]
            x = torch.from_numpy(batch).float().unsqueeze(1) / 255.0
            loss = ((self.student(x) - self._target(batch)) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.student.eval()

    @torch.no_grad()
    def score(self, images: np.ndarray, batch: int = 32) -> np.ndarray:
        scores = []
        for i in range(0, len(images), batch):
            part = images[i : i + batch]
            x = torch.from_numpy(part).float().unsqueeze(1) / 255.0
            error = ((self.student(x) - self._target(part)) ** 2).mean(1, keepdim=True)
            scores += [float(m.max()) for m in nn.functional.avg_pool2d(error, 3, 1, 1)]
        return np.asarray(scores)


def auroc(good: np.ndarray, bad: np.ndarray) -> float:
    """Probability that a defective part scores above a good one (ties count half)."""
    scores = np.concatenate([good, bad])
    ranks = scores.argsort().argsort().astype(np.float64) + 1
    return float((ranks[len(good) :].sum() - len(bad) * (len(bad) + 1) / 2) / (len(good) * len(bad)))


def resized(images: list[np.ndarray]) -> np.ndarray:
    return np.stack([cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for image in images])


def elpv_sets(cell_type: str = "all") -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    from elpv_dataset.utils import load_dataset  # noqa: PLC0415  (development data, not a dependency)

    images, probability, types = load_dataset()
    kept = np.ones(len(images), bool) if cell_type == "all" else types == cell_type
    rng = np.random.default_rng(0)
    good = rng.permutation(np.flatnonzero((probability == 0) & kept))
    bad = np.flatnonzero((probability >= 0.67) & kept)
    split = min(600, len(good) // 2)  # keep held-out good cells (mono has 588 in all)
    train, test_good = good[:split], good[split:]
    name = f"elpv-{cell_type}"
    return [(name, resized(list(images[train])), resized(list(images[test_good])), resized(list(images[bad])))]


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
    parser.add_argument("--elpv-type", choices=["all", "mono", "poly"], default="all", help="ELPV cells of one type")
    parser.add_argument("--train-seconds", type=float, default=300.0, help="synthetic-seg: training time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sets = elpv_sets(args.elpv_type) if args.data == "elpv" else deeppcb_sets(args.deeppcb)
    makers: dict[str, Callable[[], PatchMemory | SyntheticSegmenter | RandomDistillation]] = {
        "random-cnn": lambda: PatchMemory(random_cnn()),
        "filters": lambda: PatchMemory(filter_bank()),
        "synthetic-seg": lambda: SyntheticSegmenter(args.train_seconds),
        "random-distill": lambda: RandomDistillation(args.train_seconds),
    }
    for approach in args.approaches:
        results = []
        for name, train, good, bad in sets:
            memory = makers[approach]()
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
