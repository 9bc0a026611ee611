"""GUI test helpers: a station with its own copy of the demo recipe, and a logged-in session."""

from __future__ import annotations

from pathlib import Path

from conftest import DEMO_RECIPE, ROOT, write_station

from gui.bridge import StationBridge
from gui.controller import StationController
from gui.operator_window import OperatorWindow
from gui.services import Services
from gui.session import Session
from inspection.config import load_station_config
from inspection.recorder.accounts import Role, create_user, has_users

PASSWORDS = {"admin": "admin-pass-1", "engineer": "engineer-pass", "operator": "operator-pass"}


def station_with_own_recipe(tmp_path: Path, **overrides: object) -> Path:
    """The demo station with a copy of its recipe (tests may change it), paths made absolute."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(DEMO_RECIPE.read_text().replace("../../", f"{ROOT}/"))
    return write_station(tmp_path, recipe=str(recipe), **overrides)


def logged_in(config: Path, role: Role) -> Session:
    services = Services.open(load_station_config(config).storage)
    session = Session(services)
    engine = services.engine
    if not has_users(engine):
        admin = create_user(engine, "ada", PASSWORDS["admin"], "admin", None)
        create_user(engine, "eric", PASSWORDS["engineer"], "engineer", admin)
        create_user(engine, "olga", PASSWORDS["operator"], "operator", admin)
    session.log_in({"admin": "ada", "engineer": "eric", "operator": "olga"}[role], PASSWORDS[role])
    return session


def operator_window(qtbot, config: Path, role: Role = "operator") -> OperatorWindow:  # type: ignore[no-untyped-def]
    bridge = StationBridge()
    controller = StationController(config, bridge)
    window = OperatorWindow(controller, bridge, logged_in(config, role))
    qtbot.addWidget(window)
    window.show()
    return window
