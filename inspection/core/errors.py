"""User-facing errors: one line that says what is wrong and what to do."""


class StationError(Exception):
    """An error the CLI prints as one line (no traceback) before exiting non-zero."""

    exit_code = 2


class ConfigError(StationError):
    """A station or recipe file is wrong."""


class ModelError(StationError):
    """A model file is missing, corrupt, or does not fit the recipe."""


class PartMismatchError(ModelError):
    """The part does not align with its reference image (wrong part, misplaced, or a different view).

    For ``inspect`` of a single image it is an error; the station records the part as FAIL with this as
    its reason and goes on."""


class CameraError(StationError):
    """A camera cannot be found or opened."""


class StorageError(StationError):
    """The database or the image archive cannot be used."""


def brief(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message``, shortened: third-party messages can run to paragraphs."""
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def one_line(message: str) -> str:
    """Collapse a message onto one line (the CLI's promise for every error)."""
    return " ".join(message.split())
