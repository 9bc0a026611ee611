"""The PLC handshake, as line builders know it from smart cameras.

1. The station shows *trigger ready* while it is idle and the last results were acknowledged.
2. The PLC sets *trigger* (a rising edge), with the part serial, lot and recipe index in their registers,
   and holds it until *triggers accepted* counts up (the station reads the registers every ``poll_s``:
   a shorter pulse may go unseen). The station drops *ready*, sets *busy*, and the camera takes exactly
   one picture. It shows *ready* again only after it has seen *trigger* low.
3. With the verdict the station writes result code, defect count, result number and inspection id, then
   sets *results valid* with PASS or FAIL and drops *busy*.
4. The PLC reads them and sets *results acknowledged*; the station drops *results valid*, PASS and FAIL.
   When the PLC has dropped trigger and acknowledge, the station is *ready* again.

With ``buffer`` > 1 (results buffering, as smart cameras offer it) the station is *ready* again as soon
as the triggered part's picture is taken, while up to ``buffer`` parts are inspected or wait for their
results to be acknowledged; results are shown one at a time, in trigger order. With ``buffer`` 1 (the
default) the next trigger waits for the acknowledgement.

A trigger while not ready is counted and ignored; results
not acknowledged within ``ack_timeout_s`` are counted once per part. Both set the error bit and code and
are reported to ``on_fault`` (the station raises an alert). The *heartbeat* bit toggles every
``heartbeat_s`` so the PLC can tell a live station from a frozen one.

One thread owns the registers: the station only hands it triggers' results (``complete``), so a slow or
gone PLC never blocks inspection.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from inspection.config.plc_registers import (
    IN_CONTROL,
    IN_LOT,
    IN_RECIPE,
    IN_SERIAL,
    INPUT_WORDS,
    LOT_CHARS,
    OUT_ERROR,
    OUT_MISSED,
    OUT_RESULT,
    OUT_STATUS,
    OUTPUT_WORDS,
    SERIAL_CHARS,
    Control,
    ErrorCode,
    ResultCode,
    Status,
    decode_text,
    id_words,
)

T = TypeVar("T")
log = logging.getLogger(__name__)
_GRABBED = object()
IDLE_WAKE_S = 0.05  # the detect thread's note that a triggered picture was taken


class RegisterBank(Protocol):
    """Where the handshake's registers live: the station's own Modbus server, or a PLC it writes to."""

    refused_writes: int  # client writes the station's server refused (a PLC's memory: always 0)
    refused_connections: int  # clients not in plc.allowed_clients

    def read(self, address: int, count: int) -> list[int]: ...

    def write(self, address: int, values: list[int]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Trigger:
    number: int
    serial: str
    lot: str
    recipe_index: int
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Result:
    verdict: str | None  # "pass" / "fail"; None: no verdict (failure)
    record_id: str = ""
    defects: int = 0


@dataclass
class HandshakeCounters:
    triggers: int = 0
    results: int = 0
    triggers_while_busy: int = 0
    ack_timeouts: int = 0
    bank_errors: int = 0

    @property
    def missed(self) -> int:
        return self.triggers_while_busy + self.ack_timeouts

    def as_dict(self) -> dict[str, int]:
        return {
            "triggers": self.triggers,
            "results": self.results,
            "triggers_while_busy": self.triggers_while_busy,
            "ack_timeouts": self.ack_timeouts,
            "missed": self.missed,
            "bank_errors": self.bank_errors,
        }


class PlcHandshake:
    def __init__(
        self,
        bank: RegisterBank,
        input_base: int = 0,
        output_base: int = 100,
        poll_s: float = 0.002,
        ack_timeout_s: float = 5.0,
        heartbeat_s: float = 1.0,
        on_fault: Callable[[str, dict[str, int]], None] | None = None,
        recipe_known: Callable[[int], bool] = lambda index: index == 0,
        buffer: int = 1,
        on_link: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.bank = bank
        self.on_link = on_link
        self._out_of_reach = False  # reported lost: the next answer reports the registers back
        self.input_base = input_base
        self.output_base = output_base
        self.poll_s = poll_s
        self.ack_timeout_s = ack_timeout_s
        self.heartbeat_s = heartbeat_s
        self.on_fault = on_fault
        self.recipe_known = recipe_known
        self.counters = HandshakeCounters()
        # A bank that tells when the PLC wrote (the station's own server) lets the thread sleep until then.
        self._wake: threading.Event | None = getattr(bank, "changed", None)
        self.triggers: queue.Queue[Trigger] = queue.Queue()
        self._results: queue.Queue[Result | object] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.buffer = max(1, buffer)
        self._grabbing = False  # a trigger was accepted and its picture is not taken yet
        self._accepted = 0  # triggers accepted whose results are not acknowledged yet
        self._waiting: deque[Result] = deque()  # results not shown yet, in trigger order
        self._shown = False  # results valid
        self._releasing = False  # acknowledged; waiting for the PLC to drop the acknowledge bit
        self._trigger_seen_low = True  # as of the last read of the registers
        self._error = ErrorCode.NONE
        self._last_control = Control(0)
        self._ack_deadline = 0.0
        self._ack_missed = False
        self._heartbeat_at = 0.0
        self.active_recipe = 0
        self._verdict_bits = Status(0)
        # The output block as the station means it, and as last written (None: write it all again). One
        # write carries every change, so the PLC never reads a new field beside a stale status word.
        self._out = [0] * OUTPUT_WORDS
        self._written: list[int] | None = None

    # ------------------------------------------------------------ the station's side
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="plc-handshake", daemon=True)
        self._thread.start()

    def next_trigger(self, stop: threading.Event) -> Trigger | None:
        """Wait for the PLC's next trigger; ``None`` when ``stop`` is set first."""
        return next_or_stop(self.triggers, stop, 0.1)

    def grabbed(self) -> None:
        """The triggered part's picture is taken (with a buffer, the station can be ready again)."""
        self._results.put(_GRABBED)
        if self._wake is not None:
            self._wake.set()

    def complete(self, result: Result) -> None:
        """The triggered part's result (from the detect thread; never blocks)."""
        self._results.put(result)
        if self._wake is not None:
            self._wake.set()

    def close(self) -> None:
        self._stop.set()
        if self._wake is not None:
            self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.bank.write(self.output_base + OUT_STATUS, [0])  # not ready: the station has gone
        except Exception:  # the PLC may be gone too
            log.debug("could not clear the PLC status word at close", exc_info=True)
        self.bank.close()

    # ------------------------------------------------------------ the handshake thread
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # a PLC connection drop: many error types; try again
                self.counters.bank_errors += 1
                if self._written is not None:  # it answered before: report once
                    self._lost(f"PLC registers out of reach: {exc}")
                self._written = None  # write everything again once the registers answer
                if self.counters.bank_errors == 1 or self.counters.bank_errors % 100 == 0:
                    log.warning("PLC registers: %s (%d errors so far)", exc, self.counters.bank_errors)
                self._stop.wait(0.5)
                continue
            if self._out_of_reach:
                self._out_of_reach = False
                if self.on_link is not None:
                    self.on_link(True, "PLC registers answer again")
            if self._wake is None:
                self._stop.wait(self.poll_s)
            else:  # woken by a PLC write or a result; at least every IDLE_WAKE_S for heartbeat and timeouts
                self._wake.wait(IDLE_WAKE_S)
                self._wake.clear()

    def _lost(self, message: str) -> None:
        if self.on_fault is not None:
            self.on_fault(message, self.counters.as_dict())
        self._out_of_reach = True
        if self.on_link is not None:
            self.on_link(False, message)

    def _step(self) -> None:
        now = time.monotonic()
        words = self.bank.read(self.input_base, INPUT_WORDS)
        control = Control(words[IN_CONTROL] & 0x7)
        rising = control & ~self._last_control
        self._last_control = control
        if Control.ERROR_RESET in rising:
            self._error = ErrorCode.NONE
        while True:
            try:
                item = self._results.get_nowait()
            except queue.Empty:
                break
            self._grabbing = False  # a part with a result has certainly been grabbed too
            if isinstance(item, Result):
                self._waiting.append(item)
        if Control.TRIGGER in rising:
            self._on_trigger(words, now)
        if self._shown:
            if Control.RESULT_ACK in control:
                self._shown, self._releasing = False, True
                self._accepted -= 1
            elif not self._ack_missed and now > self._ack_deadline:
                self._ack_missed = True
                self.counters.ack_timeouts += 1
                self._fault(ErrorCode.ACK_TIMEOUT, f"results not acknowledged within {self.ack_timeout_s:g} s")
        if self._releasing and Control.RESULT_ACK not in control:
            self._releasing = False
        if not self._shown and not self._releasing and self._waiting:
            self._publish(self._waiting.popleft(), now)
        self._trigger_seen_low = Control.TRIGGER not in control
        self._write_status(now)

    @property
    def _ready(self) -> bool:
        """Ready for a trigger; only once the station has seen the trigger bit low, so the next rising
        edge cannot fall between two reads of the registers."""
        return not self._grabbing and self._accepted < self.buffer and self._trigger_seen_low

    def _on_trigger(self, words: list[int], now: float) -> None:
        if not self._ready:
            self.counters.triggers_while_busy += 1
            doing = "taking a picture" if self._grabbing else f"{self._accepted} part(s) without acknowledged results"
            self._fault(ErrorCode.TRIGGER_WHILE_BUSY, f"trigger while busy ({doing}; ignored)")
            return
        recipe = words[IN_RECIPE]
        if recipe and recipe != self.active_recipe and not self.recipe_known(recipe):
            self._fault(ErrorCode.UNKNOWN_RECIPE, f"recipe index {recipe} is not configured (trigger ignored)")
            return
        self.counters.triggers += 1
        serial = decode_text(words[IN_SERIAL : IN_SERIAL + SERIAL_CHARS // 2])
        lot = decode_text(words[IN_LOT : IN_LOT + LOT_CHARS // 2])
        self._grabbing = True
        self._accepted += 1
        self._write_status(now)  # busy before the part is grabbed: the PLC sees it at once
        self.triggers.put(Trigger(self.counters.triggers, serial, lot, recipe or self.active_recipe, now))

    def _publish(self, result: Result, now: float) -> None:
        self.counters.results += 1
        code = {"pass": ResultCode.PASS, "fail": ResultCode.FAIL}.get(result.verdict or "", ResultCode.ERROR)
        number = self.counters.results & 0xFFFFFFFF
        block = [int(code), int(self._error), min(result.defects, 0xFFFF), number >> 16, number & 0xFFFF]
        words = block + id_words(result.record_id)
        self._out[OUT_RESULT : OUT_RESULT + len(words)] = words
        if code == ResultCode.ERROR:
            self._fault(ErrorCode.INSPECTION_FAILED, "the triggered part got no verdict")
        self._shown = True
        self._ack_deadline = now + self.ack_timeout_s
        self._ack_missed = False
        self._verdict_bits = {ResultCode.PASS: Status.PASS, ResultCode.FAIL: Status.FAIL}.get(code, Status(0))

    def _fault(self, code: ErrorCode, message: str) -> None:
        self._error = code
        log.warning("PLC handshake: %s", message)
        if self.on_fault is not None:
            self.on_fault(message, self.counters.as_dict())

    def _write_status(self, now: float) -> None:
        """Update the output block and write it, in one piece, when it changed."""
        status = Status(0)
        if self._ready:
            status |= Status.TRIGGER_READY
        if self._accepted - len(self._waiting) - int(self._shown) > 0:  # parts without a result yet
            status |= Status.BUSY
        if self._shown:
            status |= Status.RESULTS_VALID | self._verdict_bits
        if self._error != ErrorCode.NONE:
            status |= Status.ERROR
        beat = Status(self._out[OUT_STATUS]) & Status.HEARTBEAT
        if now - self._heartbeat_at >= self.heartbeat_s:
            self._heartbeat_at = now
            beat ^= Status.HEARTBEAT
        status |= beat
        self._out[OUT_STATUS] = int(status)
        self._out[OUT_ERROR] = int(self._error)
        self._out[OUT_MISSED : OUT_MISSED + 3] = [
            min(self.counters.missed, 0xFFFF),
            self.active_recipe,
            self.counters.triggers & 0xFFFF,
        ]
        if self._out != self._written:
            self.bank.write(self.output_base, self._out)
            self._written = list(self._out)


def next_or_stop(items: queue.Queue[T], stop: threading.Event, poll_s: float) -> T | None:
    """The queue's next item, or None once ``stop`` is set (checked every ``poll_s``)."""
    while not stop.is_set():
        try:
            return items.get(timeout=poll_s)
        except queue.Empty:
            continue
    return None
