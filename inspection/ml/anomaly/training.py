"""``inspection train --task anomaly``: an anomaly model from good images alone, on the CPU, resumable.

Steps (each kept in the run folder, so ``--resume`` goes on after the last finished one):
1. features of every training image's patches (``work/features-NNNN.npy``, a batch each);
2. the patch memory: a greedy coreset of them (``work/memory.npz``);
3. the image statistics of the training images (``image_statistics.npz``);
4. when the parts are two-level images, the counts of their black-and-white patterns (``patterns.npz``);
   otherwise the per-position memory, a coreset at each position of the parts' whole maps (``positions.py``,
   ``work/maps-NNNN.npy`` from step 1, deleted once ``work/positions.npy`` is kept), the direction in which
   made-up defects move the statistics (``made_up.py``, ``work/made-up-NNNN.npy``,
   then kept in ``image_statistics.npz``), and the patch defects' heads (``patch_defects.py``,
   ``work/patch-defects-NNNN.npz``, ``work/patch-head.npz``: the second channel of the ONNX file, and one
   head per kind of defect left out, ``work/patch-head-without-K.npz``, for the choice);
5. the threshold, from the good images held out of training, for the target false-reject rate (and whether the
   parts are aligned: then the per-position term instead of the position-free one), and the ONNX file with its
   parity against PyTorch (``model.onnx``, ``anomaly.yaml``, ``train_config.yaml``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from inspection.core.atomic import save_array_atomic, save_arrays_atomic, write_text_atomic
from inspection.core.errors import StationError
from inspection.core.images import check_image_file
from inspection.detectors.anomaly_backend import LABEL, STATISTICS_FILE, TASK, Calibration, TermScale
from inspection.detectors.anomaly_features import FEATURES_VERSION, AnomalyFeatures
from inspection.detectors.anomaly_patterns import PATTERNS_FILE, PatternCounts, PatternTable
from inspection.detectors.base import usable_cores
from inspection.detectors.image_statistics import GoodStatistics
from inspection.ml.anomaly.calibration import TermSources, calibrate
from inspection.ml.anomaly.good_images import find_good_images, in_batches, read_all, split_held_out
from inspection.ml.anomaly.made_up import BRIGHT_SHARE, DECAY, KINDS, defect_direction, made_up_statistics
from inspection.ml.anomaly.memory import FloatArray, greedy_coreset, standardise
from inspection.ml.anomaly.network import build_scorer, export_onnx, patch_features, score_maps
from inspection.ml.anomaly.patch_defects import TURN_CHOICES, TURNS, patch_defects_head
from inspection.ml.anomaly.patterns import count_patterns
from inspection.ml.anomaly.positions import position_memory
from inspection.ml.anomaly.trunks import DEFAULT_TRUNK, TrunkChoice
from inspection.ml.evaluation.anomaly_metrics import auroc
from inspection.ml.evaluation.parity import verdicts_differ
from inspection.ml.training import TRAIN_CONFIG

SETTINGS_FILE = "anomaly_settings.yaml"
IMAGES_FILE = "anomaly_images.yaml"  # how many good images the run started with, and a hash of their list
RESULT_FILE = "anomaly.yaml"
MODEL_FILE = "model.onnx"
POSITIONS_FILE = "positions.npy"  # in work/: the per-position memory (``positions.py``)
PARITY_TOLERANCE = 0.01  # score units (the threshold is 0.5)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class AnomalySettings:
    data: Path
    out: Path
    imgsz: int = 256
    memory: int = 8192  # patches kept
    holdout: float = 0.2  # share of the good images that set the threshold
    target_false_reject: float = 0.01
    seed: int = 0
    max_patches: int = 160_000  # sampled from the training patches before the coreset is chosen
    features: int = FEATURES_VERSION  # how parts become inputs (``anomaly_features.py``); a resumed run keeps its own
    turns: int = TURNS  # of the part, the patch defects' map is averaged over (``patch_defects.py``)
    trunk: str = DEFAULT_TRUNK  # the patch network's trunk (``trunks.py``); a run from before 2026-12-07: random

    @property
    def inputs(self) -> AnomalyFeatures:
        return AnomalyFeatures(self.features)

    def check(self) -> None:
        if self.imgsz % 32 or not 64 <= self.imgsz <= 1024:
            raise StationError(f"--imgsz {self.imgsz}: give a multiple of 32 between 64 and 1024 (default 256)")
        if not 0.0 < self.target_false_reject < 0.5:
            raise StationError(f"--target-false-reject {self.target_false_reject}: give a rate in (0, 0.5)")
        if self.memory < 64:
            raise StationError(f"--memory {self.memory}: keep at least 64 patches (default 8192)")
        if self.turns not in TURN_CHOICES:
            choices = ", ".join(map(str, TURN_CHOICES))
            raise StationError(f"--turns {self.turns}: give one of {choices} (default {TURNS})")
        TrunkChoice(self.trunk).check()


SETTINGS_BEFORE: dict[str, object] = {"features": 1, "turns": 1, "trunk": "random"}  # as runs before them had it
_SETTING_TYPES: dict[str, Callable[[Any], Any]] = {"Path": Path, "int": int, "float": float, "str": str}


def _save_settings(settings: AnomalySettings) -> None:
    data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}
    write_text_atomic(settings.out / SETTINGS_FILE, yaml.safe_dump(data, sort_keys=False))


def load_settings(run: Path) -> AnomalySettings:
    """The settings a run was started with (a setting added since reads as the runs before it had it)."""
    path = run / SETTINGS_FILE
    if not path.is_file():
        raise StationError(f"{run}: no {SETTINGS_FILE}; is it an anomaly run from 'inspection train --task anomaly'?")
    try:
        data = {**SETTINGS_BEFORE, **yaml.safe_load(path.read_text())}
        return AnomalySettings(**{f.name: _SETTING_TYPES[str(f.type)](data[f.name]) for f in fields(AnomalySettings)})
    except (yaml.YAMLError, TypeError, ValueError, KeyError) as error:
        damage = f"{path}: damaged ({type(error).__name__}: {error})"
        raise StationError(f"{damage}; this run cannot be resumed: start again with a new --out") from error


class Reporter:
    """Progress lines with a count and the time left (a long step says where it is every few seconds)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.started = time.perf_counter()
        self.shown = 0.0

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self.shown < 3.0:
            return
        self.shown = now
        elapsed = now - self.started
        left = elapsed / done * (total - done) if done else 0.0
        self.progress(f"{step}: {done}/{total} ({100 * done // max(total, 1)}%), {elapsed:.0f} s, ~{left:.0f} s left")

    def restart(self) -> None:
        self.started, self.shown = time.perf_counter(), 0.0


def train_anomaly(settings: AnomalySettings, progress: Progress, resume: bool = False) -> Path:
    """Train (or, with ``resume``, go on with) the run in ``settings.out``; returns its ONNX file."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    torch.set_num_threads(usable_cores())
    if resume:
        settings = load_settings(settings.out)
    else:
        settings.check()
        if settings.out.exists() and any(settings.out.iterdir()):
            raise StationError(f"{settings.out}: the run folder is not empty; choose a new --out, or --resume it")
        settings.out.mkdir(parents=True, exist_ok=True)
        _save_settings(settings)
    images = find_good_images(settings.data)
    for path in images:
        check_image_file(path)
    _check_same_images(settings.out, images)
    train, held = split_held_out(len(images), settings.holdout, settings.seed)
    progress(f"{len(images)} good images: {len(train)} train, {len(held)} held out to set the threshold")
    started = time.perf_counter()
    trunk, trunk_text = TrunkChoice(settings.trunk).build(settings.seed)
    report = Reporter(progress)
    statistics = _training_features(settings, trunk, [images[i] for i in train], report)
    mean, scale, memory = _memory(settings, report)
    report.restart()
    patterns, pattern_summary = _patterns(settings, [images[i] for i in train], report)
    positions = _positions(settings, mean, scale, report, wanted=patterns is None)
    made_up = heads = None
    if patterns is None:
        statistics, made_up = _made_up(settings, [images[i] for i in train], statistics, report)
        report.restart()
        heads, made_up["patch_defects"] = patch_defects_head(
            [images[i] for i in train], trunk, mean, scale, settings, report
        )
    head = None if heads is None else heads.head
    scorer = build_scorer(trunk, mean, scale, memory, head, settings.turns, positions)
    sources = TermSources(statistics, PatternTable(patterns) if patterns is not None else None, heads)
    result, held_inputs, channel_scales = calibrate(scorer, sources, [images[i] for i in held], settings, report)
    _say_choice(result.get("made_up_defects_on_held_out"), result.get("alignment"), progress)
    model = settings.out / MODEL_FILE
    scored = result["calibration"]
    scorer = build_scorer(
        trunk, mean, scale, memory if "patches" in scored else None, head, settings.turns,
        positions if "positions" in scored else None,
    )  # fmt: skip  # the station needs no distances to a memory whose term is not scored
    result["channels"] = scorer.channels
    export_onnx(scorer, model, settings.imgsz, [LABEL])
    result["onnx_parity"] = onnx_parity(scorer, model, held_inputs, [channel_scales[c] for c in scorer.channels])
    result["features"] = settings.features
    result["patterns"] = pattern_summary
    if made_up is not None:
        result["made_up_defects"] = made_up
    result["training_seconds"] = round(time.perf_counter() - started, 1)
    result["trained_on"] = len(train)
    write_text_atomic(settings.out / RESULT_FILE, yaml.safe_dump(result, sort_keys=False))
    _write_train_config(settings, trunk_text, images, len(train), len(held))
    progress(f"trained in {result['training_seconds']:.0f} s; threshold set on {len(held)} held-out good images")
    return model


def _say_choice(choice: dict[str, Any] | None, aligned: dict[str, Any] | None, progress: Progress) -> None:
    if aligned is not None:
        verdict = (
            "aligned: the per-position patch term is used"
            if aligned["aligned"]
            else "not aligned: position-free terms only"
        )
        progress(
            f"alignment: the held-out good parts' patches are {aligned['median_ratio']} times as far from the good "
            f"patches at their own position as from those at another (aligned below {aligned['aligned_below']}): "
            f"{verdict}"
        )
    if choice is None:
        return
    if "patch_defects_scored" in choice:
        verdict = "joins" if choice["patch_defects_scored"] else "is left out of"
        progress(
            f"made-up defects on the held-out parts, each kind found by a head that never saw it: AUROC "
            f"{choice['without_patch_defects']} by the image statistics, {choice['with_patch_defects']} with the "
            f"patch defects: their peak {verdict} the whole-part term"
        )
    if "patches_scored" not in choice:  # aligned parts: the per-position term instead
        return
    verdict = "scored" if choice["patches_scored"] else "left out"
    progress(
        f"made-up defects on the held-out parts: AUROC {choice['without_patches']} by the whole-part term, "
        f"{choice['with_patches']} with the patch term too: the patch term is {verdict}"
    )


def onnx_parity(scorer: Any, model: Path, inputs: FloatArray, channels: list[TermScale]) -> dict[str, Any]:
    """The ONNX file against the PyTorch scorer on the held-out images: the largest difference of each map's
    peak (the patch term, and the patch defects' where the network has them), each scaled as a score on its own
    (0.5 = its threshold); more than ``PARITY_TOLERANCE`` refuses the export."""
    import onnxruntime as ort  # noqa: PLC0415  (heavy SDK, loaded only when used)

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    torch_maps = score_maps(scorer, inputs)
    onnx_maps = np.concatenate([session.run(None, {"images": inputs[i : i + 1]})[0] for i in range(len(inputs))])
    gap, same = 0.0, True
    for channel, term in enumerate(channels):
        scale = Calibration({"patches": term}, 1.0)
        peaks = [
            scale.score(term.scaled(maps[:, channel].reshape(len(inputs), -1).max(1)))
            for maps in (torch_maps, onnx_maps)
        ]
        gap = max(gap, float(np.abs(np.asarray(peaks[0]) - np.asarray(peaks[1])).max()))
        same = same and not any(verdicts_differ(float(a), float(b)) for a, b in zip(*peaks, strict=True))
    if gap > PARITY_TOLERANCE:
        raise StationError(f"{model}: the ONNX file's scores differ from PyTorch's by {gap:.4f} (> {PARITY_TOLERANCE})")
    return {"images": len(inputs), "max_score_gap": round(gap, 5), "same_verdicts": same}


def _check_same_images(run: Path, images: list[Path]) -> None:
    """The run's steps are kept per batch of images: a resumed run must see the same images (names, sizes)."""
    listing = "".join(f"{path.resolve()}\t{path.stat().st_size}\n" for path in images)
    digest = hashlib.sha256(listing.encode()).hexdigest()
    path = run / IMAGES_FILE
    if not path.is_file():
        write_text_atomic(path, yaml.safe_dump({"images": len(images), "sha256": digest}))
        return
    if yaml.safe_load(path.read_text()).get("sha256") != digest:
        raise StationError(
            f"{run}: the good images changed since this run started (added, removed or replaced); its saved steps "
            "belong to the old ones: train into a new --out"
        )


def _training_features(settings: AnomalySettings, trunk: Any, paths: list[Path], report: Reporter) -> GoodStatistics:
    """Patch features (a sample of each image's) and image statistics of each batch, saved once; then the
    good parts' statistics."""
    import torch  # noqa: PLC0415  (heavy SDK, loaded only when used)

    work = settings.out / "work"
    work.mkdir(exist_ok=True)
    per_image = max(1, settings.max_patches // len(paths))
    batches = in_batches(paths)
    maps_needed = not (work / POSITIONS_FILE).is_file() and not (settings.out / PATTERNS_FILE).is_file()
    for number, batch in enumerate(batches):
        chunk, stats = work / f"features-{number:04d}.npy", work / f"statistics-{number:04d}.npy"
        whole = work / f"maps-{number:04d}.npy"
        if not (chunk.is_file() and stats.is_file() and (whole.is_file() or not maps_needed)):
            parts = read_all(batch)
            inputs = np.concatenate([settings.inputs.network_input(image, settings.imgsz) for image in parts])
            with torch.no_grad():
                maps = patch_features(trunk, torch.from_numpy(inputs)).numpy()
            patches = maps.transpose(0, 2, 3, 1).reshape(len(parts), -1, maps.shape[1])
            save_array_atomic(whole, patches.astype(np.float16))
            rng = np.random.default_rng(settings.seed + number)
            picks = [rng.choice(patches.shape[1], min(per_image, patches.shape[1]), replace=False) for _ in parts]
            save_array_atomic(
                chunk, np.concatenate([p[i] for p, i in zip(patches, picks, strict=True)]).astype(np.float16)
            )
            save_array_atomic(stats, np.stack([settings.inputs.statistics(image) for image in parts]))
        report("features", number + 1, len(batches))
    raw = np.concatenate([np.load(work / f"statistics-{n:04d}.npy") for n in range(len(batches))])
    good = GoodStatistics.of(raw)
    good.save(settings.out / STATISTICS_FILE)
    return good


def _made_up(
    settings: AnomalySettings, paths: list[Path], good: GoodStatistics, report: Reporter
) -> tuple[GoodStatistics, dict[str, Any]]:
    """The direction in which made-up defects move the good parts' statistics, kept with them."""
    report.restart()
    work = settings.out / "work"
    plain, defective = made_up_statistics(
        paths, settings.inputs.statistics, work, settings.seed, lambda d, t: report("made-up defects", d, t)
    )
    good = defect_direction(good, plain, defective, settings.seed)
    good.save(settings.out / STATISTICS_FILE)
    logits = [good.defect_logit(v) for v in plain], [good.defect_logit(v) for v in defective]
    summary = {
        "images": len(paths),
        "kinds": list(KINDS),
        "bright_share": round(BRIGHT_SHARE, 3),
        "weight_decay": DECAY,
        "fitted_auroc": auroc(*logits),
    }
    report.progress(
        f"made-up defects: {len(paths)} copies; the statistics' direction fitted (AUROC {summary['fitted_auroc']})"
    )
    return good, summary


def _patterns(settings: AnomalySettings, paths: list[Path], report: Reporter) -> tuple[PatternCounts | None, Any]:
    """The pattern counts of the training images (two-level parts), kept in the run for registration."""
    counts, summary = count_patterns(paths, settings.out / PATTERNS_FILE, settings.out / "work", report)
    if counts is not None:
        report.progress(
            f"patterns: the parts are two-level: scored by the rarity of their black-and-white patterns "
            f"({counts.codes.size} distinct, at {counts.size} px)"
        )
    else:
        report.progress(
            f"patterns: not used ({summary['two_level_images']} of {summary['of']} parts checked are two-level): "
            "scored by the image statistics and, where made-up defects say it helps, the patch network"
        )
    return counts, summary


def _memory(settings: AnomalySettings, report: Reporter) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The standardisation and the coreset of the saved patch features (chosen once, then kept)."""
    path = settings.out / "work" / "memory.npz"
    if not path.is_file():
        chunks = sorted((settings.out / "work").glob("features-[0-9][0-9][0-9][0-9].npy"))
        patches = np.concatenate([np.load(chunk).astype(np.float32) for chunk in chunks])
        mean, scale = standardise(patches)
        standard = ((patches - mean) / scale).astype(np.float32)
        report.restart()
        chosen = greedy_coreset(standard, settings.memory, settings.seed, lambda d, t: report("memory", d, t))
        save_arrays_atomic(path, {"mean": mean, "scale": scale, "memory": standard[chosen]})
    with np.load(path) as data:
        return data["mean"], data["scale"], data["memory"]


def _positions(
    settings: AnomalySettings, mean: FloatArray, scale: FloatArray, report: Reporter, wanted: bool
) -> FloatArray | None:
    """The per-position memory (``positions.py``) of the parts' whole maps, chosen once and kept, where ``wanted``
    (not for two-level parts); the maps are deleted either way."""
    work = settings.out / "work"
    path, maps = work / POSITIONS_FILE, sorted(work.glob("maps-[0-9][0-9][0-9][0-9].npy"))
    if wanted and not path.is_file():
        standard = (np.concatenate([np.load(m).astype(np.float32) for m in maps]) - mean) / scale
        report.restart()
        save_array_atomic(
            path, position_memory(standard, seed=settings.seed, progress=lambda d, t: report("positions", d, t))
        )
    for chunk in maps:
        chunk.unlink()
    return np.load(path) if wanted else None


def _write_train_config(settings: AnomalySettings, trunk: str, images: list[Path], trained: int, held: int) -> None:
    config = {
        "architecture": trunk,
        "imgsz": settings.imgsz,
        "seed": settings.seed,
        "memory": settings.memory,
        "dataset": {
            "task": TASK,
            "classes": [LABEL],
            "source": str(settings.data.resolve()),
            "good_images": len(images),
            "trained_on": trained,
            "held_out": held,
        },
    }
    write_text_atomic(settings.out / TRAIN_CONFIG, yaml.safe_dump(config, sort_keys=False))
