"""The shift report from a real station's records (images, alerts, a review) on top of a synthetic week
before it (the p-chart's baseline): HTML read back, PDF rendered to an image with pdftoppm."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_cli, run_station, write_station
from sqlalchemy import insert, select
from test_measurement_station import template_recipe

from inspection.config import load_station_config
from inspection.config.shifts import ShiftCalendar
from inspection.quality.report import parse_shift
from inspection.recorder.database import open_station_database
from inspection.recorder.schema import InspectionRow, ReviewRow
from inspection.recorder.synthetic import History, fill

ONE_SHIFT_A_DAY = {"timezone": "UTC", "starts": {"day": "00:00"}}


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    config = write_station(
        folder,
        recipe=str(template_recipe(folder)),
        shifts=ONE_SHIFT_A_DAY,
        alerts=[{"rule": "consecutive_fails", "count": 1, "name": "any fail"}],
    )
    engine = open_station_database(load_station_config(config).storage)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    fill(engine, History(today - timedelta(days=7), 7 * 24 * 12, 300.0, 0.1, stations=("test-station",)))
    assert run_station(config, parts=10).records_written == 10
    with engine.begin() as connection:
        failed = (
            connection.execute(
                select(InspectionRow.id).where(InspectionRow.verdict == "fail", InspectionRow.created_at >= today)
            )
            .scalars()
            .first()
        )
        connection.execute(insert(ReviewRow), [{"inspection_id": failed, "created_at": datetime.now(UTC),
                                                "reviewer": "qe-anna", "outcome": "correct", "note": ""}])  # fmt: skip
    return config


def test_html_report_holds_the_shift(station: Path, tmp_path: Path) -> None:
    out = tmp_path / "shift.html"
    result = run_cli("report", "--config", str(station), "--shift", "current", "--format", "html", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "(10 parts, 5 alerts)" in result.stdout  # the synthetic week is before today's shift
    html = out.read_text()
    assert "<th>Parts inspected</th><td>10</td>" in html
    assert "<th>Pass / fail</th><td>5 / 5</td>" in html
    assert html.count("data:image/png;base64,") == 2 + 5  # Pareto, p-chart, and the 5 failed boards
    assert html.count("any fail") == 5 and "qe-anna" in html
    assert re.search(r"<li>\d{4}-\d\d-\d\d \d\d:00: beyond_3_sigma</li>", html)  # 50% fails against a 10% week


def test_pdf_report_renders(station: Path, tmp_path: Path) -> None:
    out = tmp_path / "shift.pdf"
    result = run_cli("report", "--config", str(station), "--shift", "current", "--format", "pdf", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF")
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (Debian's poppler-utils) renders the PDF; scripts/test.sh installs it"
    subprocess.run([pdftoppm, "-png", "-r", "60", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(page.stat().st_size > 10_000 for page in pages)


def test_shift_names_and_errors(station: Path, tmp_path: Path) -> None:
    calendar = ShiftCalendar(timezone="UTC", starts={"early": "06:00", "late": "14:00", "night": "22:00"})
    now = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert parse_shift("current", calendar, now) == (now.date(), "early")
    assert parse_shift("last", calendar, now) == (datetime(2026, 11, 23).date(), "night")
    assert parse_shift("2026-11-20:late", calendar, now) == (datetime(2026, 11, 20).date(), "late")
    bad = run_cli("report", "--config", str(station), "--shift", "2026-11-20:lunch", "--out", str(tmp_path / "x.pdf"))
    assert bad.returncode != 0 and "no shift named 'lunch'" in bad.stderr
    assert not (tmp_path / "x.pdf").exists()
