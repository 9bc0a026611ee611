"""The line's connections: the PLC handshake (Modbus TCP), MQTT, the fleet's central database."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy.engine import make_url

from inspection.config.files import Strict
from inspection.config.plc_registers import INPUT_WORDS, OUTPUT_WORDS


class PlcSettings(Strict):
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

    allowed_clients: list[str] | None = Field(
        None, description="server: the client addresses that may connect (the PLC's); others are refused"
    )

    @field_validator("allowed_clients")
    @classmethod
    def _addresses(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            try:
                ipaddress.ip_address(text)
            except ValueError:
                raise ValueError(f"{text!r} is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _blocks_apart(self) -> PlcSettings:

        if self.input_base < self.output_base + OUTPUT_WORDS and self.output_base < self.input_base + INPUT_WORDS:
            raise ValueError(
                f"input registers {self.input_base}-{self.input_base + INPUT_WORDS - 1} overlap output registers "
                f"{self.output_base}-{self.output_base + OUTPUT_WORDS - 1}"
            )
        return self


class MqttSettings(Strict):
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
    commands: bool = Field(
        False, description="accept stop / recipe commands on <prefix>/command (needs a login and a signing key)"
    )
    command_key_env: str | None = Field(
        None, description="environment variable holding the key commands are signed with (HMAC-SHA256)"
    )
    command_window_s: float = Field(30.0, gt=0.0, le=600.0, description="a signed command is valid this long")


class FleetSettings(Strict):
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
