"""Roles, audit and review through the real widgets (offscreen), on the real station and SQLite file."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import run_cli, run_station
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt")

from gui_helpers import PASSWORDS, logged_in, operator_window, station_with_own_recipe

from gui.login_dialog import FirstAdminDialog, LoginDialog
from gui.rules_dialog import RulesDialog
from gui.services import Services
from gui.session import Session
from gui.widgets.image_view import ImageView
from inspection.config import load_recipe, load_station_config
from inspection.recorder.accounts import has_users
from inspection.recorder.audit import entries
from inspection.recorder.reviews import latest_reviews


def run_parts(window, qtbot, parts: int = 12) -> None:  # type: ignore[no-untyped-def]
    window.start(parts)
    qtbot.waitUntil(lambda: window.state.shown.kind == "stopped" and not window.controller.running, timeout=60_000)


def test_an_operator_cannot_change_a_threshold_an_engineer_can_both_audited(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = station_with_own_recipe(tmp_path)
    recipe_path = load_station_config(config).recipe
    before = recipe_path.read_text()

    operator = operator_window(qtbot, config, "operator")
    assert not operator.rules_button.isEnabled()
    assert operator.open_rules() is None
    assert recipe_path.read_text() == before

    engineer = operator_window(qtbot, config, "engineer")
    run_parts(engineer, qtbot)
    dialog = engineer.open_rules()
    assert isinstance(dialog, RulesDialog)
    qtbot.addWidget(dialog)
    station_said = engineer.latest.record.verdict.value.upper()  # type: ignore[union-attr]
    assert f"the station said {station_said}" in dialog.outcome.text()
    dialog.editors["(default)"][0].setValue(0.99)
    dialog.editors["(default)"][1].setValue(1e6)  # no defect is that large: nothing counts any more
    assert "PASS" in dialog.outcome.text()  # the preview follows at once
    dialog.editors["short"][2].setValue(2)
    dialog.save()
    assert dialog.saved is not None
    recipe = load_recipe(recipe_path)
    assert recipe.default_rule.min_confidence == 0.99 and recipe.rules["short"].max_count == 2
    assert "# Bare PCB inspection" in recipe_path.read_text()  # comments kept
    assert recipe.version == "2" and engineer.recipe.version == "2"  # a rule change is a new version
    run_parts(engineer, qtbot, 4)  # judged by the new rules: the records say so
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        versions = [row[0] for row in db.execute("SELECT recipe_version FROM inspections ORDER BY created_at, rowid")]
    assert versions == ["1"] * 12 + ["2"] * 4

    trail = entries(engineer.session.services.engine)
    denied = [e for e in trail if e.action == "denied"]
    changed = [e for e in trail if e.action == "threshold_change"]
    assert [e.username for e in denied] == ["olga"] and denied[0].detail["action"] == "thresholds"
    assert [e.username for e in changed] == ["eric"]
    assert changed[0].detail["after"]["default_rule"]["min_confidence"] == 0.99
    assert changed[0].detail["version"] == {"before": "1", "after": "2"}
    assert {"start", "login"} <= {e.action for e in trail}


def _first_failed_record(qtbot, window):  # type: ignore[no-untyped-def]
    """The History's first failed record and its detail dialog (with the review panel), as an operator opens it."""
    history = window.open_history()
    qtbot.addWidget(history)
    history.verdict.setCurrentText("fail")
    history.apply_filter()
    record = history.model.rows[0]
    dialog = history.open_row(history.model.index(0, 0))
    assert dialog is not None and dialog.review is not None
    qtbot.addWidget(dialog)
    return record, dialog


def test_review_in_the_history_lands_in_the_database_and_in_from_records(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = station_with_own_recipe(tmp_path, measurement={"mm_per_px": 0.0208})
    assert run_station(config, parts=12).records_written == 12
    window = operator_window(qtbot, config, "operator")
    record, dialog = _first_failed_record(qtbot, window)
    review = dialog.review
    view = dialog.findChild(ImageView)
    assert review.history.text() == "Not reviewed yet."
    # Listed by class and size in mm (the station has a scale), with the detector's confidence.
    first = review.list.item(0).text()
    assert re.fullmatch(r"\S+  \d+\.\d\d x \d+\.\d\d mm  \(\d\.\d\d\)", first), first
    review.choose("correct")
    review.list.setCurrentRow(1)
    assert view.highlighted == 1  # choosing a row highlights its box
    review.list.setCurrentRow(0)
    review.classes.setCurrentText("spur")
    review.change_selected()  # the first box was a spur, not what the station said
    review.draw.setChecked(True)
    review.add_box(10, 20, 60, 50)  # as the image view emits it after a drag: its class is asked first
    assert review.add_button.isVisibleTo(review) and "class of the drawn box" in review.message.text()
    review.save()
    assert "Add or discard" in review.message.text()  # nothing saved with a box half-drawn
    review.classes.setCurrentText("short")
    review.add_pending()
    drawn = [(d.label, d.box, d.confidence) for d, _ in view.boxes]
    assert drawn[0][0] == "spur" and drawn[-1] == ("short", (10, 20, 60, 50), -1.0)
    assert all(confidence >= 0 for _, _, confidence in drawn[1:-1])  # unchanged boxes keep their confidence
    assert "(reviewer)" in review.list.item(0).text() and "(reviewer)" not in review.list.item(1).text()
    view.set_zoom(4.0, around=(100.0, 100.0))
    assert view.zoom == 4.0
    review.zoom_fit.click()
    assert view.zoom == 1.0
    review.save()
    assert review.message.text().startswith("Saved"), review.message.text()
    again = window.open_history().open_row(window.history.model.index(0, 0))  # the part opened again
    qtbot.addWidget(again)
    assert again.review.history.text().startswith("Reviewed before: Correct by olga, ")
    assert [b.label for b in again.review.boxes][-1] == "short"  # it starts from that review's boxes

    stored = latest_reviews(window.session.services.engine)[record.id]
    assert stored.reviewer == "olga" and stored.outcome == "correct"
    assert stored.boxes is not None and stored.boxes[0].label == "spur" and stored.boxes[-1].x1 == 10

    out = tmp_path / "reviewed"
    result = run_cli("dataset", "from-records", str(out), "--config", str(config), "--reviewed-only")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["counts"]["images"] == 1 and manifest["counts"]["boxes"] == len(stored.boxes)
    labels = next((out / "labels").rglob(f"*{record.id}*.txt")).read_text().splitlines()
    assert len(labels) == len(stored.boxes) and labels[0].startswith("3 ")  # spur is class 3


def test_first_run_creates_the_admin_then_logins_and_idle_logout(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = station_with_own_recipe(tmp_path)
    services = Services.open(load_station_config(config).storage)
    engine = services.engine
    session = Session(services, idle_minutes=0.002)  # 120 ms
    first = FirstAdminDialog(session)
    qtbot.addWidget(first)
    first.username.setText("root")
    first.password.setText("long enough")
    first.repeat.setText("long enougH")
    first.submit()
    assert "differ" in first.error.text() and not has_users(engine)
    first.repeat.setText("long enough")
    first.submit()
    assert session.user is not None and session.user.role == "admin"
    qtbot.waitUntil(lambda: session.user is None, timeout=5_000)  # idle logout
    login = LoginDialog(session)
    qtbot.addWidget(login)
    login.username.setText("root")
    login.password.setText("wrong password")
    login.submit()
    assert session.user is None and "wrong user name or password" in login.error.text()
    login.password.setText("long enough")
    login.submit()
    assert session.user is not None
    actions = [e.action for e in entries(engine)]
    assert {"user_add", "login", "login_failed", "idle_logout"} <= set(actions)
    assert PASSWORDS  # the helper's accounts are not used here: the first run made its own


def test_logged_out_nobody_can_start(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = station_with_own_recipe(tmp_path)
    window = operator_window(qtbot, config, "operator")
    window.session.log_out()
    assert not window.start_button.isEnabled()
    window.start()
    assert "Log in" in window.message.text() and not window.controller.running
    logged_in(config, "operator")  # another session logging in does not unlock this window
    assert not window.start_button.isEnabled()


def test_settings_camera_archive_and_model_choice_by_an_engineer(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil  # noqa: PLC0415

    from conftest import ROOT  # noqa: PLC0415

    from gui.settings_dialog import SettingsDialog  # noqa: PLC0415

    config = station_with_own_recipe(tmp_path)
    registry = tmp_path / "models"
    shutil.copytree(ROOT / "models" / "deeppcb-yolov8n", registry / "deeppcb-yolov8n")
    operator = operator_window(qtbot, config, "operator")
    assert not operator.settings_button.isEnabled() and operator.open_settings() is None

    engineer = logged_in(config, "engineer")
    station = load_station_config(config)
    dialog = SettingsDialog(engineer, config, station, registry)
    qtbot.addWidget(dialog)
    serials = [dialog.camera.itemText(i) for i in range(dialog.camera.count())]
    assert "0815-0001" in serials  # the second emulated camera
    dialog.camera.setCurrentText("0815-0001")
    dialog.archive.setCurrentText("fail")
    dialog.model.setCurrentText("deeppcb-yolov8n")
    dialog.save()
    assert dialog.error.text() == "", dialog.error.text()
    changed = load_station_config(config)
    assert changed.camera.serial == "0815-0001" and changed.storage.archive == "fail"  # type: ignore[union-attr]
    assert load_recipe(changed.recipe).model == registry / "deeppcb-yolov8n"  # the folder: its backend by device
    trail = {(e.username, e.action) for e in entries(engineer.services.engine)}
    assert {("olga", "denied"), ("eric", "station_change"), ("eric", "model_change")} <= trail


def test_the_audit_view_says_when_the_trail_was_tampered_with(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = station_with_own_recipe(tmp_path)
    engineer = operator_window(qtbot, config, "engineer")
    dialog = engineer.open_audit()
    qtbot.addWidget(dialog)
    assert dialog.chain.text().startswith("The trail is whole:")
    database = load_station_config(config).storage.resolved_database_url().removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE audit_log SET action = 'nothing' WHERE id = 1")  # e.g. hide the first account's creation
    dialog = engineer.open_audit()
    qtbot.addWidget(dialog)
    assert "tampered with at entry 1: it was changed" in dialog.chain.text()


def test_enter_in_the_note_saves_the_chosen_outcome(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Choose False call, type a note, press Enter: the review saved is a false call with that note (Enter
    once pressed the dialog's first button, Correct)."""
    config = station_with_own_recipe(tmp_path)
    assert run_station(config, parts=4).records_written == 4
    window = operator_window(qtbot, config, "operator")
    record, dialog = _first_failed_record(qtbot, window)
    dialog.show()
    qtbot.waitExposed(dialog)
    review = dialog.review
    qtbot.mouseClick(review.outcome_buttons["false_call"], Qt.MouseButton.LeftButton)
    review.note.setFocus()
    qtbot.keyClicks(review.note, "dust on the lens")
    qtbot.keyClick(review.note, Qt.Key.Key_Return)
    assert review.outcome == "false_call"
    stored = latest_reviews(window.session.services.engine)[record.id]
    assert stored.outcome == "false_call" and stored.note == "dust on the lens"
    assert review.message.text().startswith("Saved: False call"), review.message.text()
