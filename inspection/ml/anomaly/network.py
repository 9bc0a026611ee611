"""The anomaly model's patch network (PyTorch, made and exported to ONNX while training; the station runs
the ONNX file or its OpenVINO export): a convolutional feature trunk, each patch's features standardised,
and the distance of each to the nearest patch of the good parts' memory.

``build_trunk`` makes the trunk with seeded random weights; ``trunks.py`` names the trunks a model can start
from (by default these weights pre-trained on procedural images by the project's own script, nothing
downloaded) and the line of the card that names it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from inspection.ml.anomaly.memory import FloatArray

WIDTHS = (16, 32, 64)  # channels of the trunk's three stages (each halves the resolution)
TAPS = (1, 2)  # the stages whose features describe a patch (strides 4 and 8)
STRIDE = 8  # of the score map
OPSET = 17


def build_trunk(seed: int = 0) -> Any:
    """The feature trunk (an ``nn.ModuleList`` of stages), the same for the same seed on every machine."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from torch import nn  # noqa: PLC0415  (heavy SDK, loaded only when used)

    generator = torch.Generator().manual_seed(seed)
    stages, width_in = [], 3
    for width in WIDTHS:
        convs = [nn.Conv2d(width_in, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1)]
        for conv in convs:
            fan_in = conv.in_channels * 9
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
                conv.bias.zero_()
        stages.append(nn.Sequential(convs[0], nn.ReLU(), convs[1], nn.ReLU(), nn.AvgPool2d(2)))
        width_in = width
    return nn.ModuleList(stages).eval()


def patch_features(trunk: Any, batch: Any) -> Any:
    """(N, 3, S, S) in 0..1 -> (N, D, S/8, S/8): the tapped stages at stride 8, smoothed over 3x3 patches."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from torch.nn import functional  # noqa: PLC0415  (heavy SDK, loaded only when used)

    pooled, x = [], batch
    for index, stage in enumerate(trunk):
        x = stage(x)
        if index in TAPS:  # each stage halves the size: pool the earlier taps down to the last one's
            factor = 2 ** (TAPS[-1] - index)
            pooled.append(functional.avg_pool2d(x, factor) if factor > 1 else x)
    return functional.avg_pool2d(torch.cat(pooled, 1), 3, 1, 1, count_include_pad=False)


def feature_dims() -> int:
    return sum(WIDTHS[index] for index in TAPS)


def turn(batch: Any, quarters: int) -> Any:
    """(N, C, S, S) turned anticlockwise by ``quarters`` times 90 degrees, as ``torch.rot90`` on the last two axes,
    written with flips and transposes, which export to ONNX (``rot90`` does not)."""
    quarters %= 4
    if quarters == 1:
        return batch.flip(3).transpose(2, 3)
    if quarters == 2:
        return batch.flip(2).flip(3)
    return batch.transpose(2, 3).flip(3) if quarters == 3 else batch


def turned(batch: Any, turns: int) -> Any:
    """(N, C, S, S) -> (turns * N, C, S, S): the batch, then the batch turned by 90 degrees, and so on."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    return torch.cat([turn(batch, k) for k in range(turns)])


def turned_back_mean(maps: Any, turns: int) -> Any:
    """(turns * N, C, h, w) maps of ``turned`` inputs -> (N, C, h, w): each turned back, their mean."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    each = maps.reshape(turns, -1, *maps.shape[1:])
    return torch.stack([turn(each[k], -k) for k in range(turns)]).mean(0)


def scorer_channels(head: bool, positions: bool) -> list[str]:
    """The names of the scorer's maps, in order (the card keeps them: ``anomaly: channels``)."""
    return ["patches"] + ["patch_defects"] * head + ["positions"] * positions


def build_scorer(
    trunk: Any, mean: FloatArray, scale: FloatArray, memory: FloatArray | None, head: Any = None, turns: int = 1,
    positions: FloatArray | None = None,
) -> Any:  # fmt: skip
    """The network the station runs: (N, 3, S, S) -> (N, 1, S/8, S/8) distances to the memory (all 0 without a
    ``memory``: a model that does not score the patch term is exported so, sparing the station the distances); with
    the patch defects' ``head`` (``patch_defects.py``) a channel more, its logits: the mean of its maps of the part
    turned ``turns`` times by 90 degrees (each turned back), the memory's of the part as it is; with ``positions``
    (``positions.py``: (S/8 * S/8, K, D)) a last channel, the distance of each patch to the nearest good patch at
    its own position. ``scorer.channels`` names the channels (``scorer_channels``)."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    class PatchScorer(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.trunk = trunk
            self.register_buffer("mean", torch.from_numpy(mean).reshape(1, -1, 1, 1))
            self.register_buffer("scale", torch.from_numpy(scale).reshape(1, -1, 1, 1))
            self.register_buffer("memory", None if memory is None else torch.from_numpy(memory))
            self.register_buffer("memory_sq", None if memory is None else torch.from_numpy((memory**2).sum(1)))
            self.register_buffer("positions", None if positions is None else torch.from_numpy(positions))
            self.register_buffer(
                "positions_sq", None if positions is None else torch.from_numpy((positions**2).sum(-1)).unsqueeze(1)
            )
            self.head = head
            self.channels = scorer_channels(head is not None, positions is not None)

        def forward(self, batch: torch.Tensor) -> torch.Tensor:
            return self.maps(self.features(batch))

        def features(self, batch: torch.Tensor) -> torch.Tensor:
            """Standardised patch features of the parts or, with the head, of each turn of the parts (``turned``)."""
            parts = batch if self.head is None else turned(batch, turns)
            return (patch_features(self.trunk, parts) - self.mean) / self.scale

        def maps(self, features: torch.Tensor) -> torch.Tensor:
            if self.head is None:
                untouched, found = features, []
            else:
                untouched = features.reshape(turns, -1, *features.shape[1:])[0]
                found = [turned_back_mean(self.head(features), turns)]
            if self.positions is not None:
                found.append(self.at_positions(untouched))
            return torch.cat([self.nearest(untouched), *found], 1) if found else self.nearest(untouched)

        def at_positions(self, features: torch.Tensor) -> torch.Tensor:
            n, d, h, w = features.shape
            flat = features.reshape(n, d, h * w).permute(2, 0, 1)  # (h * w, N, D)
            squared = (flat**2).sum(-1, keepdim=True) - 2 * flat @ self.positions.transpose(1, 2) + self.positions_sq
            return squared.min(-1).values.clamp(min=0).sqrt().permute(1, 0).reshape(n, 1, h, w)

        def nearest(self, features: torch.Tensor) -> torch.Tensor:
            if self.memory is None:
                return torch.zeros_like(features[:, :1])
            _, d, h, w = features.shape
            flat = features.permute(0, 2, 3, 1).reshape(-1, h * w, d)
            squared = (flat**2).sum(-1, keepdim=True) - 2 * flat @ self.memory.T + self.memory_sq
            return squared.min(-1).values.clamp(min=0).sqrt().reshape(-1, 1, h, w)

    return PatchScorer().eval()


def export_onnx(scorer: Any, path: Path, imgsz: int, classes: list[str]) -> None:
    """The scorer as an ONNX file (dynamic batch, fixed size), the class names in its metadata."""
    import onnx  # noqa: PLC0415  (heavy SDK, loaded only when used)
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    example = torch.zeros(1, 3, imgsz, imgsz)
    partial = path.with_name(path.name + ".partial")
    with torch.no_grad():
        torch.onnx.export(
            scorer, (example,), str(partial), input_names=["images"], output_names=["distances"],
            dynamic_axes={"images": {0: "batch"}, "distances": {0: "batch"}}, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    model = onnx.load(str(partial))
    entry = model.metadata_props.add()
    entry.key, entry.value = "names", str(dict(enumerate(classes)))
    onnx.save(model, str(partial))
    partial.replace(path)


def each_scored(scorer: Any, batch: FloatArray) -> Iterator[tuple[FloatArray, Any]]:
    """The scorer's maps of each part of a numpy batch (training and calibration run it in PyTorch) and the
    standardised features they came from (``features``), one part at a time: the distances of one 640 px part
    to 8,192 memory patches alone take 210 MB."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    for index in range(len(batch)):
        with torch.no_grad():
            features = scorer.features(torch.from_numpy(batch[index : index + 1]))
            maps = scorer.maps(features).numpy()
        yield maps, features


def score_maps(scorer: Any, batch: FloatArray) -> FloatArray:
    """The scorer's maps of a numpy batch (``each_scored``)."""
    return np.concatenate([maps for maps, _ in each_scored(scorer, batch)]).astype(np.float32)
