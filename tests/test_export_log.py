"""Defect-log export on real SQLite files: a known synthetic history and a real station's records, read
back with standard readers (csv, pyarrow, openpyxl, json)."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_cli, run_station, write_station
from openpyxl import load_workbook
from sqlalchemy import Engine, select, update

from inspection.config import load_station_config
from inspection.core.errors import StationError
from inspection.recorder import record_export as exporter
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import DetectionRow, InspectionRow
from inspection.recorder.synthetic import History, fill

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
HISTORY = History(START, parts=5000, interval_s=6.0, fail_rate=0.1, stations=("line-a", "line-b"))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path = tmp_path_factory.mktemp("history") / "inspection.db"
    engine = open_database(f"sqlite:///{path}")
    assert fill(engine, HISTORY) == HISTORY.parts
    return engine


def expected(engine: Engine, where: RecordFilter) -> tuple[dict[str, str], int]:
    """(id -> verdict, number of detections) of the filtered records, straight from the database."""
    with engine.connect() as connection:
        rows = connection.execute(where.apply(select(InspectionRow.id, InspectionRow.verdict))).all()
        ids = [row.id for row in rows]
        detections = sum(
            len(
                connection.execute(
                    select(DetectionRow.id).where(DetectionRow.inspection_id.in_(ids[i : i + 500]))
                ).all()
            )
            for i in range(0, len(ids), 500)
        )
    return {row.id: row.verdict for row in rows}, detections


@pytest.mark.parametrize("fmt", exporter.FORMATS)
def test_every_format_round_trips(history: Engine, tmp_path: Path, fmt: exporter.Format) -> None:
    where = RecordFilter(station="line-b", since=START + timedelta(hours=1), until=START + timedelta(hours=5))
    verdicts, detection_count = expected(history, where)
    assert len(verdicts) == 4 * 3600 // 6 // 2  # 4 hours, one part every 6 s, every other part at line-b
    out = tmp_path / ("export" if fmt in ("csv", "parquet") else f"export.{fmt}")
    summary = exporter.export_log(history, where, out, fmt)
    assert summary.inspections == len(verdicts) and summary.detections == detection_count
    inspections, detections = read_back(out, fmt)
    assert {row["id"]: row["verdict"] for row in inspections} == verdicts
    assert len(detections) == detection_count
    assert {row["inspection_id"] for row in detections} <= set(verdicts)
    first = min(str(row["created_at"]) for row in inspections)
    assert first in ("2026-11-02T07:00:06+00:00", "2026-11-02 07:00:06+00:00")  # ISO 8601 with its zone
    assert [name for name, _, _ in exporter.INSPECTION_COLUMNS] == list(inspections[0])
    assert not list(tmp_path.glob("*.partial"))


def read_back(out: Path, fmt: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    if fmt == "csv":
        with open(out / "inspections.csv", newline="") as a, open(out / "detections.csv", newline="") as b:
            return list(csv.DictReader(a)), list(csv.DictReader(b))
    if fmt == "parquet":
        return pq.read_table(out / "inspections.parquet").to_pylist(), pq.read_table(
            out / "detections.parquet"
        ).to_pylist()
    if fmt == "jsonl":
        inspections = [json.loads(line) for line in out.read_text().splitlines()]
        detections = [{"inspection_id": i["id"], **d} for i in inspections for d in i.pop("detections")]
        return inspections, detections
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["inspections", "detections", "summary"]
    sheets = []
    for name in ("inspections", "detections"):
        rows = list(book[name].iter_rows(values_only=True))
        width = len(rows[0])  # empty cells at a row's end are not stored
        sheets.append([dict(zip(rows[0], row + (None,) * (width - len(row)), strict=True)) for row in rows[1:]])
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["inspections"] == len(sheets[0])
    assert summary["pass"] + summary["fail"] == len(sheets[0])
    return sheets[0], sheets[1]


def test_filters_by_verdict_class_and_serial(history: Engine, tmp_path: Path) -> None:
    for where in (RecordFilter(verdict="fail"), RecordFilter(label="short"), RecordFilter(part_serial="SN0000001")):
        verdicts, _ = expected(history, where)
        summary = exporter.export_log(history, where, tmp_path / f"x{len(verdicts)}.jsonl", "jsonl")
        assert summary.inspections == len(verdicts) > 0


def test_existing_output_is_never_overwritten_and_a_failed_export_leaves_nothing(
    history: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "log.xlsx"
    out.write_text("keep me")
    with pytest.raises(StationError, match="already exists"):
        exporter.export_log(history, RecordFilter(), out, "xlsx")
    assert out.read_text() == "keep me"
    monkeypatch.setattr(exporter, "EXCEL_MAX_ROWS", 100)  # a small sheet limit, as Excel's own for a big log
    with pytest.raises(StationError, match="narrow the filter or export to parquet"):
        exporter.export_log(history, RecordFilter(), tmp_path / "big.xlsx", "xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.xlsx"]


def test_image_bundle_from_a_real_station_stays_inside_the_data_folder(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    assert run_station(config, parts=6).records_written == 6
    storage = load_station_config(config).storage
    engine = open_database(storage.resolved_database_url())
    with engine.begin() as connection:
        victim = connection.execute(select(InspectionRow.id)).scalars().first()
        connection.execute(
            update(InspectionRow).where(InspectionRow.id == victim).values(image_path="../../../etc/passwd")
        )
    out = tmp_path / "export"
    exporter.export_log(engine, RecordFilter(), out, "csv", storage.data_dir, with_images=True)
    with zipfile.ZipFile(out / "images.zip") as bundle:
        manifest = list(csv.DictReader(bundle.read("manifest.csv").decode().splitlines()))
        assert len(manifest) == 5 and victim not in {row["id"] for row in manifest}
        for row in manifest:
            assert row["file"] == f"images/{row['id']}.png"
            assert sha256(bundle.read(row["file"])).hexdigest() == row["sha256"]
    assert sorted(p.name for p in out.iterdir()) == ["detections.csv", "images.zip", "inspections.csv", "summary.csv"]


def test_export_log_command(history: Engine, tmp_path: Path) -> None:
    url = str(history.url)
    out = tmp_path / "fails.parquet.d"
    result = run_cli("export-log", "--database", url, "--out", str(out), "--format", "parquet", "--verdict", "fail",
                     "--station", "line-a", "--since", "2026-11-02T06:00+00:00")  # fmt: skip
    assert result.returncode == 0, result.stderr
    verdicts, _ = expected(history, RecordFilter(verdict="fail", station="line-a"))
    assert pq.read_table(out / "inspections.parquet").num_rows == len(verdicts)
    again = run_cli("export-log", "--database", url, "--out", str(out), "--format", "parquet")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = run_cli(
        "export-log", "--database", url, "--out", str(tmp_path / "y"), "--format", "csv", "--since", "yesterday"
    )
    assert bad.returncode != 0 and "not an ISO 8601 date" in bad.stderr


def test_readme_documents_every_exported_column() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name, kind, meaning in exporter.INSPECTION_COLUMNS + exporter.DETECTION_COLUMNS:
        assert f"| `{name}` | {kind} | {meaning} |" in readme
