"""Station and recipe configuration: YAML validated by pydantic, unknown keys rejected, one module per
concept (files, recipe, camera, storage, line, station, shifts, alert rules, PLC register map); the names
most modules need are importable from here.

Relative paths in a file are resolved against that file's folder, so a config can be moved
together with its recipes, models and images.
"""

from inspection.config.cameras import (
    CameraConfig,
    FolderCamera,
    OpenCvCamera,
    OtherCamera,
    PylonCamera,
    Reconnect,
    Trigger,
)
from inspection.config.files import (
    DEMO_CONFIG,
    DEMO_RECIPE,
    PROJECT_ROOT,
    describe_validation_error,
    replace_config_file,
)
from inspection.config.line import FleetSettings, MqttSettings, PlcSettings
from inspection.config.recipe import Box, ClassRule, Recipe, load_recipe
from inspection.config.station import StationConfig, load_station_config
from inspection.config.storage import Measurement, PipelineSettings, Retention, Storage

__all__ = [
    "DEMO_CONFIG", "DEMO_RECIPE", "PROJECT_ROOT", "Box", "CameraConfig", "ClassRule", "FleetSettings", "FolderCamera",
    "Measurement", "MqttSettings", "OpenCvCamera", "OtherCamera", "PipelineSettings", "PlcSettings", "PylonCamera",
    "Recipe", "Reconnect", "Retention", "StationConfig", "Storage", "Trigger", "describe_validation_error",
    "load_recipe", "load_station_config", "replace_config_file",
]  # fmt: skip
