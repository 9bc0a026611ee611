"""Modbus TCP register banks for the PLC handshake.

- ``ServerBank``: the station is the Modbus server and the PLC polls it; the station's own server
  (``modbus_server.py``) answers on its own thread from the registers the handshake reads and writes.
- ``ClientBank``: the station is a client (pymodbus) and reads / writes the registers in the PLC's own
  memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspection.core.errors import ConfigError
from inspection.outputs.modbus_server import ILLEGAL_ADDRESS, ILLEGAL_VALUE, RegisterServer


@dataclass(frozen=True)
class WriteGuard:
    """The client writes a station's server refuses (with a Modbus exception, counted and reported): any
    into the station's own output block (only the station writes its results there), and input words that
    ``check`` rejects (e.g. an unknown recipe index; the register keeps its last good value)."""

    protected: range
    check: Callable[[int, list[int]], str | None]  # (address, values) -> why refused, or None
    on_refused: Callable[[str, dict[str, int]], None]  # (why, the refusal counters so far)
    allowed_clients: frozenset[str] | None = None  # client addresses that may connect (None: any)


class ServerBank:
    """Holding registers 0..size-1 served on ``host:port`` (any unit id) by the station's own Modbus TCP
    server (``outputs/modbus_server.py``), on its own thread."""

    def __init__(self, host: str, port: int, size: int = 256, guard: WriteGuard | None = None) -> None:
        self.address = (host, port)
        self._guard = guard
        self.refused_writes = 0
        self.refused_connections = 0
        screening = guard is not None and guard.allowed_clients is not None
        try:
            self._server = RegisterServer(
                host, port, size, check=self._check_write, admits=self.admits if screening else None
            )
        except OSError as exc:  # the port is taken, or not ours to open
            raise ConfigError(f"plc: cannot serve Modbus TCP on {host}:{port} ({exc}); choose another port") from None
        # Set when the PLC has written registers (after the write took effect): the handshake waits on it
        # instead of reading the registers every few milliseconds.
        self.changed = self._server.changed

    def _check_write(self, address: int, values: list[int]) -> int | None:
        """A client's write: refused (a Modbus exception code) into the station's output block or where the
        guard's check says no."""
        if self._guard is None:
            return None
        if any(address + i in self._guard.protected for i in range(len(values))):
            into = f"a client wrote {len(values)} register(s) at {address} into the station's output block"
            return self._refuse(into, ILLEGAL_ADDRESS)
        why = self._guard.check(address, values)
        return None if why is None else self._refuse(why, ILLEGAL_VALUE)

    def _refuse(self, why: str, code: int) -> int:
        """Count and report a refused write; the Modbus exception code the client gets."""
        assert self._guard is not None
        self.refused_writes += 1
        self._guard.on_refused(f"refused: {why}", self.refusals())
        return code

    def refusals(self) -> dict[str, int]:
        return {"refused_writes": self.refused_writes, "refused_connections": self.refused_connections}

    def admits(self, peer: str) -> bool:
        """Whether a client at ``peer`` may connect (plc.allowed_clients); a refusal is counted and reported."""
        assert self._guard is not None and self._guard.allowed_clients is not None
        if peer in self._guard.allowed_clients:
            return True
        self.refused_connections += 1
        self._guard.on_refused(f"refused: a connection from {peer} (not in plc.allowed_clients)", self.refusals())
        return False

    def read(self, address: int, count: int) -> list[int]:
        return self._server.read(address, count)

    def write(self, address: int, values: list[int]) -> None:
        self._server.write(address, values)

    def close(self) -> None:
        self._server.close()


class ClientBank:
    """The PLC's holding registers, read and written over one Modbus TCP connection (reconnected by
    pymodbus when it drops; a call that fails raises, and the handshake tries again)."""

    def __init__(self, host: str, port: int, unit: int = 1, timeout_s: float = 1.0) -> None:
        from pymodbus.client import ModbusTcpClient  # noqa: PLC0415  (heavy SDK, loaded only when used)

        self.unit = unit
        self.refused_writes = 0  # the PLC's memory: its own program guards it
        self.refused_connections = 0
        self._client: Any = ModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
        self.address = (host, port)

    def _connected(self) -> Any:
        if not self._client.connected and not self._client.connect():
            raise ConnectionError(f"PLC at {self.address[0]}:{self.address[1]} does not answer")
        return self._client

    def read(self, address: int, count: int) -> list[int]:
        response = self._connected().read_holding_registers(address, count=count, device_id=self.unit)
        if response.isError():
            raise ConnectionError(f"PLC refused reading {count} registers at {address}: {response}")
        return list(response.registers)

    def write(self, address: int, values: list[int]) -> None:
        response = self._connected().write_registers(address, values, device_id=self.unit)
        if response.isError():
            raise ConnectionError(f"PLC refused writing {len(values)} registers at {address}: {response}")

    def close(self) -> None:
        self._client.close()
