"""The PLC register map: holding registers, 16 bits each, addresses 0-based (a PLC's 4x table: 40001 + address).

Two blocks: what the PLC writes (``inputs``, from ``input_base``) and what the station writes
(``outputs``, from ``output_base``). ``register_map_rows`` is the table in the docs and the CSV a PLC
programmer imports (``inspection plc map``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import IntEnum, IntFlag

SERIAL_CHARS = 20
LOT_CHARS = 16
ID_WORDS = 8  # the record id (a UUID) as 8 words, big-endian


class Control(IntFlag):
    """Register ``input_base + 0``, written by the PLC."""

    TRIGGER = 1  # rising edge: inspect one part
    RESULT_ACK = 2  # the PLC has read the results
    ERROR_RESET = 4  # clear the error bit and error code


class Status(IntFlag):
    """Register ``output_base + 0``, written by the station."""

    TRIGGER_READY = 1
    BUSY = 2
    RESULTS_VALID = 4
    PASS = 8
    FAIL = 16
    ERROR = 32
    HEARTBEAT = 64  # toggles every heartbeat period while the station runs


class ResultCode(IntEnum):
    NONE = 0
    PASS = 1
    FAIL = 2
    ERROR = 3  # no verdict (camera or detector failure)


class ErrorCode(IntEnum):
    NONE = 0
    TRIGGER_WHILE_BUSY = 1
    ACK_TIMEOUT = 2
    INSPECTION_FAILED = 3
    UNKNOWN_RECIPE = 4


# Offsets within each block
IN_CONTROL, IN_RECIPE, IN_SERIAL = 0, 1, 2
IN_LOT = IN_SERIAL + SERIAL_CHARS // 2
INPUT_WORDS = IN_LOT + LOT_CHARS // 2
OUT_STATUS, OUT_RESULT, OUT_ERROR, OUT_DEFECTS, OUT_SEQUENCE = 0, 1, 2, 3, 4
OUT_ID = OUT_SEQUENCE + 2
OUT_MISSED = OUT_ID + ID_WORDS
OUT_RECIPE = OUT_MISSED + 1
OUT_ACCEPTED = OUT_RECIPE + 1
OUTPUT_WORDS = OUT_ACCEPTED + 1


@dataclass(frozen=True)
class Row:
    block: str
    offset: int
    words: int
    name: str
    meaning: str


ROWS = [
    Row("input", IN_CONTROL, 1, "control", "bit 0 trigger (rising edge), 1 results acknowledged, 2 error reset"),
    Row("input", IN_RECIPE, 1, "recipe index", "0: keep the current recipe; N: the station's recipes entry N"),
    Row("input", IN_SERIAL, SERIAL_CHARS // 2, "part serial", f"ASCII, {SERIAL_CHARS} chars, 2 a word, high first"),
    Row("input", IN_LOT, LOT_CHARS // 2, "lot", f"ASCII, {LOT_CHARS} chars, 2 a word, high first"),
    Row(
        "output",
        OUT_STATUS,
        1,
        "status",
        "bit 0 trigger ready, 1 busy, 2 results valid, 3 PASS, 4 FAIL, 5 error, 6 heartbeat (toggles)",
    ),
    Row("output", OUT_RESULT, 1, "result code", "0 none, 1 pass, 2 fail, 3 error (no verdict)"),
    Row(
        "output",
        OUT_ERROR,
        1,
        "error code",
        "0 none, 1 trigger while busy, 2 results not acknowledged in time, 3 inspection failed, 4 unknown recipe index",
    ),
    Row("output", OUT_DEFECTS, 1, "defect count", "defects that counted towards the verdict"),
    Row("output", OUT_SEQUENCE, 2, "result number", "32 bits, high word first; +1 for every result"),
    Row("output", OUT_ID, ID_WORDS, "inspection id", "the record's id: 8 words, printed as 4 hex digits each, joined"),
    Row("output", OUT_MISSED, 1, "missed handshakes", "triggers while busy + results not acknowledged in time"),
    Row("output", OUT_RECIPE, 1, "active recipe index", "0: the station's own recipe"),
    Row("output", OUT_ACCEPTED, 1, "triggers accepted", "+1 (mod 65536) when a trigger is taken: drop trigger then"),
]


def register_map_rows(input_base: int, output_base: int) -> list[dict[str, str | int]]:
    rows = []
    for row in ROWS:
        base = input_base if row.block == "input" else output_base
        rows.append(
            {
                "address": base + row.offset,
                "plc_address": 40001 + base + row.offset,
                "words": row.words,
                "direction": "PLC -> station" if row.block == "input" else "station -> PLC",
                "name": row.name,
                "meaning": row.meaning,
            }
        )
    return rows


def register_map_csv(input_base: int, output_base: int) -> str:
    rows = register_map_rows(input_base, output_base)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def encode_text(text: str, chars: int) -> list[int]:
    """ASCII text in ``chars // 2`` words (2 characters per word, high byte first, NUL-padded)."""
    raw = text.encode("ascii", "replace")[:chars].ljust(chars, b"\0")
    return [raw[i] << 8 | raw[i + 1] for i in range(0, chars, 2)]


def decode_text(words: list[int]) -> str:
    raw = b"".join(bytes([(w >> 8) & 0xFF, w & 0xFF]) for w in words)
    return raw.split(b"\0", 1)[0].decode("ascii", "replace").strip()


def id_words(record_id: str) -> list[int]:
    """A 32-hex-digit record id as 8 words."""
    digits = record_id.ljust(32, "0")[:32]
    return [int(digits[i : i + 4], 16) for i in range(0, 32, 4)]


def words_id(words: list[int]) -> str:
    return "".join(f"{w:04x}" for w in words)
