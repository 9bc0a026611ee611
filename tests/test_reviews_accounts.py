"""Accounts, audit trail, reviews and ``dataset from-records`` on a real station database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_RECIPE, ROOT, run_cli, run_station, write_station
from sqlalchemy import select

from inspection.config import load_station_config
from inspection.ml.dataset.splits import read_split
from inspection.recorder import queries
from inspection.recorder.accounts import (
    MAX_FAILED_LOGINS,
    AccessError,
    User,
    check_password,
    create_user,
    has_users,
    login,
    require,
)
from inspection.recorder.audit import entries
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter
from inspection.recorder.reviews import ReviewBox, add_review, latest_reviews
from inspection.recorder.schema import InspectionRow, RecipeRow

PARTS = 16


@pytest.fixture
def station(tmp_path: Path) -> Path:
    config = write_station(tmp_path)
    assert run_station(config, parts=PARTS).records_written == PARTS
    return config


def engine_of(config: Path):  # type: ignore[no-untyped-def]
    return open_database(load_station_config(config).storage.resolved_database_url())


def test_first_account_is_an_admin_and_only_admins_add_more(station: Path) -> None:
    engine = engine_of(station)
    assert not has_users(engine)
    with pytest.raises(AccessError, match="first account must be an admin"):
        create_user(engine, "olga", "operator-pass", "operator", None)
    admin = create_user(engine, "ada", "admin-pass-1", "admin", None)
    operator = create_user(engine, "olga", "operator-pass", "operator", admin)
    with pytest.raises(AccessError, match="only an admin"):
        create_user(engine, "eve", "engineer-pass", "engineer", operator)
    with pytest.raises(AccessError, match="at least 8"):
        create_user(engine, "bob", "short", "engineer", admin)
    assert login(engine, "olga", "operator-pass") == User("olga", "operator")
    with pytest.raises(AccessError, match="wrong user name or password"):
        login(engine, "olga", "guess")
    actions = [(e.username, e.action) for e in entries(engine)]
    assert ("olga", "login_failed") in actions and ("olga", "login") in actions and ("ada", "user_add") in actions
    with pytest.raises(AccessError, match="may not change thresholds"):
        require(operator, "thresholds")


def test_a_guessed_account_locks_and_the_lock_grows(tmp_path: Path) -> None:
    """Five wrong passwords lock the account for 30 s, the right one included; a further failure after the
    lock doubles it; a good login starts the count again. Every refusal is in the audit trail."""
    engine = open_database(f"sqlite:///{tmp_path / 'accounts.db'}")
    create_user(engine, "ada", "admin-pass-1", "admin", None)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AccessError, match="wrong user name or password"):
            login(engine, "ada", "guess")
    with pytest.raises(AccessError, match=r"locked for (29|30) s after 5 failed logins"):
        login(engine, "ada", "admin-pass-1")
    later = datetime.now(UTC) + timedelta(seconds=31)
    with pytest.raises(AccessError, match="wrong user name or password"):
        login(engine, "ada", "guess", now=later)  # the lock is over: one more guess ...
    # ... and it locks for twice as long, 60 s from that failure (recorded now, 31 s before ``later``)
    with pytest.raises(AccessError, match=r"locked for (29|30) s after 6 failed logins"):
        login(engine, "ada", "admin-pass-1", now=later)
    assert login(engine, "ada", "admin-pass-1", now=later + timedelta(seconds=31)) == User("ada", "admin")
    with pytest.raises(AccessError, match="wrong user name or password"):
        login(engine, "ada", "guess")  # counted from the good login: not locked
    actions = [e.action for e in entries(engine) if e.username == "ada"]
    assert actions.count("login_locked") == 2 and actions.count("login_failed") == 7


def test_passwords_are_salted_and_slow_hashes() -> None:
    from inspection.recorder.accounts import hash_password  # noqa: PLC0415

    first, second = hash_password("same password"), hash_password("same password")
    assert first != second and first.startswith("scrypt$32768$8$1$")
    assert check_password("same password", first) and not check_password("other password", first)


def test_reviews_sit_beside_the_verdict_and_feed_from_records(station: Path, tmp_path: Path) -> None:
    engine = engine_of(station)
    admin = create_user(engine, "ada", "admin-pass-1", "admin", None)
    operator = create_user(engine, "olga", "operator-pass", "operator", admin)
    fails = queries.page(engine, RecordFilter(verdict="fail"), limit=3)
    passes = queries.page(engine, RecordFilter(verdict="pass"), limit=1)
    assert len(fails) == 3 and len(passes) == 1
    add_review(engine, operator, fails[0].id, "correct")
    add_review(engine, operator, fails[1].id, "false_call", note="dust")
    add_review(engine, operator, fails[2].id, "correct", boxes=[ReviewBox("short", 10, 10, 60, 40)])
    add_review(engine, operator, passes[0].id, "escape")  # no box drawn: left out of the dataset
    reviews = latest_reviews(engine)
    assert reviews[fails[1].id].outcome == "false_call" and reviews[fails[1].id].reviewer == "olga"
    # The station's verdict is untouched.
    assert queries.detail(engine, fails[1].id, tmp_path / "data").fields["verdict"] == "fail"  # type: ignore[union-attr]
    assert [e.action for e in entries(engine, action="review")] == ["review"] * 4

    out = tmp_path / "from-records"
    result = run_cli("dataset", "from-records", str(out), "--config", str(station), "--reviewed-only")
    assert result.returncode == 0, result.stderr
    assert "1 escape without boxes" in result.stdout
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["counts"]["images"] == 3
    labelled = {item.path.name: item.labels for split in ("train", "val") for item in read_split(out, split).images}
    by_id = {name.split("_", 1)[1].split(".")[0]: labels for name, labels in labelled.items()}
    assert by_id[fails[1].id] == ()  # false call: defect-free
    assert [label[0] for label in by_id[fails[2].id]] == [1]  # the corrected box: one short
    station_counted = len(queries.detail(engine, fails[0].id, tmp_path / "data").detections)  # type: ignore[union-attr]
    assert 0 < len(by_id[fails[0].id]) <= station_counted


def test_from_records_without_reviews_uses_the_station_boxes(station: Path, tmp_path: Path) -> None:
    out = tmp_path / "all"
    result = run_cli("dataset", "from-records", str(out), "--config", str(station), "--verdict", "fail")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    failed = queries.count(engine_of(station), RecordFilter(verdict="fail"))
    assert manifest["counts"]["images"] == failed and manifest["counts"]["val_images"] >= 1
    bad = run_cli("dataset", "from-records", str(tmp_path / "x"), "--config", str(station), "--since", "yesterday")
    assert bad.returncode == 2 and "not an ISO 8601" in bad.stderr


def test_a_hand_edited_recipe_shows_as_a_new_recipe_hash(tmp_path: Path) -> None:
    """What judged a part is in its record: the hash of the effective recipe (rules, model, references),
    its content kept once. A hand edit of the rules (same name, same version) gives a new hash, and
    ``stats --by recipe`` tells the two apart."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(DEMO_RECIPE.read_text().replace("../../", f"{ROOT}/"))
    config = write_station(tmp_path, recipe=str(recipe))
    assert run_station(config, parts=3).records_written == 3
    recipe.write_text(recipe.read_text().replace("min_area_px: 25", "min_area_px: 1000000"))  # the probe's edit
    assert run_station(config, parts=3).records_written == 3
    engine = engine_of(config)
    with engine.connect() as connection:
        hashes = [
            row[0] for row in connection.execute(select(InspectionRow.recipe_sha256).order_by(InspectionRow.created_at))
        ]
        stored = dict(connection.execute(select(RecipeRow.sha256, RecipeRow.content)).all())
    assert len(set(hashes[:3])) == 1 and len(set(hashes[3:])) == 1 and hashes[0] != hashes[3]
    assert set(stored) == set(hashes)
    assert '"min_area_px":1000000.0' in stored[hashes[3]] and '"min_area_px":25.0' in stored[hashes[0]]
    assert all(hashlib.sha256(content.encode()).hexdigest() == sha for sha, content in stored.items())
    result = run_cli("stats", "--config", str(config), "--by", "recipe", "--json")
    assert result.returncode == 0, result.stderr
    groups = {group["group"]: group["parts"] for group in json.loads(result.stdout)["groups"]}
    assert groups == {f"deeppcb-bare-board@{hashes[0][:12]}": 3, f"deeppcb-bare-board@{hashes[3][:12]}": 3}
