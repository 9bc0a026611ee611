"""The station file: camera, recipe, storage, measurement, shifts, alerts and line connections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from inspection.config.alert_rules import AlertRule
from inspection.config.cameras import CameraConfig, FolderCamera, PylonCamera
from inspection.config.files import Strict, resolve, validated
from inspection.config.line import FleetSettings, MqttSettings, PlcSettings
from inspection.config.shifts import ShiftCalendar
from inspection.config.storage import Measurement, PipelineSettings, Storage


class ViewSettings(Strict):
    """One camera of a part seen by several: its camera, and its own recipe (default: the station's)."""

    camera: CameraConfig
    recipe: Path | None = Field(None, description="this view's own recipe; default: the station's (shared)")


class StationConfig(Strict):
    station: str = "station-1"
    camera: CameraConfig
    views: dict[str, ViewSettings] = Field(
        default_factory=dict,
        description="a part seen by several cameras: view name -> camera (and recipe); 'camera' is then the first",
    )

    @model_validator(mode="before")
    @classmethod
    def _first_view_is_the_camera(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("views"):  # the views' cameras win: 'camera' is the first
            first = next(iter(data["views"].values()))
            if isinstance(first, dict) and "camera" in first:
                return {**data, "camera": first["camera"]}
        return data

    @field_validator("views")
    @classmethod
    def _two_or_more_views(cls, value: dict[str, ViewSettings]) -> dict[str, ViewSettings]:
        if len(value) == 1:
            raise ValueError("one view is a station's camera: give 'camera', or two or more views")
        return value

    recipe: Path
    storage: Storage = Storage()
    pipeline: PipelineSettings = PipelineSettings()
    measurement: Measurement = Measurement()
    shifts: ShiftCalendar = ShiftCalendar()
    alerts: list[AlertRule] = Field(default_factory=list, description="rules watched while the station runs")

    @field_validator("recipes")
    @classmethod
    def _recipe_indexes(cls, value: dict[int, Path]) -> dict[int, Path]:
        if any(not 1 <= index <= 65535 for index in value):
            raise ValueError("recipe indexes run from 1 to 65535 (0 means: keep the current recipe)")
        return value

    recipes: dict[int, Path] = Field(
        default_factory=dict,
        description="index (1-65535) -> recipe the line may switch to (PLC recipe index, MQTT recipe command); "
        "same model and classes as 'recipe'",
    )
    plc: PlcSettings | None = Field(None, description="PLC handshake over Modbus TCP; off when absent")
    mqtt: MqttSettings | None = Field(None, description="verdicts, state and alerts over MQTT; off when absent")
    fleet: FleetSettings | None = Field(None, description="forward records to a central database; off when absent")
    outputs: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="further line outputs by their registered type name, each with its own settings",
    )


def load_station_config(path: Path) -> StationConfig:
    path = Path(path)
    config = validated(StationConfig, path)
    base = path.parent
    camera = _resolved_camera(config.camera, base)
    views = {
        name: view.model_copy(
            update={"camera": _resolved_camera(view.camera, base),
                    "recipe": None if view.recipe is None else resolve(base, view.recipe)}
        )
        for name, view in config.views.items()
    }  # fmt: skip
    storage = config.storage.model_copy(update={"data_dir": resolve(base, config.storage.data_dir)})
    measurement = config.measurement
    if measurement.calibration is not None:
        measurement = measurement.model_copy(update={"calibration": resolve(base, measurement.calibration)})
    mqtt = config.mqtt
    if mqtt is not None and mqtt.ca_file is not None:
        mqtt = mqtt.model_copy(update={"ca_file": resolve(base, mqtt.ca_file)})
    return config.model_copy(
        update={
            "camera": camera,
            "views": views,
            "recipe": resolve(base, config.recipe),
            "storage": storage,
            "measurement": measurement,
            "recipes": {index: resolve(base, recipe) for index, recipe in config.recipes.items()},
            "mqtt": mqtt,
        }
    )


def _resolved_camera(camera: CameraConfig, base: Path) -> CameraConfig:
    """The camera's folders relative to the station file."""
    if isinstance(camera, PylonCamera) and camera.image_folder is not None:
        return camera.model_copy(update={"image_folder": resolve(base, camera.image_folder)})
    if isinstance(camera, FolderCamera):
        return camera.model_copy(update={"path": resolve(base, camera.path)})
    return camera
