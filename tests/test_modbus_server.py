"""The station's own Modbus TCP server on loopback: a real pymodbus client reads and writes its registers,
and raw frames check the protocol's corners (a frame split across packets, several in one packet, function
23, the exception codes, a frame that is not Modbus TCP, a client that vanishes mid-frame)."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest
from loopback import free_port
from pymodbus.client import ModbusTcpClient

from inspection.outputs.modbus_server import ILLEGAL_ADDRESS, ILLEGAL_FUNCTION, ILLEGAL_VALUE, RegisterServer

SIZE = 32


def _refuse_odd(_address: int, values: list[int]) -> int | None:
    return ILLEGAL_VALUE if any(value % 2 for value in values) else None


@pytest.fixture
def server() -> Iterator[RegisterServer]:
    bank = RegisterServer("127.0.0.1", free_port(), SIZE, check=_refuse_odd)
    yield bank
    bank.close()


def _frame(transaction: int, pdu: bytes, unit: int = 1) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def _answers(sock: socket.socket, count: int) -> list[tuple[int, int, bytes]]:
    """``count`` answers as (transaction, unit, pdu)."""
    data, answers = b"", []
    while len(answers) < count:
        data += sock.recv(4096)
        while len(data) >= 7:
            transaction, _protocol, length, unit = struct.unpack_from(">HHHB", data)
            if len(data) < 6 + length:
                break
            answers.append((transaction, unit, data[7 : 6 + length]))
            data = data[6 + length :]
    return answers


def test_a_pymodbus_client_reads_the_stations_words_and_writes_its_own(server: RegisterServer) -> None:
    server.write(10, [7, 65535, 3])
    client = ModbusTcpClient("127.0.0.1", port=server.port, timeout=2)
    assert client.connect()
    try:
        assert client.read_holding_registers(10, count=3, device_id=5).registers == [7, 65535, 3]
        assert not client.write_registers(0, [2, 4], device_id=1).isError()
        assert server.changed.is_set() and server.read(0, 2) == [2, 4]
        assert not client.write_register(1, 8).isError() and server.read(1, 1) == [8]
        refused = client.write_register(2, 5)  # the check refuses odd values: the register keeps its value
        assert refused.isError() and refused.exception_code == ILLEGAL_VALUE and server.read(2, 1) == [0]
        beyond = client.read_holding_registers(SIZE - 1, count=2)
        assert beyond.isError() and beyond.exception_code == ILLEGAL_ADDRESS
    finally:
        client.close()


def test_raw_frames_split_batched_and_function_23(server: RegisterServer) -> None:
    server.write(20, [11, 12])
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        read = _frame(1, struct.pack(">BHH", 3, 20, 2), unit=9)
        for byte in read:  # one byte per packet
            sock.sendall(bytes([byte]))
            time.sleep(0.001)
        assert _answers(sock, 1) == [(1, 9, struct.pack(">BBHH", 3, 4, 11, 12))]

        write_then_read = struct.pack(">BHHHHBHH", 23, 20, 2, 4, 2, 4, 6, 8)
        batch = [
            _frame(2, write_then_read),
            _frame(3, bytes([4, 0, 0, 0, 1])),  # input registers: not served
            _frame(4, struct.pack(">BHH", 3, 0, 0)),  # zero registers
            _frame(5, struct.pack(">BHHB", 16, 0, 2, 3) + b"\x00\x01\x00"),  # byte count does not match
            _frame(6, bytes([3, 0])),  # shorter than its function needs
        ]
        sock.sendall(b"".join(batch))
        answers = _answers(sock, 5)
    assert answers[0] == (2, 1, struct.pack(">BBHH", 23, 4, 11, 12))  # read after the write, elsewhere
    assert server.read(4, 2) == [6, 8]
    assert [pdu for _, _, pdu in answers[1:]] == [
        bytes([0x84, ILLEGAL_FUNCTION]),
        bytes([0x83, ILLEGAL_VALUE]),
        bytes([0x90, ILLEGAL_VALUE]),
        bytes([0x83, ILLEGAL_VALUE]),
    ]


def test_a_frame_that_is_not_modbus_closes_only_its_connection(server: RegisterServer) -> None:
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=2) as bad:
        bad.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert bad.recv(100) == b""  # closed, nothing answered
    half = socket.create_connection(("127.0.0.1", port), timeout=2)
    half.sendall(_frame(1, struct.pack(">BHH", 3, 0, 1))[:5])
    half.close()  # gone mid-frame
    with socket.create_connection(("127.0.0.1", port), timeout=2) as good:
        good.sendall(_frame(7, struct.pack(">BHH", 3, 0, 1)))
        assert _answers(good, 1) == [(7, 1, struct.pack(">BBH", 3, 2, 0))]


def test_the_station_cannot_write_outside_its_bank(server: RegisterServer) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.31"):
        server.write(SIZE - 1, [1, 2])
