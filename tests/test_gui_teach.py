"""Teaching a new product in the app (issue 18, item 4), through the real widgets (offscreen) on the pylon
emulator: capture 30 good parts, train a tiny model in a separate process, set the threshold, save, and run
10 parts with the new recipe; and Cancel during training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from anomaly_parts import make_parts
from conftest import run_station, write_station
from sqlalchemy import select, text

pytest.importorskip("pytestqt")

from gui_helpers import logged_in, operator_window

from gui.teach_dialog import TeachDialog
from inspection.config import load_recipe, load_station_config
from inspection.recorder.audit import entries
from inspection.recorder.database import open_database
from inspection.recorder.schema import InspectionRow


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_parts(tmp_path_factory.mktemp("teach-parts"))


def _dialog(qtbot, tmp_path: Path, parts: Path) -> tuple[TeachDialog, Path]:  # type: ignore[no-untyped-def]
    station = write_station(tmp_path, image_folder=parts / "good")
    session = logged_in(station, "engineer")
    dialog = TeachDialog(
        session, station, load_station_config(station), work_root=tmp_path / "teach",
        registry=tmp_path / "registry", recipes=tmp_path / "recipes",
    )  # fmt: skip
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog, station


def _capture(qtbot, dialog: TeachDialog, product: str) -> None:  # type: ignore[no-untyped-def]
    dialog.name.setText(product)
    dialog.count.setValue(30)
    dialog.capture_button.click()
    qtbot.waitUntil(lambda: dialog.train_button.isEnabled() or bool(dialog.error.text()), timeout=60_000)
    assert dialog.error.text() == ""
    assert dialog.counter.text().startswith("30 good parts in")


def test_teach_in_captures_trains_sets_the_threshold_saves_and_the_station_runs_it(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path, parts: Path
) -> None:
    dialog, station = _dialog(qtbot, tmp_path, parts)
    assert not dialog.save_button.isEnabled() and not dialog.train_button.isEnabled()
    _capture(qtbot, dialog, "crops-gui")
    dialog.train_button.click()
    assert dialog.cancel_button.isEnabled() and not dialog.capture_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled() or "failed" in dialog.status.text(), timeout=300_000)
    assert dialog.progress.value() == 100 and len(dialog.histogram.good) >= 5, dialog.status.text()
    dialog.slider.setValue(60)
    scores = dialog.histogram.good
    failing = sum(score >= 0.6 for score in scores)
    assert f"threshold 0.60: {failing / len(scores) * 100:.1f}% false rejects" in dialog.rate.text()
    dialog.score_bad_parts(parts / "test/defect")
    assert dialog.bad_label.text().startswith("known bad parts: ") and "of 20 would fail" in dialog.bad_label.text()
    dialog.grab().save(str(tmp_path / "teach-in.png"))
    dialog.save_button.click()

    assert dialog.saved == tmp_path / "recipes" / "crops-gui.yaml"
    recipe = load_recipe(dialog.saved)
    assert recipe.classes == ["anomaly"] and recipe.default_rule.min_confidence == 0.6
    assert yaml.safe_load(station.read_text())["recipe"] == "recipes/crops-gui.yaml"
    summary = run_station(station, parts=10)
    assert summary.records_written == 10 and not summary.errors
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'inspection.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(InspectionRow.__table__)).mappings().all()
        audit = connection.execute(text("SELECT username, action, detail FROM audit_log")).all()
    assert {row["recipe_name"] for row in rows} == {"crops-gui"}
    assert all((row["verdict"] == "fail") == (row["anomaly_score"] >= 0.6) for row in rows)
    taught = [(user, json.loads(detail)) for user, action, detail in audit if action == "product_teach"]
    assert len(taught) == 1 and taught[0][0] == "eric" and taught[0][1]["threshold"] == 0.6


def test_cancel_stops_training_registers_nothing_and_keeps_the_parts(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path, parts: Path
) -> None:
    dialog, _ = _dialog(qtbot, tmp_path, parts)
    _capture(qtbot, dialog, "crops-cancel")
    dialog.train_button.click()
    qtbot.wait(300)
    dialog.cancel_button.click()
    assert "cancelled" in dialog.status.text()
    assert not (tmp_path / "registry" / "crops-cancel").exists()
    assert not (tmp_path / "teach" / "crops-cancel" / "run").exists()
    assert len(list((tmp_path / "teach" / "crops-cancel" / "good").iterdir())) == 30
    assert dialog.train_button.isEnabled()  # another try with the same parts


def test_the_operator_window_opens_teach_in_for_engineers_only(qtbot, tmp_path: Path, parts: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_station(tmp_path, image_folder=parts / "good")
    operator = operator_window(qtbot, config, "operator")
    assert not operator.teach_button.isEnabled() and operator.open_teach() is None
    assert "Only engineers" in operator.message.text()
    engineer = operator_window(qtbot, config, "engineer")
    assert engineer.teach_button.isEnabled()
    dialog = engineer.open_teach()
    assert isinstance(dialog, TeachDialog)
    qtbot.addWidget(dialog)
    dialog.reject()
    denied = [e for e in entries(engineer.session.services.engine) if e.action == "denied"]
    assert [(e.username, e.detail["action"]) for e in denied] == [("olga", "product_teach")]
