"""Modbus TCP register banks for the PLC handshake (pymodbus).

- ``ServerBank``: the station is the Modbus server and the PLC polls it. The server runs on its own
  thread and event loop; the handshake reads and writes the same registers through that loop.
- ``ClientBank``: the station is a client and reads / writes the registers in the PLC's own memory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspection.core.errors import ConfigError

log = logging.getLogger(__name__)

READ_HOLDING, WRITE_HOLDING = 3, 16
WRITE_CODES = (6, 16, 23)  # write single register, write multiple registers, read/write multiple
CALL_TIMEOUT_S = 2.0


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
    """Holding registers 0..size-1 served on ``host:port`` (any unit id)."""

    def __init__(self, host: str, port: int, size: int = 256, guard: WriteGuard | None = None) -> None:
        from pymodbus.constants import ExcCodes  # noqa: PLC0415  (heavy SDK, loaded only when used)
        from pymodbus.server import ModbusTcpServer  # noqa: PLC0415  (heavy SDK, loaded only when used)
        from pymodbus.simulator import DataType, SimData, SimDevice  # noqa: PLC0415  (heavy SDK, loaded only when used)

        self.address = (host, port)
        # Set when the PLC has written registers (after the write took effect): the handshake waits on it
        # instead of reading the registers every few milliseconds.
        self.changed = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._server: Any = None
        self._guard = guard
        self._own_write = False  # set while the station writes (on the server's loop, without a pause)
        self.refused_writes = 0
        self.refused_connections = 0
        self._refusals = {"address": ExcCodes.ILLEGAL_ADDRESS, "value": ExcCodes.ILLEGAL_VALUE}

        async def serve() -> None:
            registers = [SimData(0, count=size, values=0, datatype=DataType.REGISTERS)]
            device = SimDevice(0, simdata=registers, action=self._check_access)
            server_class = _screening_server(self) if guard is not None and guard.allowed_clients is not None else None
            self._server = (server_class or ModbusTcpServer)(device, address=(host, port), trace_pdu=self._seen)
            try:
                await self._server.serve_forever(background=True)
            except BaseException as exc:  # the port is taken, or not ours to open
                self._error = exc
            finally:
                self._started.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.create_task(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="modbus-server", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._error is not None or self._server is None:
            self.close()
            raise ConfigError(f"plc: cannot serve Modbus TCP on {host}:{port} ({self._error}); choose another port")

    def _seen(self, sending: bool, pdu: Any) -> Any:
        """pymodbus' trace hook: a write's response is sent once the registers hold the new values."""
        if sending and getattr(pdu, "function_code", 0) in WRITE_CODES:
            self.changed.set()
        return pdu

    async def _check_access(
        self, function_code: int, start: int, address: int, count: int, registers: list[int], values: Any
    ) -> Any:
        """pymodbus' access hook, for every request and the station's own writes alike."""
        if values is None or self._own_write or self._guard is None:
            return None
        written = list(values) if isinstance(values, list) else [values]
        if any(address + i in self._guard.protected for i in range(len(written))):
            into = f"a client wrote {len(written)} register(s) at {address} into the station's output block"
            return self._refuse(into, "address")
        why = self._guard.check(address, written)
        return None if why is None else self._refuse(why, "value")

    def _refuse(self, why: str, kind: str) -> Any:
        """Count and report a refused write; the Modbus exception code the client gets."""
        assert self._guard is not None
        self.refused_writes += 1
        self._guard.on_refused(f"refused: {why}", self.refusals())
        return self._refusals[kind]

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

    async def _station_write(self, address: int, values: list[int]) -> None:
        self._own_write = True  # no await suspends before the write is done: no client request comes between
        try:
            await self._server.async_setValues(0, WRITE_HOLDING, address, values)
        finally:
            self._own_write = False

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CALL_TIMEOUT_S)

    def read(self, address: int, count: int) -> list[int]:
        return [int(v) for v in self._call(self._server.async_getValues(0, READ_HOLDING, address, count))]

    def write(self, address: int, values: list[int]) -> None:
        self._call(self._station_write(address, values))

    def close(self) -> None:
        if self._server is not None and self._loop.is_running():
            try:
                self._call(self._server.shutdown())
            except Exception:
                log.debug("Modbus server shutdown", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


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


def _screening_server(bank: ServerBank) -> Any:
    """A Modbus TCP server class that closes a connection from an address the bank does not admit, before
    it can send anything."""
    from pymodbus.server import ModbusTcpServer  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from pymodbus.server.requesthandler import ServerRequestHandler  # noqa: PLC0415  (heavy SDK, loaded only when used)

    class ScreeningHandler(ServerRequestHandler):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            peer = transport.get_extra_info("peername")
            if not bank.admits(str(peer[0]) if peer else "?"):
                transport.close()
                return
            super().connection_made(transport)

    class ScreeningServer(ModbusTcpServer):  # type: ignore[misc]
        def callback_new_connection(self) -> Any:
            return ScreeningHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)  # type: ignore[no-untyped-call]

    return ScreeningServer
