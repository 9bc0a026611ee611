"""Recipe validation and the PASS/FAIL rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from inspection.cameras import make_camera
from inspection.config import ClassRule, OtherCamera, Recipe, load_recipe, load_station_config
from inspection.core.errors import ConfigError
from inspection.core.types import Detection, Verdict
from inspection.quality.rules import decide

CLASSES = ["open", "short", "spur"]


def recipe(**changes: object) -> Recipe:
    base: dict[str, object] = {"name": "r", "model": "m.pt", "classes": CLASSES}
    base.update(changes)
    return Recipe.model_validate(base)


def det(label: str, confidence: float, box: tuple[float, float, float, float] = (10, 10, 30, 30)) -> Detection:
    return Detection(label, CLASSES.index(label), confidence, box)


def test_no_kept_detection_passes() -> None:
    decision = decide([det("short", 0.3)], recipe())
    assert decision.verdict is Verdict.PASS and decision.reasons == () and decision.kept == ()


def test_reason_counts_class_at_threshold() -> None:
    decision = decide([det("short", 0.9), det("short", 0.6, (50, 50, 70, 70)), det("open", 0.2)], recipe())
    assert decision.verdict is Verdict.FAIL
    assert decision.reasons == ("2 x short >= 0.50",)


def test_per_class_confidence_area_and_count() -> None:
    rules = {
        "short": ClassRule(min_confidence=0.8, min_area_px=0, max_count=0),
        "spur": ClassRule(min_confidence=0.3, min_area_px=500, max_count=1),
    }
    r = recipe(rules=rules)
    assert decide([det("short", 0.7)], r).verdict is Verdict.PASS  # below its class threshold
    assert decide([det("spur", 0.9, (0, 0, 10, 10))], r).verdict is Verdict.PASS  # 100 px^2 < 500
    one_spur = [det("spur", 0.9, (0, 0, 30, 30))]
    assert decide(one_spur, r).verdict is Verdict.PASS  # one allowed
    two_spurs = [*one_spur, det("spur", 0.4, (40, 40, 70, 70))]
    assert decide(two_spurs, r).reasons == ("2 x spur >= 0.30 (max 1)",)


def test_roi_and_ignore_regions() -> None:
    r = recipe(roi=(0, 0, 100, 100), ignore=[(0, 0, 40, 40)])
    assert decide([det("open", 0.9, (200, 200, 220, 220))], r).verdict is Verdict.PASS  # outside ROI
    assert decide([det("open", 0.9, (10, 10, 30, 30))], r).verdict is Verdict.PASS  # in an ignore mask
    assert decide([det("open", 0.9, (60, 60, 80, 80))], r).verdict is Verdict.FAIL


def test_rules_for_unknown_classes_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"name": "r", "model": "m.pt", "classes": CLASSES, "rules": {"dent": {}}}))
    with pytest.raises(ConfigError, match="unknown classes"):
        load_recipe(path)


def test_unknown_nested_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        yaml.safe_dump({"name": "r", "model": "m.pt", "classes": CLASSES, "default_rule": {"min_conf": 0.3}})
    )
    with pytest.raises(ConfigError, match=r"unknown key 'default_rule.min_conf'"):
        load_recipe(path)


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "r.yaml").write_text(yaml.safe_dump({"name": "r", "model": "../m.pt", "classes": CLASSES}))
    (tmp_path / "station.yaml").write_text(
        yaml.safe_dump(
            {
                "camera": {"type": "folder", "path": "imgs"},
                "recipe": "recipes/r.yaml",
                "storage": {"data_dir": "d"},
            }
        )
    )
    config = load_station_config(tmp_path / "station.yaml")
    assert config.recipe == (tmp_path / "recipes" / "r.yaml").resolve()
    assert config.camera.path == (tmp_path / "imgs").resolve()  # type: ignore[union-attr]
    assert config.storage.data_dir == (tmp_path / "d").resolve()
    assert load_recipe(config.recipe).model == (tmp_path / "m.pt").resolve()


def test_camera_type_is_a_discriminated_choice(tmp_path: Path) -> None:
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump({"camera": {"path": "imgs"}, "recipe": "r.yaml"}))
    with pytest.raises(ConfigError, match="camera"):
        load_station_config(path)  # no type
    path.write_text(yaml.safe_dump({"camera": {"type": "folder", "path": "imgs", "exposure": 3}, "recipe": "r.yaml"}))
    with pytest.raises(ConfigError, match=r"unknown key 'camera\.folder\.exposure'"):
        load_station_config(path)  # a built-in type's settings are checked as before
    path.write_text(yaml.safe_dump({"camera": {"type": "webcam", "device": 0}, "recipe": "r.yaml"}))
    camera = load_station_config(path).camera  # a plug-in's type: checked by that type when the station is built
    assert isinstance(camera, OtherCamera) and camera.settings() == {"type": "webcam", "device": 0}
    with pytest.raises(ConfigError, match=r"unknown camera type 'webcam'; known: \['folder', 'opencv', 'pylon'\]"):
        make_camera(camera)
