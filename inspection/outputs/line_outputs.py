"""The station's optional line outputs around a run: MQTT and fleet forwarding (the PLC handshake, which
also triggers the camera, lives in the station's grab loop). Each is off unless configured; their
settings are checked when the station is built, their connections made when it runs."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from inspection.config import StationConfig
from inspection.core.events import AlertCleared, AlertRaised, Event, EventBus, LineFault, StateChanged
from inspection.core.types import InspectionRecord
from inspection.outputs.fleet import FleetForwarder, central_url
from inspection.outputs.mqtt import MqttOutput, check_settings

Command = Callable[[dict[str, object]], str]


def fault_reporter(bus: EventBus, source: str) -> Callable[[str, dict[str, int]], None]:
    """A line output's fault callback: a ``LineFault`` event on the station's bus."""

    def report(message: str, counters: dict[str, int]) -> None:
        bus.publish(LineFault(source, message, dict(counters)))

    return report


class LineOutputs:
    def __init__(self, config: StationConfig, engine: Engine, bus: EventBus) -> None:
        if config.mqtt is not None:
            check_settings(config.mqtt)  # a missing login or an unauthenticated command topic: refuse now
        if config.fleet is not None:
            central_url(config.fleet)  # a missing password variable: refuse now
        self.config = config
        self.engine = engine
        self.bus = bus
        self.mqtt: MqttOutput | None = None
        self.fleet: FleetForwarder | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self, on_command: Command) -> None:
        if self.config.mqtt is not None:
            self.mqtt = MqttOutput(self.config.mqtt, self.config.station, fault_reporter(self.bus, "mqtt"), on_command)
            self.mqtt.start()
            self._unsubscribe = self.bus.subscribe(self._to_mqtt)
            self.mqtt.state("starting")
        if self.config.fleet is not None:
            self.fleet = FleetForwarder(self.config.fleet, self.engine, fault_reporter(self.bus, "fleet"))
            self.fleet.start()

    def record(self, record: InspectionRecord) -> None:
        """Every verdict, straight from the detect thread (the event bus may drop under load)."""
        if self.mqtt is not None:
            self.mqtt.record(record)

    def records_written(self) -> None:
        """After the last record is committed: forward what is left while the central database answers."""
        if self.fleet is not None:
            self.fleet.close()

    def close(self) -> None:
        if self.mqtt is not None:
            if self._unsubscribe is not None:
                self._unsubscribe()
            self.mqtt.state("stopped")
            self.mqtt.close()

    def status(self) -> dict[str, dict[str, int]]:
        """Each configured output's counters, by output name."""
        snapshot: dict[str, dict[str, int]] = {}
        if self.fleet is not None:
            snapshot["fleet"] = dict(self.fleet.counters)
        if self.mqtt is not None:
            snapshot["mqtt"] = {**self.mqtt.counters, "outbox": self.mqtt.pending()}
        return snapshot

    def _to_mqtt(self, event: Event) -> None:
        """State changes and alerts to MQTT."""
        assert self.mqtt is not None
        if isinstance(event, StateChanged) and event.state not in ("starting", "stopped"):
            self.mqtt.state(event.state, event.detail)
        elif isinstance(event, AlertRaised):
            self.mqtt.alert({"alert": event.id, "rule": event.rule, "message": event.message, "raised": True})
        elif isinstance(event, AlertCleared):
            self.mqtt.alert({"alert": event.id, "rule": event.rule, "raised": False})
