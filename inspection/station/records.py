"""The records a quality command reads: the station's database, or another one named by URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from inspection.config import StationConfig, load_station_config
from inspection.core.errors import ConfigError
from inspection.outputs.fleet import central_url
from inspection.recorder.database import open_database, require_existing

FLEET = "fleet"


def open_records(config_path: Path, database: str | None) -> tuple[StationConfig, Engine]:
    """The station config (shifts, data folder) and the database: its own, ``database`` (a URL), or
    ``fleet``: the central database of the station's fleet section (every station's records)."""
    config = load_station_config(config_path)
    if database == FLEET:
        if config.fleet is None:
            raise ConfigError(f"{config_path}: no fleet section; --database fleet reads the fleet's central database")
        return config, open_database(central_url(config.fleet).render_as_string(hide_password=False))
    url = database or config.storage.resolved_database_url()
    require_existing(url)  # read-only: never creates a database (nor writes in the data folder)
    return config, open_database(url)
