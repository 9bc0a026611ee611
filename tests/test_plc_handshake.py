"""The PLC handshake over Modbus TCP with the real station (pylon emulator, bundled model, SQLite) and a
pymodbus client acting as the PLC on loopback: 200 triggers, each one record and one result; a trigger
while busy and an acknowledgement that comes too late are counted and raised as alerts."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, write_station
from loopback import free_port
from plc_client import OUT, Plc
from pymodbus.client import ModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from inspection.config import load_station_config
from inspection.config.plc_registers import (
    OUT_ACCEPTED,
    OUT_ERROR,
    OUT_ID,
    OUT_MISSED,
    OUT_RESULT,
    OUT_SEQUENCE,
    Control,
    ErrorCode,
    ResultCode,
    Status,
    encode_text,
    register_map_csv,
    words_id,
)
from inspection.core.events import Event, LineFault
from inspection.station.pipeline import Station


class PlcMemory:
    """A PLC's own registers, served by pymodbus on loopback (for a station in client mode)."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def serve() -> None:
            device = SimDevice(0, simdata=[SimData(0, count=256, values=0, datatype=DataType.REGISTERS)])
            self.server = ModbusTcpServer(device, address=("127.0.0.1", port))
            await self.server.serve_forever(background=True)
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.create_task(serve())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(params=["server", "client"])
def plc_station(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    port = free_port()
    memory = PlcMemory(port) if request.param == "client" else None
    config = write_station(
        tmp_path, plc={"mode": request.param, "host": "127.0.0.1", "port": port, "ack_timeout_s": 1.0},
        alerts=[{"rule": "line_fault", "source": "plc"}],
    )  # fmt: skip
    station = Station(load_station_config(config))
    faults: list[LineFault] = []

    def watch(event: Event) -> None:
        if isinstance(event, LineFault):
            faults.append(event)

    station.bus.subscribe(watch)
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    yield station, Plc(port), faults, tmp_path / "data" / "inspection.db"
    station.stop()
    runner.join(30)
    station.close()
    if memory is not None:
        memory.close()


def test_200_triggers_give_200_records_with_their_results(plc_station: Any) -> None:
    station, plc, faults, database = plc_station
    seen: dict[str, tuple[int, int, str]] = {}  # record id -> (status, result code, serial)
    for number in range(1, 201):
        serial = f"SN{number:06d}"
        words = plc.trigger(serial, "LOT-42")
        status = Status(words[0])
        assert Status.BUSY not in status and Status.TRIGGER_READY not in status
        assert (Status.PASS in status) != (Status.FAIL in status)
        assert words[OUT_SEQUENCE] << 16 | words[OUT_SEQUENCE + 1] == number
        seen[words_id(words[OUT_ID : OUT_ID + 8])] = (int(status), words[OUT_RESULT], serial)
        plc.acknowledge()

    # A trigger while the results wait for their acknowledgement: counted, ignored, raised.
    plc.trigger("SN-EXTRA", "LOT-42")
    plc.control(0)
    time.sleep(0.05)
    plc.control(Control.TRIGGER)
    words = plc.wait(lambda s: Status.ERROR in s)
    assert words[OUT_ERROR] == ErrorCode.TRIGGER_WHILE_BUSY and words[OUT_MISSED] == 1
    # ... and results not acknowledged within ack_timeout_s (1 s).
    time.sleep(1.3)
    words = plc.outputs()
    assert words[OUT_ERROR] == ErrorCode.ACK_TIMEOUT and words[OUT_MISSED] == 2
    plc.control(Control.RESULT_ACK | Control.ERROR_RESET)
    plc.wait(lambda s: Status.RESULTS_VALID not in s and Status.ERROR not in s)
    plc.control(0)
    plc.wait(lambda s: Status.TRIGGER_READY in s)
    time.sleep(0.3)  # the last record reaches the database

    counters = station.plc.counters
    assert (counters.triggers, counters.results, counters.triggers_while_busy, counters.ack_timeouts) == (
        201, 201, 1, 1,
    )  # fmt: skip
    assert [f.message.split(" ")[0] for f in faults] == ["trigger", "results"]
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT id, verdict, part_serial, lot FROM inspections").fetchall()
        alerts = db.execute("SELECT rule FROM alerts").fetchall()
    assert len(rows) == 201  # every trigger one record, no more
    assert alerts == [("line_fault",)]  # raised once until cleared
    by_id = {row[0]: row for row in rows}
    for record_id, (status, code, serial) in seen.items():
        _, verdict, part_serial, lot = by_id[record_id]
        assert (part_serial, lot) == (serial, "LOT-42")
        expected = ResultCode.PASS if verdict == "pass" else ResultCode.FAIL
        assert code == expected
        assert bool(status & Status.PASS) == (verdict == "pass")
    assert {v for _, v, _, _ in rows} == {"pass", "fail"}  # the sample has both


def test_heartbeat_toggles_and_the_register_map_is_exported(plc_station: Any) -> None:
    _station, plc, _faults, _db = plc_station
    beats = set()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline and len(beats) < 2:
        beats.add(bool(Status(plc.outputs()[0]) & Status.HEARTBEAT))
        time.sleep(0.05)
    assert beats == {True, False}
    assert (ROOT / "docs" / "plc-register-map.csv").read_text() == register_map_csv(0, OUT)  # the docs' copy
    table = register_map_csv(0, OUT).splitlines()
    assert table[0] == "address,plc_address,words,direction,name,meaning"
    assert "100,40101,1,station -> PLC,status" in table[5]


def test_buffered_results_keep_trigger_order(tmp_path: Path) -> None:
    """With a buffer of 3 the PLC may trigger again once the picture is taken; a scan-cycle PLC program
    triggers whenever the station is ready and acknowledges whenever results are valid."""
    port = free_port()
    config = write_station(tmp_path, plc={"mode": "server", "host": "127.0.0.1", "port": port, "buffer": 3})
    station = Station(load_station_config(config))
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    plc = Plc(port)
    serial_of: dict[str, str] = {}
    order: list[int] = []
    sent = 0
    triggered = acked = False
    accepted = 0
    deadline = time.monotonic() + 120
    try:
        while len(order) < 100:
            assert time.monotonic() < deadline, (len(order), sent, accepted, plc.outputs())
            words = plc.outputs()
            status = Status(words[0])
            if Status.RESULTS_VALID in status and not acked:
                order.append(words[OUT_SEQUENCE] << 16 | words[OUT_SEQUENCE + 1])
                serial_of[words_id(words[OUT_ID : OUT_ID + 8])] = f"SN{len(order):04d}"
                acked = True
            elif acked and Status.RESULTS_VALID not in status:
                acked = False
            if triggered:
                triggered = words[OUT_ACCEPTED] == accepted  # hold the trigger until the station takes it
                accepted = words[OUT_ACCEPTED]
            elif Status.TRIGGER_READY in status and sent < 100:
                sent += 1
                plc.client.write_registers(2, encode_text(f"SN{sent:04d}", 20))
                triggered = True
            plc.control((Control.TRIGGER if triggered else 0) | (Control.RESULT_ACK if acked else 0))
        time.sleep(0.3)
        assert station.plc is not None
        busy_max = station.plc.counters.triggers - station.plc.counters.results
        assert station.plc.counters.triggers_while_busy == 0 and busy_max >= 0
    finally:
        station.stop()
        runner.join(30)
        station.close()
    assert order == list(range(1, 101))  # one result per trigger, in trigger order
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        rows = dict(db.execute("SELECT id, part_serial FROM inspections").fetchall())
    assert len(rows) == 100 and all(rows[i] == serial for i, serial in serial_of.items())


@pytest.mark.parametrize("plc_station", ["server"], indirect=True)
def test_a_rogue_client_cannot_write_results_or_stall_the_line(plc_station: Any) -> None:
    """Another client on the network: its writes into the station's output block and a garbage recipe
    index are refused with a Modbus exception, counted and raised; the PLC's next trigger still works."""
    station, plc, faults, database = plc_station
    plc.wait(lambda s: Status.TRIGGER_READY in s)
    rogue = ModbusTcpClient("127.0.0.1", port=plc.client.comm_params.port)
    assert rogue.connect()
    before = plc.outputs()[1:]  # all but the status word, whose heartbeat bit toggles
    spoofed = rogue.write_registers(OUT, [int(Status.RESULTS_VALID | Status.PASS)])
    assert spoofed.isError() and spoofed.exception_code == 2  # illegal data address
    after = plc.outputs()
    assert after[1:] == before and not Status(after[0]) & (Status.RESULTS_VALID | Status.PASS)  # nothing written
    garbage = rogue.write_registers(1, [65535])  # the recipe index register
    assert garbage.isError() and garbage.exception_code == 3  # illegal data value
    assert plc.client.read_holding_registers(1, count=1).registers == [0]  # the last good index kept
    rogue.close()

    words = plc.trigger("SN-AFTER", "LOT-1")  # the line goes on
    assert Status.RESULTS_VALID in Status(words[0]) and words[OUT_ERROR] == ErrorCode.NONE
    record_id = words_id(words[OUT_ID : OUT_ID + 8])
    plc.acknowledge()
    refused = [f for f in faults if f.message.startswith("refused:")]
    assert len(refused) == 2 and refused[-1].counters == {"refused_writes": 2, "refused_connections": 0}
    assert "output block" in refused[0].message and "recipe index 65535" in refused[1].message
    plc_counters = station.status().plc
    assert plc_counters is not None and plc_counters["refused_writes"] == 2
    time.sleep(0.3)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT part_serial FROM inspections WHERE id = ?", (record_id,)).fetchone() == ("SN-AFTER",)


def test_only_the_allowed_clients_may_connect(tmp_path: Path) -> None:
    """plc.allowed_clients: the PLC's address is served; a client from any other address is cut off at
    connect, counted and raised (here from 127.0.0.2, which loopback also reaches)."""
    port = free_port()
    plc_settings = {"mode": "server", "host": "127.0.0.1", "port": port, "allowed_clients": ["127.0.0.1"]}
    station = Station(load_station_config(write_station(tmp_path, plc=plc_settings)))
    faults: list[LineFault] = []
    station.bus.subscribe(lambda event: faults.append(event) if isinstance(event, LineFault) else None)
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        plc = Plc(port)
        plc.wait(lambda s: Status.TRIGGER_READY in s)  # the allowed PLC reads its registers
        rogue = ModbusTcpClient("127.0.0.1", port=port, source_address=("127.0.0.2", 0), retries=0, timeout=1)
        rogue.connect()
        try:
            response = rogue.read_holding_registers(OUT, count=1)
        except Exception:  # pymodbus raises its own connection errors once the station has cut it off
            response = None
        assert response is None or response.isError()
        rogue.close()
        deadline = time.monotonic() + 5
        while not any("127.0.0.2" in f.message for f in faults):
            assert time.monotonic() < deadline, faults
            time.sleep(0.05)
        counters = station.status().plc
        assert counters is not None and counters["refused_connections"] >= 1
        words = plc.trigger("SN-1", "LOT-1")  # the PLC goes on
        assert Status.RESULTS_VALID in Status(words[0])
        plc.acknowledge()
    finally:
        station.stop()
        runner.join(30)
        station.close()
