"""Inspection station core: camera -> detector -> rules -> record. Never imports Qt."""

__version__ = "0.1.0"
