"""The records a quality command reads: the station's database, or another one named by URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from inspection.config import StationConfig, load_station_config
from inspection.recorder.database import open_database, open_station_database


def open_records(config_path: Path, database: str | None) -> tuple[StationConfig, Engine]:
    """The station config (shifts, data folder) and the database: its own, or ``database`` (a URL)."""
    config = load_station_config(config_path)
    return config, open_database(database) if database else open_station_database(config.storage)
