"""User-facing errors: one line that says what is wrong and what to do."""


class StationError(Exception):
    """An error the CLI prints as one line (no traceback) before exiting non-zero."""

    exit_code = 2


class ConfigError(StationError):
    """A station or recipe file is wrong."""


class ModelError(StationError):
    """A model file is missing, corrupt, or does not fit the recipe."""


class CameraError(StationError):
    """A camera cannot be found or opened."""


class StorageError(StationError):
    """The database or the image archive cannot be used."""
