"""Pre-training the anomaly model's trunk on procedural images (``procedural.py``), contrastively (as SimCLR
does): two random views of each image (a crop, a turn, a mirror, brightness, contrast, gamma, blur, noise,
then the product's brightness scaling) must find each other among a batch's other views by their pooled
patch features. The trunk learns features that tell textures, edges and shapes apart and that do not change
with exposure or orientation, from no dataset at all.

``scripts/train_anomaly_trunk.py`` runs it and writes ``models/anomaly-trunk/`` (weights and their card);
``inspection train --task anomaly`` starts from that trunk (``--trunk procedural``, the default).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from inspection.detectors.anomaly_features import MEAN_LEVEL
from inspection.ml.anomaly.network import build_trunk, feature_dims, patch_features
from inspection.ml.anomaly.procedural import Grey, procedural_image

VIEW = 48  # pixels of a view
REFRESH, REFRESH_EVERY = 64, 5  # of the pool of procedural images, drawn anew every REFRESH_EVERY steps
TEMPERATURE = 0.2
Progress = Callable[[int, float, float], None]  # step, loss, share of views that found their pair


@dataclass(frozen=True)
class PretrainingSettings:
    steps: int = 1500
    batch: int = 256  # images a step (two views each)
    learning_rate: float = 2e-3
    seed: int = 0
    pool: int = 2000  # procedural images kept at once (REFRESH of them drawn anew every REFRESH_EVERY steps)


def random_view(rng: np.random.Generator, image: Grey) -> Grey:
    """A crop of half to all of the image, scaled to ``VIEW``, turned, maybe mirrored, with brightness,
    contrast, gamma, blur and noise drawn at random; then scaled to a mean of ``MEAN_LEVEL`` as the product
    scales parts."""
    size = image.shape[0]
    side = int(rng.uniform(0.5, 1.0) * size)
    y, x = rng.integers(0, size - side + 1, 2)
    view = cv2.resize(image[y : y + side, x : x + side], (VIEW, VIEW), interpolation=cv2.INTER_AREA)
    view = np.rot90(view, int(rng.integers(4)))
    if rng.random() < 0.5:
        view = view[:, ::-1]
    view = view * rng.uniform(0.6, 1.4) + rng.uniform(-0.2, 0.2)
    view = np.clip(view, 0, 1) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.3:
        view = cv2.GaussianBlur(np.ascontiguousarray(view), (0, 0), rng.uniform(0.3, 1.2))
    view = np.clip(view + rng.normal(0, rng.uniform(0, 0.05), view.shape), 0, 1).astype(np.float32)
    levelled: Grey = (view / (view.mean() + 1e-3) * MEAN_LEVEL).astype(np.float32)
    return levelled


def _batch(rng: np.random.Generator, pool: list[Grey], size: int) -> Any:
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    picks = rng.integers(0, len(pool), size)
    first = np.stack([random_view(rng, pool[i]) for i in picks])
    second = np.stack([random_view(rng, pool[i]) for i in picks])
    return torch.from_numpy(np.concatenate([first, second]))[:, None].repeat(1, 3, 1, 1)


def pretrain_trunk(settings: PretrainingSettings, progress: Progress) -> dict[str, np.ndarray]:
    """The trunk's weights after ``settings.steps`` steps (the trunk of ``build_trunk``, seed 0, to start)."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from torch import nn  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from torch.nn import functional  # noqa: PLC0415  (heavy SDK, loaded only when used)

    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    trunk = build_trunk(0).train()
    projection = nn.Sequential(nn.Linear(feature_dims(), 128), nn.ReLU(), nn.Linear(128, 64))
    parameters = list(trunk.parameters()) + list(projection.parameters())
    optimiser = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=1e-4)
    pool = [procedural_image(rng) for _ in range(settings.pool)]
    pairs = torch.cat([torch.arange(settings.batch) + settings.batch, torch.arange(settings.batch)])
    for step in range(settings.steps):
        if step % REFRESH_EVERY == 0:
            for index in rng.integers(0, len(pool), REFRESH):
                pool[index] = procedural_image(rng)
        pooled = patch_features(trunk, _batch(rng, pool, settings.batch)).mean((2, 3))
        embedded = functional.normalize(projection(pooled), dim=1)
        similarity = (embedded @ embedded.T / TEMPERATURE).fill_diagonal_(-1e9)
        loss = functional.cross_entropy(similarity, pairs)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        found = float((similarity.argmax(1) == pairs).float().mean())
        progress(step + 1, loss.item(), found)
    return {name: value.detach().numpy().copy() for name, value in trunk.state_dict().items()}


class StepReporter:
    """A progress line every few seconds: step, loss, share found, time left."""

    def __init__(self, steps: int, say: Callable[[str], None]) -> None:
        self.steps, self.say = steps, say
        self.started = self.shown = time.perf_counter()
        self.last = (0.0, 0.0)

    def __call__(self, step: int, loss: float, found: float) -> None:
        now, self.last = time.perf_counter(), (loss, found)
        if step < self.steps and now - self.shown < 5.0:
            return
        self.shown = now
        left = (now - self.started) / step * (self.steps - step)
        self.say(f"step {step}/{self.steps}: loss {loss:.3f}, pairs found {found:.0%}, ~{left:.0f} s left")
