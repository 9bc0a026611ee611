"""The machine-read outputs stay what they were: ``inspect --json``, ``stats --json`` and ``bench --json``
on fixed inputs, and every command's ``--help``, compared with the files in tests/contracts/ (written from
the code before the package layout changed). A deliberate change of a contract rewrites them:
``UPDATE_CONTRACTS=1 pytest tests/test_output_contracts.py``, and the diff shows what changed."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SAMPLE_IMAGES, run_cli

from inspection.recorder.database import open_database
from inspection.recorder.synthetic import History, fill

CONTRACTS = Path(__file__).parent / "contracts"
UPDATE = os.environ.get("UPDATE_CONTRACTS") == "1"
WIDE = {"COLUMNS": "100"}  # argparse wraps help to the terminal's width


def _golden(name: str, produced: Any) -> Any:
    """The stored object (written from ``produced`` when updating)."""
    path = CONTRACTS / name
    if UPDATE:
        CONTRACTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(produced, indent=1, sort_keys=True) + "\n")
    return json.loads(path.read_text())


def _shape(value: Any) -> Any:
    """Keys and value types, not values: what a reader of the object depends on."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def _json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_inspect_json_is_unchanged() -> None:
    images = sorted(str(path.relative_to(ROOT)) for path in SAMPLE_IMAGES.glob("*_test.jpg"))
    result = run_cli("inspect", *images, "--json")
    assert result.returncode == 0, result.stderr
    produced = _json_lines(result.stdout)
    expected = _golden("inspect.json", produced)
    assert len(produced) == len(expected)
    for got, want in zip(produced, expected, strict=True):
        assert _shape(got) == _shape(want), got["image"]
        assert {key: got[key] for key in ("image", "verdict", "reasons", "reference")} == {
            key: want[key] for key in ("image", "verdict", "reasons", "reference")
        }
        assert [d["label"] for d in got["detections"]] == [d["label"] for d in want["detections"]], got["image"]
        for mine, theirs in zip(got["detections"], want["detections"], strict=True):
            # Inference in bf16 / another CPU's kernels may move the last digits, not the result.
            assert mine["confidence"] == pytest.approx(theirs["confidence"], abs=0.02)
            assert mine["box"] == pytest.approx(theirs["box"], abs=2.0)


def test_stats_json_is_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    fill(open_database(url), History(start=datetime(2026, 11, 2, 5, 0, tzinfo=UTC), parts=3000, seed=7))
    window = ("--since", "2026-11-02T00:00:00+00:00", "--until", "2026-11-03T00:00:00+00:00")
    produced = {}
    for by in ("shift", "day", "recipe"):
        result = run_cli("stats", "--database", url, "--by", by, "--json", *window)
        assert result.returncode == 0, result.stderr
        produced[by] = json.loads(result.stdout)
    assert produced == _golden("stats.json", produced)


def test_bench_json_keeps_its_keys(tmp_path: Path) -> None:
    result = run_cli("bench", "--parts", "5", "--json")
    assert result.returncode == 0, result.stderr
    produced = _shape(json.loads(result.stdout))
    assert produced == _golden("bench-shape.json", produced)


def _help_texts() -> dict[str, str]:
    """``--help`` of the program, of every command and of every sub-command."""
    texts: dict[str, str] = {}
    pending: list[tuple[str, ...]] = [()]
    while pending:
        command = pending.pop(0)
        result = run_cli(*command, "--help", env=WIDE)
        assert result.returncode == 0, (command, result.stderr)
        texts[" ".join(command) or "inspection"] = result.stdout.replace(str(ROOT), "<checkout>")
        pending += [(*command, name) for name in _subcommands(result.stdout)]
    return texts


def _subcommands(help_text: str) -> list[str]:
    """The names listed in the first ``{a,b,c}`` / ``COMMAND`` block of a help text."""
    lines = help_text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in {"COMMAND", "ACTION"})
    except StopIteration:
        return []
    names = []
    for line in lines[start + 1 :]:
        if not line.startswith("    ") or not line.strip():
            break
        if not line.startswith("      "):
            names.append(line.split()[0])
    return names


@pytest.mark.slow
def test_every_help_text_is_unchanged() -> None:
    produced = _help_texts()
    expected = _golden("help.json", produced)
    assert sorted(produced) == sorted(expected)
    for command, text in expected.items():
        assert produced[command] == text, command
