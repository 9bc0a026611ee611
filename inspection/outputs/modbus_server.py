"""The station's own Modbus TCP server: one bank of holding registers on one thread, for the PLC handshake.

Only what a PLC's Modbus client block sends to a device's holding registers: read (function 3), write one
(6), write several (16), write then read (23), for any unit id; any other function is answered with
exception 1 (illegal function). A frame that is not Modbus TCP closes its connection. Each request is
answered straight from the bank on the server's thread (no event loop between), so a PLC polling every few
milliseconds costs the station little (measured in ``benchmarks/line_outputs.py``).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Callable

MBAP = struct.Struct(">HHHB")  # transaction id, protocol id (0), length of what follows, unit id
MAX_FRAME = 260  # a Modbus TCP frame's largest size (MBAP 7 + PDU 253)
MAX_READ, MAX_WRITE, MAX_READ_WRITE = 125, 123, 121  # registers per request (the standard's limits)
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE = 1, 2, 3
SEND_TIMEOUT_S = 1.0  # a client that does not take its answers is cut off after this
READ, WRITE_ONE, WRITE_MANY, READ_WRITE = 3, 6, 16, 23

# (address, values) -> a Modbus exception code to refuse the write with, or None to let it happen
WriteCheck = Callable[[int, list[int]], int | None]
Admits = Callable[[str], bool]  # a client's address -> whether it may connect


class MalformedFrame(Exception):
    """Not a Modbus TCP frame: the connection is closed."""


class RegisterServer:
    """``size`` holding registers served on ``host:port``. ``read``/``write`` are the station's own access
    (no check); a client's write goes through ``check`` first, and sets ``changed`` once it took effect."""

    def __init__(
        self, host: str, port: int, size: int, check: WriteCheck | None = None, admits: Admits | None = None
    ) -> None:
        self.size = size
        self.changed = threading.Event()
        self._registers = [0] * size
        self._lock = threading.Lock()
        self._check = check
        self._admits = admits
        self._listener = socket.create_server((host, port))  # raises OSError: port taken, not ours
        self._listener.setblocking(False)
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        self._buffers: dict[socket.socket, bytearray] = {}
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="modbus-server", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the system's choice for 0)."""
        return int(self._listener.getsockname()[1])

    # ------------------------------------------------------------ the station's side
    def read(self, address: int, count: int) -> list[int]:
        with self._lock:
            return self._registers[address : address + count]

    def write(self, address: int, values: list[int]) -> None:
        if address < 0 or address + len(values) > self.size:
            raise ValueError(f"registers {address}..{address + len(values) - 1} are outside 0..{self.size - 1}")
        with self._lock:
            self._registers[address : address + len(values)] = [value & 0xFFFF for value in values]

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")
        self._thread.join(5)
        for connection in list(self._buffers):
            connection.close()
        for sock in (self._listener, self._wake_reader, self._wake_writer):
            sock.close()
        self._selector.close()

    # ------------------------------------------------------------ the server's thread
    def _serve(self) -> None:
        while not self._closing:
            for key, _ in self._selector.select():
                sock = key.fileobj
                if sock is self._listener:
                    self._accept()
                elif sock is not self._wake_reader:
                    assert isinstance(sock, socket.socket)
                    self._receive(sock)

    def _accept(self) -> None:
        try:
            connection, peer = self._listener.accept()
        except OSError:
            return
        if self._admits is not None and not self._admits(str(peer[0])):
            connection.close()
            return
        connection.settimeout(SEND_TIMEOUT_S)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffers[connection] = bytearray()
        self._selector.register(connection, selectors.EVENT_READ)

    def _receive(self, connection: socket.socket) -> None:
        buffer = self._buffers[connection]
        try:
            data = connection.recv(4096)
            if not data:
                raise ConnectionResetError("closed by the client")
            buffer += data
            while len(buffer) >= MBAP.size:
                length = _frame_length(buffer)
                if len(buffer) < length:
                    break
                frame, buffer[:length] = bytes(buffer[:length]), b""
                connection.sendall(self._answer(frame))
        except (OSError, MalformedFrame):
            self._drop(connection)

    def _drop(self, connection: socket.socket) -> None:
        self._selector.unregister(connection)
        del self._buffers[connection]
        connection.close()

    def _answer(self, frame: bytes) -> bytes:
        transaction, _protocol, _length, unit = MBAP.unpack_from(frame)
        pdu = frame[MBAP.size :]
        try:
            reply = self._reply(pdu)
        except struct.error:  # shorter than its function code says
            reply = _exception(pdu[0], ILLEGAL_VALUE)
        return MBAP.pack(transaction, 0, len(reply) + 1, unit) + reply

    def _reply(self, pdu: bytes) -> bytes:
        function = pdu[0]
        if function == READ:
            start, count = struct.unpack_from(">HH", pdu, 1)
            return self._read_reply(function, start, count, MAX_READ)
        if function == WRITE_ONE:
            address, value = struct.unpack_from(">HH", pdu, 1)
            refused = self._client_write(address, [value])
            return pdu[:5] if refused is None else _exception(function, refused)
        if function == WRITE_MANY:
            start, count, size = struct.unpack_from(">HHB", pdu, 1)
            refused = self._write_block(pdu, 6, start, count, size, MAX_WRITE)
            return struct.pack(">BHH", function, start, count) if refused is None else _exception(function, refused)
        if function == READ_WRITE:
            read_start, read_count, start, count, size = struct.unpack_from(">HHHHB", pdu, 1)
            refused = self._write_block(pdu, 10, start, count, size, MAX_READ_WRITE)
            if refused is not None:
                return _exception(function, refused)
            return self._read_reply(function, read_start, read_count, MAX_READ)
        return _exception(function, ILLEGAL_FUNCTION)

    def _read_reply(self, function: int, start: int, count: int, most: int) -> bytes:
        if not 1 <= count <= most:
            return _exception(function, ILLEGAL_VALUE)
        if start + count > self.size:
            return _exception(function, ILLEGAL_ADDRESS)
        values = self.read(start, count)
        return struct.pack(f">BB{count}H", function, 2 * count, *values)

    def _write_block(self, pdu: bytes, at: int, start: int, count: int, size: int, most: int) -> int | None:
        if not 1 <= count <= most or size != 2 * count or len(pdu) != at + size:
            return ILLEGAL_VALUE
        return self._client_write(start, list(struct.unpack_from(f">{count}H", pdu, at)))

    def _client_write(self, address: int, values: list[int]) -> int | None:
        if address + len(values) > self.size:
            return ILLEGAL_ADDRESS
        refused = None if self._check is None else self._check(address, values)
        if refused is not None:
            return refused
        with self._lock:
            self._registers[address : address + len(values)] = values
        self.changed.set()
        return None


def _frame_length(buffer: bytearray) -> int:
    """The whole frame's length from its header; raises MalformedFrame for anything but Modbus TCP."""
    protocol: int
    length: int
    _transaction, protocol, length, _unit = MBAP.unpack_from(buffer)
    if protocol != 0 or not 2 <= length <= MAX_FRAME - 6:
        raise MalformedFrame(f"protocol {protocol}, length {length}")
    return 6 + length


def _exception(function: int, code: int) -> bytes:
    return bytes([function | 0x80, code])
