"""Layering: the core never imports Qt; the schema and its migrations agree."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import ROOT

from inspection.recorder.database import open_database
from inspection.recorder.schema import Base


def test_core_imports_no_qt_and_no_heavy_sdk_at_import() -> None:
    code = (
        "import sys, inspection, inspection.station.pipeline, inspection.cli.main, inspection.cli.run, calibration\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PySide6', 'PyQt5', 'PyQt6', 'gui', 'torch', 'ultralytics', 'pypylon', 'onnxruntime'})\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower() or "0 broken" in result.stdout.lower()


def test_migrations_match_the_schema(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_database_uses_wal(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


# Imported inside a function only because they are large or optional (the station runs without them).
HEAVY_SDKS = {
    "torch", "ultralytics", "openvino", "onnxruntime", "onnx", "pypylon", "pyarrow", "openpyxl", "matplotlib",
    "reportlab", "jinja2", "pymodbus", "paho",
}  # fmt: skip
PACKAGES = ("inspection", "gui", "calibration")


def _sources() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def test_imports_inside_functions_are_heavy_sdks_with_a_reason() -> None:
    """No import hides inside a function to dodge a cycle: only heavy or optional SDKs, each with a comment."""
    wrong = []
    for path in _sources():
        source = path.read_text()
        lines = source.splitlines()
        for function in ast.walk(ast.parse(source)):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                where = f"{path.relative_to(ROOT)}:{node.lineno} {module}"
                if (module or "").split(".")[0] not in HEAVY_SDKS:
                    wrong.append(f"{where}: not a heavy SDK; import it at the top of the module")
                elif "noqa: PLC0415  (" not in lines[node.lineno - 1]:
                    wrong.append(f"{where}: say why it is imported here: '# noqa: PLC0415  (reason)'")
    assert wrong == []


def test_every_module_lives_in_a_layer() -> None:
    """The layers contract names packages; a module left loose in inspection/ would escape it."""
    loose = sorted(p.name for p in (ROOT / "inspection").glob("*.py") if p.name != "__init__.py")
    assert loose == []
    layered = {"cameras", "cli", "config", "core", "detectors", "ml", "outputs", "quality", "recorder", "station"}
    packages = {p.name for p in (ROOT / "inspection").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages == layered
    contract = (ROOT / "pyproject.toml").read_text()
    for package in layered:
        assert f"inspection.{package}" in contract, package


MAX_FUNCTION_LINES = 60  # code lines: no blank lines, comments or docstring
MAX_MODULE_LINES = 400


def _code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    first = function.body[0]
    docstring = (
        range(first.lineno, (first.end_lineno or first.lineno) + 1)
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
        else range(0)
    )
    span = range(function.lineno, (function.end_lineno or function.lineno) + 1)
    return sum(
        1 for n in span if n not in docstring and lines[n - 1].strip() and not lines[n - 1].strip().startswith("#")
    )


def test_functions_and_modules_stay_small() -> None:
    """Small functions and modules (outside migrations and tests): a long one says it does several things."""
    too_long = []
    for path in _sources():
        source = path.read_text()
        lines = source.splitlines()
        if len(lines) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                count = _code_lines(node, lines)
                if count > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {count} code lines")
    assert too_long == []


def test_docs_name_only_paths_and_modules_that_exist() -> None:
    """README and docs name files and modules of the tree as it is (no path left from an older layout)."""
    stale = []
    documents = [ROOT / "README.md", ROOT / "SECURITY.md"] + [
        path for folder in ("docs", "models", "datasets", "configs") for path in sorted((ROOT / folder).rglob("*.md"))
    ]
    for document in documents:
        text = document.read_text()
        for path in set(re.findall(r"\b(?:inspection|gui|calibration|tests|benchmarks|scripts)/[\w./-]*\w", text)):
            if not (ROOT / path).exists():
                stale.append(f"{document.relative_to(ROOT)}: {path}")
        for module in set(re.findall(r"\binspection(?:\.[a-z_]+)+", text)):
            if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None:
                stale.append(f"{document.relative_to(ROOT)}: {module}")
    assert stale == []
