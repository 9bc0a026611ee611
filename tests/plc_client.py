"""A PLC's side of the station's register handshake, over Modbus TCP on loopback (for the tests)."""

from __future__ import annotations

import time
from typing import Any

from pymodbus.client import ModbusTcpClient

from inspection.config.plc_registers import OUTPUT_WORDS, Control, Status, encode_text

OUT = 100  # the station's output block (its default output_base)


class Plc:
    """The PLC's side of the handshake, as a PLC programmer would write it."""

    def __init__(self, port: int) -> None:
        self.client = ModbusTcpClient("127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while not self.client.connect():
            assert time.monotonic() < deadline, "the station's Modbus server did not come up"
            time.sleep(0.05)

    def outputs(self) -> list[int]:
        return list(self.client.read_holding_registers(OUT, count=OUTPUT_WORDS).registers)

    def wait(self, condition: Any, timeout: float = 10.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            words = self.outputs()
            if condition(Status(words[0])):
                return words
            time.sleep(0.001)
        raise AssertionError(f"timed out; outputs {self.outputs()}")

    def control(self, bits: Control | int) -> None:
        self.client.write_registers(0, [int(bits)])

    def trigger(self, serial: str, lot: str) -> list[int]:
        self.wait(lambda s: Status.TRIGGER_READY in s)
        self.client.write_registers(2, encode_text(serial, 20) + encode_text(lot, 16))
        self.control(Control.TRIGGER)
        return self.wait(lambda s: Status.RESULTS_VALID in s)

    def acknowledge(self) -> None:
        self.control(Control.RESULT_ACK)
        self.wait(lambda s: Status.RESULTS_VALID not in s)
        self.control(0)

    def recipe(self, index: int) -> None:
        """The recipe index sent with the next triggers."""
        self.client.write_registers(1, [index])
