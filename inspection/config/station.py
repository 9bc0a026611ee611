"""The station file: camera, recipe, storage, measurement, shifts, alerts and line connections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from inspection.config.alert_rules import AlertRule
from inspection.config.cameras import CameraConfig, FolderCamera, PylonCamera
from inspection.config.files import Strict, resolve, validated
from inspection.config.line import FleetSettings, MqttSettings, PlcSettings
from inspection.config.shifts import ShiftCalendar
from inspection.config.storage import Measurement, PipelineSettings, Storage


class StationConfig(Strict):
    station: str = "station-1"
    camera: CameraConfig
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
    camera = config.camera
    if isinstance(camera, PylonCamera) and camera.image_folder is not None:
        camera = camera.model_copy(update={"image_folder": resolve(base, camera.image_folder)})
    elif isinstance(camera, FolderCamera):
        camera = camera.model_copy(update={"path": resolve(base, camera.path)})
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
            "recipe": resolve(base, config.recipe),
            "storage": storage,
            "measurement": measurement,
            "recipes": {index: resolve(base, recipe) for index, recipe in config.recipes.items()},
            "mqtt": mqtt,
        }
    )
