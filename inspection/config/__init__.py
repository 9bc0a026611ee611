"""Station and recipe configuration: YAML validated by pydantic, unknown keys rejected.

Relative paths in a file are resolved against that file's folder, so a config can be moved
together with its recipes, models and images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.engine import make_url

from inspection.config.alert_rules import AlertRule
from inspection.config.plc_registers import INPUT_WORDS, OUTPUT_WORDS
from inspection.config.shifts import ShiftCalendar
from inspection.core.atomic import write_text_atomic
from inspection.core.errors import ConfigError
from inspection.core.images import DEFAULT_MAX_IMAGE_PIXELS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = PROJECT_ROOT / "configs" / "demo_station.yaml"
DEMO_RECIPE = PROJECT_ROOT / "configs" / "recipes" / "deeppcb.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Box = tuple[float, float, float, float]
_M = TypeVar("_M", bound=BaseModel)


# ---------------------------------------------------------------- recipe
class ClassRule(_Strict):
    """When detections of one class make a part FAIL."""

    min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    min_area_px: float = Field(0.0, ge=0.0, description="smaller boxes (px^2) are ignored")
    max_count: int = Field(0, ge=0, description="more than this many kept detections -> FAIL")
    # Sizes on the part (need the station's scale, see ``measurement``): the longest side of the box, and
    # its area. A detection counts only inside these limits.
    min_size_mm: float = Field(0.0, ge=0.0, description="smaller defects (longest side, mm) are ignored")
    max_size_mm: float | None = Field(None, gt=0.0, description="larger defects (longest side, mm) are ignored")
    min_area_mm2: float = Field(0.0, ge=0.0, description="smaller defects (box area, mm^2) are ignored")
    max_area_mm2: float | None = Field(None, gt=0.0, description="larger defects (box area, mm^2) are ignored")

    def uses_mm(self) -> bool:
        return (
            bool(self.min_size_mm or self.min_area_mm2)
            or self.max_size_mm is not None
            or (self.max_area_mm2 is not None)
        )


class Recipe(_Strict):
    name: str
    version: str = "1"
    model: Path
    classes: list[str] = Field(min_length=1)
    default_rule: ClassRule = ClassRule()
    rules: dict[str, ClassRule] = {}
    roi: Box | None = Field(None, description="only detections whose centre lies inside count")
    ignore: list[Box] = Field(default_factory=list, description="detections centred here never count")
    reference: Path | None = Field(
        None,
        description=(
            "reference image(s) of the good part (file, folder or glob), for models that compare each part "
            "with it; with several, each part is compared with the most similar one"
        ),
    )
    imgsz: int = Field(640, ge=32, le=4096, description="detector input size (pixels, square)")
    iou: float = Field(0.5, gt=0.0, le=1.0, description="non-maximum suppression IoU")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _rules_name_known_classes(self) -> Recipe:
        unknown = sorted(set(self.rules) - set(self.classes))
        if unknown:
            raise ValueError(f"rules for unknown classes {unknown}; the recipe's classes are {self.classes}")
        return self

    def rule_for(self, label: str) -> ClassRule:
        return self.rules.get(label, self.default_rule)

    def uses_mm(self) -> bool:
        """Whether some rule limits sizes in millimetres (then the station needs a scale)."""
        return any(rule.uses_mm() for rule in [self.default_rule, *self.rules.values()])


# ---------------------------------------------------------------- cameras
class Trigger(_Strict):
    mode: Literal["free_run", "software", "hardware"] = "software"
    line: str = Field("Line1", description="input line for a hardware trigger")
    activation: Literal["RisingEdge", "FallingEdge", "AnyEdge", "LevelHigh", "LevelLow"] = "RisingEdge"
    interval_ms: float = Field(0.0, ge=0.0, description="software trigger period; 0 = as fast as the station runs")


class Reconnect(_Strict):
    initial_s: float = Field(0.2, gt=0.0)
    max_s: float = Field(5.0, gt=0.0)
    max_consecutive_failures: int = Field(5, ge=1, description="grab failures in a row before reopening")


class PylonCamera(_Strict):
    type: Literal["pylon"] = "pylon"
    serial: str | None = Field(None, description="serial number; or user_name; or neither for the first camera")
    user_name: str | None = None
    emulated: int = Field(
        0,
        ge=0,
        le=16,
        description="create this many pylon emulated cameras (PYLON_CAMEMU) and look only among them",
    )
    image_folder: Path | None = Field(None, description="emulator only: replay the images in this folder")
    pixel_format: Literal["Mono8", "BGR8", "RGB8"] = "Mono8"
    exposure_us: float | None = Field(None, gt=0.0)
    gain: float | None = Field(None, ge=0.0)
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    offset_x: int = Field(0, ge=0)
    offset_y: int = Field(0, ge=0)
    frame_rate: float | None = Field(None, gt=0.0)
    trigger: Trigger = Trigger()
    timeout_ms: int = Field(2000, gt=0)
    reconnect: Reconnect = Reconnect()


class OpenCvCamera(_Strict):
    type: Literal["opencv"] = "opencv"
    source: int | str = Field(description="USB device index, video file path, or rtsp:// / http:// URL")
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    frame_rate: float | None = Field(None, gt=0.0)
    loop: bool = Field(False, description="video files: start again at the end")
    reconnect: Reconnect = Reconnect()


class FolderCamera(_Strict):
    type: Literal["folder"] = "folder"
    path: Path = Field(description="a folder or a glob pattern of images")
    loop: bool = False
    grayscale: bool = False
    trigger: Trigger = Trigger()
    max_image_pixels: int = Field(
        DEFAULT_MAX_IMAGE_PIXELS,
        gt=0,
        description="larger images (read from the header) are refused before decoding, counted as a fault",
    )


CameraConfig = Annotated[PylonCamera | OpenCvCamera | FolderCamera, Field(discriminator="type")]


# ---------------------------------------------------------------- station
class Retention(_Strict):
    """Which stored images are deleted, oldest first, so the disk never fills (the records stay: each
    says when its image was pruned). Off unless the storage section has a ``retention:`` entry."""

    max_age_days: float | None = Field(None, gt=0, description="delete images older than this")
    min_free_gb: float | None = Field(None, gt=0, description="keep at least this much free on the images' disk")
    min_free_percent: float | None = Field(None, gt=0, lt=100, description="... or this share of it")
    keep: Literal["fail_first", "none"] = Field(
        "fail_first",
        description="fail_first: for space, PASS images go before FAIL ones (each oldest first); none: oldest first",
    )
    check_interval_s: float = Field(5.0, gt=0, description="how often ages are checked (space: after every write)")

    @model_validator(mode="after")
    def _something_to_keep(self) -> Retention:
        if self.max_age_days is None and self.min_free_gb is None and self.min_free_percent is None:
            raise ValueError("retention needs max_age_days, min_free_gb or min_free_percent")
        return self


class Storage(_Strict):
    data_dir: Path = Path("data")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in data_dir")
    archive: Literal["all", "fail", "none"] = "all"
    image_format: Literal["png", "jpg", "bmp"] = Field("png", description="png/bmp are lossless")
    jpeg_quality: int = Field(95, ge=1, le=100)
    annotated: bool = Field(False, description="also store a copy with the boxes drawn")
    retention: Retention | None = None

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'inspection.db').resolve()}"


class PipelineSettings(_Strict):
    queue_size: int = Field(4, ge=1, le=1024, description="frames grabbed ahead of detection")
    record_queue_size: int = Field(256, ge=1)
    device: str = Field("auto", description="auto (CUDA when present), cpu, cuda, cuda:N")
    inference_threads: int | Literal["auto"] = Field(
        "auto", description="CPU threads for the detector; auto = all cores but one (kept for grab and record)"
    )
    warmup: bool = True


class Measurement(_Strict):
    """Pixels to millimetres: the camera's calibration (``inspection calibrate camera``) and the scale."""

    calibration: Path | None = Field(None, description="camera calibration file (JSON) for this station's camera")
    undistort: bool = Field(True, description="remove the lens distortion from each frame before inspection")
    mm_per_px: float | None = Field(
        None, gt=0.0, description="scale on the inspection plane; default: the one in the calibration file"
    )


class PlcSettings(_Strict):
    """The PLC handshake over Modbus TCP (off unless the station file has a ``plc:`` section)."""

    mode: Literal["server", "client"] = Field(
        description="server: the station serves the registers and the PLC polls them; client: the station "
        "reads and writes the registers in the PLC"
    )
    host: str = Field("127.0.0.1", description="server: the address to listen on; client: the PLC's address")
    port: int = Field(5020, ge=1, le=65535, description="502 is Modbus' own port (needs privileges to serve)")
    unit: int = Field(1, ge=0, le=255, description="client: the PLC's unit id")
    input_base: int = Field(0, ge=0, le=65000, description="first register the PLC writes (control word)")
    output_base: int = Field(100, ge=0, le=65000, description="first register the station writes (status word)")
    poll_ms: float = Field(2.0, gt=0.0, le=1000.0, description="how often the station reads the PLC's registers")
    ack_timeout_s: float = Field(5.0, gt=0.0, description="results not acknowledged within this are a missed handshake")
    heartbeat_s: float = Field(1.0, gt=0.0, description="the heartbeat bit toggles this often")
    buffer: int = Field(
        1, ge=1, le=64, description="parts in flight: 1 waits for each acknowledgement; more buffers the results"
    )

    @model_validator(mode="after")
    def _blocks_apart(self) -> PlcSettings:

        if self.input_base < self.output_base + OUTPUT_WORDS and self.output_base < self.input_base + INPUT_WORDS:
            raise ValueError(
                f"input registers {self.input_base}-{self.input_base + INPUT_WORDS - 1} overlap output registers "
                f"{self.output_base}-{self.output_base + OUTPUT_WORDS - 1}"
            )
        return self


class MqttSettings(_Strict):
    """Verdicts, station state and alerts to an MQTT broker (off unless the station file has ``mqtt:``).
    Credentials are never in the file: it names the environment variables that hold them."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535, description="1883 plain, 8883 usually TLS")
    topic_prefix: str = Field("inspection/{station}", description="{station} is replaced by the station's name")
    qos: Literal[0, 1, 2] = 1
    client_id: str | None = Field(None, description="default: inspection-<station>")
    tls: bool = False
    ca_file: Path | None = Field(None, description="CA certificate for TLS (default: the system's)")
    username_env: str | None = Field(None, description="environment variable holding the user name")
    password_env: str | None = Field(None, description="environment variable holding the password")
    outbox_size: int = Field(10000, ge=10, description="messages kept while the broker is out of reach")
    keepalive_s: int = Field(30, ge=5)
    reconnect_max_s: int = Field(30, ge=1, description="the back-off between reconnects grows up to this")
    commands: bool = Field(False, description="accept stop / recipe commands on <prefix>/command (needs a login)")


class FleetSettings(_Strict):
    """Forward every record to the fleet's central database (PostgreSQL), from the local one."""

    database_url: str = Field(description="SQLAlchemy URL without the password, e.g. postgresql+psycopg://user@host/db")
    password_env: str | None = Field(None, description="environment variable holding the database password")
    interval_s: float = Field(1.0, gt=0.0, description="how often new records are forwarded")
    batch: int = Field(500, ge=1, description="records per transaction")
    retry_max_s: float = Field(30.0, gt=0.0, description="the wait after a failure grows up to this")

    @field_validator("database_url")
    @classmethod
    def _no_password(cls, value: str) -> str:

        try:
            url = make_url(value)
        except Exception as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        if url.password:
            raise ValueError("put no password in the file: name the environment variable that holds it (password_env)")
        return value


class StationConfig(_Strict):
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


# ---------------------------------------------------------------- loading
def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    return _parse_yaml(path, text)


def _parse_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


def describe_validation_error(path: Path, error: ValidationError) -> str:
    """One line naming each bad key and what is wrong with it."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-")) or "(top level)"
        if item["type"] == "extra_forbidden":
            parts.append(f"unknown key '{where}'")
        else:
            parts.append(f"'{where}': {item['msg']}")
    return f"{path}: " + "; ".join(parts)


def _resolve(base: Path, value: Path) -> Path:
    return value if value.is_absolute() else (base / value).resolve()


def _validated(model: type[_M], path: Path, text: str | None = None) -> _M:
    """``path`` (or ``text`` meant for it) as a validated ``model``; one-line ConfigError otherwise."""
    try:
        return model.model_validate(_read_yaml(path) if text is None else _parse_yaml(path, text))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from None


def replace_config_file(path: Path, text: str, model: type[BaseModel]) -> None:
    """Validate ``text`` as ``model`` first, then replace the file atomically (edits made by the app)."""
    _validated(model, path, text)
    write_text_atomic(path, text)


def load_recipe(path: Path) -> Recipe:
    path = Path(path)
    recipe = _validated(Recipe, path)
    reference = None if recipe.reference is None else _resolve(path.parent, recipe.reference)
    return recipe.model_copy(update={"model": _resolve(path.parent, recipe.model), "reference": reference})


def load_station_config(path: Path) -> StationConfig:
    path = Path(path)
    config = _validated(StationConfig, path)
    base = path.parent
    camera = config.camera
    if isinstance(camera, PylonCamera) and camera.image_folder is not None:
        camera = camera.model_copy(update={"image_folder": _resolve(base, camera.image_folder)})
    elif isinstance(camera, FolderCamera):
        camera = camera.model_copy(update={"path": _resolve(base, camera.path)})
    storage = config.storage.model_copy(update={"data_dir": _resolve(base, config.storage.data_dir)})
    measurement = config.measurement
    if measurement.calibration is not None:
        measurement = measurement.model_copy(update={"calibration": _resolve(base, measurement.calibration)})
    mqtt = config.mqtt
    if mqtt is not None and mqtt.ca_file is not None:
        mqtt = mqtt.model_copy(update={"ca_file": _resolve(base, mqtt.ca_file)})
    return config.model_copy(
        update={
            "camera": camera,
            "recipe": _resolve(base, config.recipe),
            "storage": storage,
            "measurement": measurement,
            "recipes": {index: _resolve(base, recipe) for index, recipe in config.recipes.items()},
            "mqtt": mqtt,
        }
    )
