"""MQTT output: every verdict, the station's state (retained) and its alerts, through a bounded outbox.

The station only appends to the outbox (never blocks); one thread sends what it holds, oldest first,
while the broker is connected, and removes a message only when the broker has acknowledged it (QoS 1
or 2), so a broker outage loses nothing until the outbox is full (then the oldest message is dropped
and counted). Delivery is at least once: after a reconnect a message may arrive twice; its ``id``
tells. paho-mqtt reconnects with a growing back-off. Topics under ``topic_prefix``:
``verdict``, ``state`` (retained; ``offline`` as the last will), ``alert``, and with ``commands: true``
``command`` (in) and ``command/reply`` (out).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from inspection.config import MqttSettings
from inspection.core.errors import ConfigError
from inspection.core.events import AlertCleared, AlertRaised, Event, StateChanged
from inspection.core.types import InspectionRecord
from inspection.outputs.base import Output, OutputContext
from inspection.outputs.signed_commands import MIN_KEY_CHARS, CommandRefused, CommandVerifier
from inspection.outputs.stack_light import StackLight
from inspection.recorder.audit import record_action
from inspection.recorder.database import error_reason

log = logging.getLogger(__name__)

BATCH = 100  # messages in flight at once
ACK_WAIT_S = 5.0


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False
    number: int = 0  # order of arrival in the outbox


def verdict_message(record: InspectionRecord) -> dict[str, Any]:
    """The compact verdict: who, when, what, why."""
    counts: dict[str, int] = {}
    for detection in record.kept:
        counts[detection.label] = counts.get(detection.label, 0) + 1
    return {
        "id": record.id,
        "time": datetime.fromtimestamp(record.timestamp, UTC).isoformat(timespec="milliseconds"),
        "station": record.station,
        "recipe": record.recipe_name,
        "recipe_version": record.recipe_version,
        "model": record.model_name,
        "verdict": record.verdict.value,
        "reasons": list(record.reasons),
        "defects": counts,
        "serial": record.part_serial,
        "lot": record.lot,
    }


def credentials(settings: MqttSettings) -> tuple[str, str] | None:
    """(user, password) from the environment variables the settings name; an unset one is an error."""
    if settings.username_env is None and settings.password_env is None:
        return None
    values = []
    for key in (settings.username_env, settings.password_env):
        if key is None:
            raise ConfigError("mqtt: give both username_env and password_env (or neither)")
        value = os.environ.get(key)
        if not value:
            raise ConfigError(f"mqtt: the environment variable {key} is not set (it holds the broker login)")
        values.append(value)
    return values[0], values[1]


def check_settings(settings: MqttSettings) -> tuple[str, str] | None:
    """The login; refuses a command topic without one, or without a signing key."""
    login = credentials(settings)
    if settings.commands and login is None:
        raise ConfigError(
            "mqtt: commands: true needs a broker login (username_env and password_env); "
            "an unauthenticated command topic would let anyone on the network stop the line"
        )
    if settings.commands:
        command_key(settings)
    return login


def command_key(settings: MqttSettings) -> bytes:
    """The key commands are signed with, from the environment variable the settings name."""
    name = settings.command_key_env
    value = os.environ.get(name or "", "") if name else ""
    if len(value) < MIN_KEY_CHARS:
        where = f"the environment variable {name} holds" if name else "command_key_env names a variable holding"
        raise ConfigError(
            f"mqtt: commands: true needs a signing key: {where} no key of at least {MIN_KEY_CHARS} characters; "
            "without one, anyone who can publish to the broker could stop the line"
        )
    return value.encode()


class MqttOutput:
    def __init__(
        self,
        settings: MqttSettings,
        station: str,
        on_fault: Callable[[str, dict[str, int]], None] | None = None,
        on_command: Callable[[dict[str, Any]], str] | None = None,
        on_audit: Callable[[str, dict[str, Any]], None] | None = None,
        on_link: Callable[[bool, str], None] | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt  # noqa: PLC0415  (only when configured)
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415  (heavy SDK, loaded only when used)

        login = check_settings(settings)
        self.settings = settings
        self.prefix = settings.topic_prefix.replace("{station}", station).rstrip("/")
        self.on_fault = on_fault
        self.on_command = on_command if settings.commands else None
        self.on_audit = on_audit
        self.on_link = on_link
        self._link_lost = False  # reported lost: the next connection reports it back
        self._verifier = (
            CommandVerifier(command_key(settings), settings.command_window_s) if settings.commands else None
        )
        self.counters = {"queued": 0, "published": 0, "dropped_outbox_full": 0, "reconnects": 0, "commands": 0}
        self._outbox: deque[Message] = deque()
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._ever_connected = False
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id or f"inspection-{station}",
            clean_session=True,
        )
        if login is not None:
            client.username_pw_set(*login)
        if settings.tls:
            client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        client.will_set(f"{self.prefix}/state", json.dumps({"state": "offline"}), qos=1, retain=True)
        client.reconnect_delay_set(1, settings.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        self._sender = threading.Thread(target=self._send_loop, name="mqtt-sender", daemon=True)

    # ------------------------------------------------------------ the station's side
    def start(self) -> None:
        self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self._client.loop_start()
        self._sender.start()

    def record(self, record: InspectionRecord) -> None:
        self._put(Message(f"{self.prefix}/verdict", json.dumps(verdict_message(record)).encode()))

    def state(self, state: str, detail: str = "") -> None:
        payload = {"state": state, "detail": detail, "time": datetime.now(UTC).isoformat(timespec="seconds")}
        self._put(Message(f"{self.prefix}/state", json.dumps(payload).encode(), retain=True))

    def alert(self, payload: dict[str, Any]) -> None:
        self._put(Message(f"{self.prefix}/alert", json.dumps(payload).encode()))

    def stack_light(self, lamps: dict[str, bool]) -> None:
        self._put(Message(f"{self.prefix}/stack_light", json.dumps(lamps).encode(), retain=True))

    def pending(self) -> int:
        with self._lock:
            return len(self._outbox)

    def close(self, drain_s: float = 3.0) -> None:
        """Send what the outbox holds (up to ``drain_s`` while connected), then disconnect."""
        with self._lock:
            self._lock.wait_for(lambda: not self._outbox or not self._connected.is_set(), timeout=drain_s)
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        if self._sender.is_alive():
            self._sender.join(timeout=ACK_WAIT_S + 1)
        if self._outbox:
            log.warning("MQTT: %d message(s) not sent before the station stopped", len(self._outbox))
        self._client.disconnect()
        self._client.loop_stop()

    # ------------------------------------------------------------ internals
    def _put(self, message: Message) -> None:
        with self._lock:
            if len(self._outbox) >= self.settings.outbox_size:
                self._outbox.popleft()
                self.counters["dropped_outbox_full"] += 1
                if self.counters["dropped_outbox_full"] in (1, 100) or self.counters["dropped_outbox_full"] % 1000 == 0:
                    log.warning("MQTT outbox full: %d message(s) dropped so far", self.counters["dropped_outbox_full"])
            self.counters["queued"] += 1
            self._outbox.append(replace(message, number=self.counters["queued"]))
            self._lock.notify()

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._lock.wait_for(
                    lambda: self._stop.is_set() or (self._outbox and self._connected.is_set()), timeout=0.5
                )
                batch = list(self._outbox)[:BATCH] if self._connected.is_set() else []
            if not batch:
                continue
            sent = self._publish(batch)
            if not sent:
                continue
            last = batch[sent - 1].number
            with self._lock:  # a full outbox may have dropped some of the batch meanwhile
                while self._outbox and self._outbox[0].number <= last:
                    self._outbox.popleft()
                self.counters["published"] += sent
                self._lock.notify_all()

    def _publish(self, batch: list[Message]) -> int:
        """How many of the batch, from its start, the broker acknowledged."""
        infos = [self._client.publish(m.topic, m.payload, self.settings.qos, m.retain) for m in batch]
        done = 0
        for info in infos:
            try:
                info.wait_for_publish(ACK_WAIT_S)
            except (RuntimeError, ValueError):
                break
            if not info.is_published():
                break
            done += 1
        return done

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if getattr(reason, "is_failure", False):
            message = f"broker {self.settings.host}:{self.settings.port} refused the connection ({reason})"
            self._fault(message)
            self._link(False, message)
            return
        if self._ever_connected:
            self.counters["reconnects"] += 1
        self._ever_connected = True
        self._link(True, f"broker {self.settings.host}:{self.settings.port} connected again")
        if self.on_command is not None:
            client.subscribe(f"{self.prefix}/command", qos=1)
        self._connected.set()
        with self._lock:
            self._lock.notify_all()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stop.is_set():
            message = f"broker {self.settings.host}:{self.settings.port} lost ({reason}); reconnecting"
            self._fault(message)
            self._link(False, message)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if self.on_command is None or self._verifier is None:
            return
        self.counters["commands"] += 1
        try:
            command = self._verifier.verify(message.payload)
        except CommandRefused as exc:
            reply = f"refused: {exc}"
            self._audit("command_refused", {"reason": str(exc), "payload": bytes(message.payload[:200]).hex()})
        else:
            try:
                reply = self.on_command(command)
            except Exception as exc:  # a bad command must never reach the station as an exception
                reply = f"refused: {exc}"
            self._audit("command", {"command": command, "reply": reply})
        log.info("MQTT command: %s", reply)
        client.publish(f"{self.prefix}/command/reply", json.dumps({"reply": reply}), qos=1)

    def _audit(self, action: str, detail: dict[str, Any]) -> None:
        if self.on_audit is not None:
            self.on_audit(action, {"source": f"mqtt {self.prefix}/command", **detail})

    def _link(self, up: bool, message: str) -> None:
        """Report the broker's link once per change: lost, then back."""
        if up == (not self._link_lost):
            return
        self._link_lost = not up
        if self.on_link is not None:
            self.on_link(up, message)

    def _fault(self, message: str) -> None:
        log.warning("MQTT: %s", message)
        if self.on_fault is not None:
            self.on_fault(message, dict(self.counters))


class MqttLineOutput(Output):
    """The MQTT client as a line output: every verdict, the station's state changes and its alerts."""

    name = "mqtt"
    separable = True

    def __init__(self, context: OutputContext, settings: MqttSettings) -> None:
        check_settings(settings)  # a missing login or an unauthenticated command topic: refuse now
        self._context = context
        self._settings = settings
        self._client: MqttOutput | None = None
        self._stack_light = StackLight()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        context = self._context
        self._client = MqttOutput(
            self._settings, context.config.station, context.fault_reporter(self.name), context.on_command,
            self._audit, context.link_reporter(self.name),
        )  # fmt: skip
        self._client.start()
        self._unsubscribe = context.bus.subscribe(self._on_event)
        self._client.state("starting")

    def record(self, record: InspectionRecord) -> None:
        if self._client is not None:
            self._client.record(record)

    def _audit(self, action: str, detail: dict[str, Any]) -> None:
        """Every command, executed or refused, in the station's audit trail (on paho's thread)."""
        try:
            record_action(self._context.engine, "mqtt", action, detail)
        except SQLAlchemyError as exc:
            log.error("audit entry %r not written: %s", action, error_reason(exc))

    def close(self) -> None:
        if self._client is None:
            return
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._client.state("stopped")
        lamps = self._stack_light.on_event(StateChanged("stopped"))  # the bus may not have delivered it yet
        if lamps is not None:
            self._client.stack_light(lamps.as_dict())
        self._client.close()

    def status(self) -> dict[str, int]:
        if self._client is None:
            return {}
        return {**self._client.counters, "outbox": self._client.pending()}

    def _on_event(self, event: Event) -> None:
        """State changes, alerts and the stack light's colours to MQTT."""
        assert self._client is not None
        lamps = self._stack_light.on_event(event)
        if lamps is not None:
            self._client.stack_light(lamps.as_dict())
        if isinstance(event, StateChanged) and event.state not in ("starting", "stopped"):
            self._client.state(event.state, event.detail)
        elif isinstance(event, AlertRaised):
            self._client.alert({"alert": event.id, "rule": event.rule, "message": event.message, "raised": True})
        elif isinstance(event, AlertCleared):
            self._client.alert({"alert": event.id, "rule": event.rule, "raised": False})


def mqtt_output(context: OutputContext) -> Output | None:
    settings = context.config.mqtt
    return None if settings is None else MqttLineOutput(context, settings)
