"""MQTT output with Debian's mosquitto on loopback and the real station (pylon emulator, bundled model,
SQLite): every verdict arrives, also across a 10-second broker outage (the outbox drains after the
restart); state is retained; a command topic needs a login and signed commands (on a broker that lets
anyone in, an unsigned, forged, stale or replayed command is refused and audited); the login never reaches
logs or records."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from conftest import write_station
from mosquitto_broker import Broker
from paho.mqtt.enums import CallbackAPIVersion

from inspection.config import load_station_config
from inspection.core.errors import ConfigError
from inspection.core.events import LineFault, LineLink
from inspection.outputs.signed_commands import CommandRefused, CommandVerifier, sign
from inspection.station.pipeline import Station

PREFIX = "inspection/test-station"
KEY = b"a-test-signing-key-of-more-than-32-characters"
COMMANDS = {
    "username_env": "TEST_MQTT_USER", "password_env": "TEST_MQTT_PASSWORD", "commands": True,
    "command_key_env": "TEST_MQTT_KEY",
}  # fmt: skip


class Subscriber:
    """A durable subscriber (persistent session, QoS 1): the broker keeps its messages while it is away."""

    def __init__(self, port: int, topics: list[str], user: tuple[str, str] | None = None) -> None:
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-subscriber", clean_session=False)
        if user:
            self.client.username_pw_set(*user)
        self.client.on_connect = lambda c, *_: [c.subscribe(t, qos=1) for t in topics]
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self.lock:
            self.messages.append((message.topic, json.loads(message.payload), bool(message.retain)))

    def on(self, topic: str) -> list[dict[str, Any]]:
        with self.lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def wait(self, condition: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def start_station(config: Path) -> tuple[Station, threading.Thread, list[LineFault | LineLink]]:
    """The station running on its own thread, and the line faults and link changes it publishes."""
    station = Station(load_station_config(config))
    faults: list[LineFault | LineLink] = []
    station.bus.subscribe(lambda event: faults.append(event) if isinstance(event, LineFault | LineLink) else None)
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    return station, runner, faults


def stop_station(station: Station, runner: threading.Thread) -> None:
    station.stop()
    runner.join(60)
    station.close()


def test_every_verdict_arrives_across_a_broker_outage(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker")
    subscriber = Subscriber(broker.port, [f"{PREFIX}/verdict", f"{PREFIX}/state", f"{PREFIX}/stack_light"])
    config = write_station(tmp_path, mqtt={"port": broker.port, "reconnect_max_s": 2})
    station, runner, faults = start_station(config)
    try:
        subscriber.wait(lambda: len(subscriber.on(f"{PREFIX}/verdict")) >= 20)
        broker.stop()  # 10 s without a broker: the station goes on, the outbox fills
        time.sleep(10)
        outbox = lambda: station.status().outputs["mqtt"]["outbox"]  # noqa: E731
        assert outbox() > 0
        broker.start()
        subscriber.wait(lambda: outbox() == 0, timeout=60)
    finally:
        stop_station(station, runner)
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        rows = dict(db.execute("SELECT id, verdict FROM inspections").fetchall())
    subscriber.wait(lambda: {m["id"] for m in subscriber.on(f"{PREFIX}/verdict")} >= set(rows), timeout=30)
    verdicts = subscriber.on(f"{PREFIX}/verdict")
    subscriber.close()
    broker.stop()
    received = {m["id"]: m for m in verdicts}
    assert set(received) == set(rows)  # none lost (a resend after the reconnect may arrive twice)
    assert len(rows) > 100  # parts kept coming during the outage
    assert all(received[i]["verdict"] == v for i, v in rows.items())
    sample = next(m for m in verdicts if m["verdict"] == "fail")
    assert set(sample) >= {"id", "time", "station", "recipe", "verdict", "reasons", "defects", "serial"}
    assert sample["station"] == "test-station" and sum(sample["defects"].values()) >= 1
    counters = station.status().outputs["mqtt"]
    assert counters["reconnects"] >= 1 and counters["dropped_outbox_full"] == 0
    assert any(isinstance(f, LineFault) and f.source == "mqtt" and "lost" in f.message for f in faults)
    # The link, for the cell's state area: lost once, then back (and nothing else).
    links = [(f.up, f.message) for f in faults if isinstance(f, LineLink) and f.source == "mqtt"]
    assert [up for up, _ in links] == [False, True], links
    assert "lost" in links[0][1] and "connected again" in links[1][1]
    lights = subscriber.on(f"{PREFIX}/stack_light")
    assert {"red": False, "amber": False, "green": True, "buzzer": False} in lights  # green while it ran
    assert lights[-1] == {"red": False, "amber": False, "green": False, "buzzer": False}  # off once stopped
    states = [m["state"] for m in subscriber.on(f"{PREFIX}/state")]
    assert states[0] == "starting" and "running" in states and states[-1] == "stopped"


def test_retained_state_and_authenticated_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "s3cret-Pa55word"
    monkeypatch.setenv("TEST_MQTT_USER", "station")
    monkeypatch.setenv("TEST_MQTT_PASSWORD", secret)
    monkeypatch.setenv("TEST_MQTT_KEY", KEY.decode())
    broker = Broker(tmp_path / "broker", users={"station": secret, "operator": "op-pass"})
    settings = {**COMMANDS, "port": broker.port}
    station, runner, _faults = start_station(write_station(tmp_path, mqtt=settings))
    operator = Subscriber(broker.port, [f"{PREFIX}/state", f"{PREFIX}/command/reply"], ("operator", "op-pass"))
    try:
        operator.wait(lambda: any(m["state"] == "running" for m in operator.on(f"{PREFIX}/state")))
        operator.client.publish(f"{PREFIX}/command", json.dumps(sign({"command": "recipe", "index": 9}, KEY)), qos=1)
        operator.client.publish(f"{PREFIX}/command", json.dumps(sign({"command": "stop"}, KEY)), qos=1)
        runner.join(30)
        assert not runner.is_alive()  # the stop command stopped it
        replies = [m["reply"] for m in operator.on(f"{PREFIX}/command/reply")]
        assert replies[0].startswith("refused: recipe index 9") and replies[1] == "stopping"
    finally:
        stop_station(station, runner)
        operator.close()
    # The last state is retained: a newcomer learns it at once.
    late = Subscriber(broker.port, [f"{PREFIX}/state"], ("operator", "op-pass"))
    late.wait(lambda: bool(late.messages))
    assert late.messages[0][1]["state"] == "stopped" and late.messages[0][2] is True
    late.close()
    broker.stop()
    assert secret not in caplog.text
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
            assert KEY not in path.read_bytes(), path


def test_on_an_open_broker_only_signed_fresh_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker that lets anyone in (common): an anonymous client's unsigned, forged, stale and replayed
    commands are refused and audited with the reason; a signed one is executed and audited."""
    monkeypatch.setenv("TEST_MQTT_USER", "station")
    monkeypatch.setenv("TEST_MQTT_PASSWORD", "station-pass")
    monkeypatch.setenv("TEST_MQTT_KEY", KEY.decode())
    broker = Broker(tmp_path / "broker", users={"station": "station-pass"}, anonymous=True)
    station, runner, _faults = start_station(write_station(tmp_path, mqtt={**COMMANDS, "port": broker.port}))
    anyone = Subscriber(broker.port, [f"{PREFIX}/state", f"{PREFIX}/command/reply"])  # no login
    signed = sign({"command": "stop"}, KEY)
    recipe = sign({"command": "recipe", "index": 9}, KEY)
    attempts = [
        {"command": "stop"},  # unsigned, as in the probe
        {**signed, "signature": "0" * 64},  # forged
        sign({"command": "stop"}, b"a-guessed-key-that-is-long-enough-00000"),  # another key
        sign({"command": "stop"}, KEY, moment=int(time.time()) - 3600),  # an old message
        recipe,  # signed: executed (the station refuses the unknown index itself)
        recipe,  # the same message again: replayed
    ]
    try:
        anyone.wait(lambda: any(m["state"] == "running" for m in anyone.on(f"{PREFIX}/state")))
        for message in attempts:
            anyone.client.publish(f"{PREFIX}/command", json.dumps(message), qos=1)
        anyone.wait(lambda: len(anyone.on(f"{PREFIX}/command/reply")) == len(attempts))
        assert runner.is_alive()  # none of them stopped the line
        anyone.client.publish(f"{PREFIX}/command", json.dumps(signed), qos=1)
        runner.join(30)
        assert not runner.is_alive()  # the signed one did
    finally:
        stop_station(station, runner)
    replies = [m["reply"] for m in anyone.on(f"{PREFIX}/command/reply")]
    anyone.close()
    broker.stop()
    assert replies[0].startswith("refused: unsigned") and replies[1] == replies[2] == "refused: bad signature"
    assert re.match(r"refused: made 36[0-9][0-9] s ago", replies[3])  # signed before the station was running
    assert replies[4].startswith("refused: recipe index 9 is not one of") and replies[5].startswith("refused: replayed")
    assert replies[6] == "stopping"
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        trail = [
            (a, json.loads(d)) for a, d in db.execute("SELECT action, detail FROM audit_log WHERE username = 'mqtt'")
        ]
    assert [a for a, _ in trail] == ["command_refused"] * 4 + ["command", "command_refused", "command"]
    assert trail[0][1]["reason"].startswith("unsigned") and trail[5][1]["reason"].startswith("replayed")
    assert trail[6][1] == {"source": f"mqtt {PREFIX}/command", "command": {"command": "stop"}, "reply": "stopping"}


def test_a_replayed_command_is_refused() -> None:
    verifier = CommandVerifier(KEY, window_s=30)
    message = json.dumps(sign({"command": "stop"}, KEY, moment=1_000_000)).encode()
    assert verifier.verify(message, now=1_000_010) == {"command": "stop"}
    with pytest.raises(CommandRefused, match="replayed"):
        verifier.verify(message, now=1_000_020)
    with pytest.raises(CommandRefused, match="made 31 s ago; a command is valid for 30 s"):
        verifier.verify(json.dumps(sign({"command": "stop"}, KEY, moment=1_000_000)).encode(), now=1_000_031)


def test_a_command_topic_without_login_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="commands: true needs a broker login"):
        Station(load_station_config(write_station(tmp_path, mqtt={"port": 1883, "commands": True})))
    monkeypatch.setenv("TEST_MQTT_USER", "station")
    monkeypatch.setenv("TEST_MQTT_PASSWORD", "station-pass")
    monkeypatch.delenv("TEST_MQTT_KEY", raising=False)
    with pytest.raises(ConfigError, match="commands: true needs a signing key"):  # ... and without a key
        Station(load_station_config(write_station(tmp_path, mqtt={**COMMANDS, "port": 1883})))
    monkeypatch.setenv("TEST_MQTT_KEY", "too-short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        Station(load_station_config(write_station(tmp_path, mqtt={**COMMANDS, "port": 1883})))
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)
    settings = {"port": 1883, "username_env": "NO_SUCH_VARIABLE", "password_env": "NO_SUCH_VARIABLE"}
    with pytest.raises(ConfigError, match="NO_SUCH_VARIABLE is not set"):
        Station(load_station_config(write_station(tmp_path, mqtt=settings)))


def test_outputs_are_off_by_default(tmp_path: Path) -> None:
    station = Station(load_station_config(write_station(tmp_path)))
    try:
        station.run(parts=3)
        # no line output: only the local control socket of `inspection product` (nothing on the network)
        assert station.plc is None and [output.name for output in station.outputs.outputs] == ["control"]
        status = station.status()
        assert status.plc is None and "mqtt" not in status.outputs and "fleet" not in status.outputs
    finally:
        station.close()
