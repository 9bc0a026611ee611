"""The station's side of the outputs' own process (``output_host.py`` says why and what is sent).

``OutputProcess`` starts the host for a run and feeds it: every verdict (from the detect thread: it is
only queued; a sender thread pickles and sends), the station's events (state, product, camera, alerts,
status), the end of the records and the close, in that order. It passes on what the host sends back: the
outputs' faults and link changes onto the station's bus, their line commands to the station's handler
(answered from a thread of their own: a changeover takes seconds), and their counters for the status. A
host that ends on its own is a line fault and a lost link (``outputs``) while the station goes on; it is
started again (after 1 s, then up to 30 s apart) and gets what was queued meanwhile, up to the outbox's size.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from inspection.core.events import Event, InspectionDone, LineFault, LineLink, RecordWritten
from inspection.core.types import InspectionRecord
from inspection.outputs.base import OutputContext

log = logging.getLogger(__name__)
SOURCE = "outputs"
START_TIMEOUT_S = 60.0  # the host imports the outputs' libraries and starts them (OPC UA: up to 30 s)
CLOSE_TIMEOUT_S = 40.0  # the fleet forwards what is left for up to 5 s, MQTT delivers its outbox
OUTBOX_SIZE = 4096  # messages waiting for the host; beyond, the oldest verdict is dropped (counted)
RESTART_S, RESTART_MAX_S = 1.0, 30.0  # a host that ended is started again after this, doubling up to that


class OutputProcess:
    """The outputs ``names`` (registry names), run in a process of their own for each run."""

    def __init__(self, context: OutputContext, names: list[str]) -> None:
        self.names = names
        self._context = context
        self._process: subprocess.Popen[bytes] | None = None
        self._outbox: deque[tuple[Any, ...] | None] = deque()
        self._ready = threading.Condition()
        self._started = threading.Event()
        self._closed = threading.Event()
        self._closing = False
        self._status: dict[str, dict[str, int]] = {}
        self.dropped = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._generation = 0
        self._down = False  # the host ended on its own: reported, and started again
        self._restart_s = RESTART_S

    # ------------------------------------------------------------ the run
    def start(self) -> None:
        self._outbox.clear()
        self._closed.clear()
        self._closing = False
        self._down = False
        self._restart_s = RESTART_S
        self._launch()
        if not self._started.wait(START_TIMEOUT_S):
            self._fault(f"the outputs' process ({', '.join(self.names)}) did not start within {START_TIMEOUT_S:g} s")
        self._unsubscribe = self._context.bus.subscribe(self._on_event)

    def _launch(self) -> None:
        """A new host, given the setup first; its own sender and receiver threads."""
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "inspection.outputs.output_host", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            start_new_session=True,  # a Ctrl-C at the station's terminal is the station's to handle
        )
        theirs.close()
        connection = Connection(ours.detach())
        self._started.clear()
        database_url = self._context.engine.url.render_as_string(hide_password=False)
        level = logging.getLogger().getEffectiveLevel()
        with contextlib.suppress(OSError):  # a host that is gone at once: its receiver reports it
            connection.send(("setup", self._context.config, database_url, self.names, level))
        with self._ready:
            self._generation += 1
            self._ready.notify_all()  # a sender of an earlier host stops
        generation = self._generation
        threading.Thread(target=self._send, args=(connection, generation), name="outputs-sender", daemon=True).start()
        threading.Thread(target=self._receive, args=(connection,), name="outputs-receiver", daemon=True).start()

    def record(self, record: InspectionRecord) -> None:
        # The outputs take a record's fields; an anomaly model's score map stays here.
        light = record if record.anomaly_map is None else dataclasses.replace(record, anomaly_map=None)
        self._post(("record", light))

    def records_written(self) -> None:
        self._post(("records_written",))

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._closing = True
        self._post(("close",))
        if self._process is None:
            return
        if not self._closed.wait(CLOSE_TIMEOUT_S):
            log.warning("the outputs' process did not close within %g s: stopping it", CLOSE_TIMEOUT_S)
        self._post(None)  # the sender's end
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None  # its receiver closes the connection at the end it reads

    def status(self) -> dict[str, dict[str, int]]:
        """The outputs' counters as their process last sent them; verdicts it never got, when any."""
        lost = {SOURCE: {"dropped": self.dropped}} if self.dropped else {}
        return {**self._status, **lost}

    @property
    def pid(self) -> int | None:
        """The outputs' process while a run has it (None: not started, or closed)."""
        return None if self._process is None else self._process.pid

    # ------------------------------------------------------------ to the host
    def _on_event(self, event: Event) -> None:
        if not isinstance(event, InspectionDone | RecordWritten):  # the records come through record()
            self._post(("event", event))

    def _post(self, message: tuple[Any, ...] | None) -> None:
        with self._ready:
            if len(self._outbox) >= OUTBOX_SIZE:
                self._drop_oldest_record()
            self._outbox.append(message)
            self._ready.notify()

    def _drop_oldest_record(self) -> None:
        for index, waiting in enumerate(self._outbox):
            if waiting is not None and waiting[0] == "record":
                del self._outbox[index]
                self.dropped += 1
                return

    def _send(self, connection: Connection, generation: int) -> None:
        while True:
            with self._ready:
                while not self._outbox and generation == self._generation:
                    self._ready.wait()
                if generation != self._generation:
                    return  # a new host has its own sender
                message = self._outbox.popleft()
            if message is None:
                return
            try:
                connection.send(message)
            except (OSError, ValueError):  # the host is gone: the message waits for the next one
                with self._ready:
                    self._outbox.appendleft(message)
                return

    # ------------------------------------------------------------ from the host
    def _receive(self, connection: Connection) -> None:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                break
            match message:
                case ("started",):
                    self._started.set()
                    if self._down:
                        self._down, self._restart_s = False, RESTART_S
                        self._context.bus.publish(LineLink(SOURCE, True, "the outputs' process runs again"))
                case ("status", counters):
                    self._status = counters
                case ("event", event):
                    self._context.bus.publish(event)
                case ("command", number, command):
                    threading.Thread(
                        target=self._answer, args=(number, command), name="outputs-command", daemon=True
                    ).start()
                case ("closed", counters):
                    self._status = counters
                    self._closed.set()
        connection.close()
        self._ended()

    def _ended(self) -> None:
        """The host's end closed: after a close, the run is over; otherwise report it and start another."""
        self._started.set()
        if self._closing or self._closed.is_set():
            self._closed.set()
            return
        message = f"{', '.join(self.names)} ended ({self._exit()}); starting them again"
        self._fault(message)
        if not self._down:
            self._down = True
            self._context.bus.publish(LineLink(SOURCE, False, message))
        wait, self._restart_s = self._restart_s, min(2 * self._restart_s, RESTART_MAX_S)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not self._closing:
            time.sleep(0.05)
        if self._closing:
            self._closed.set()
        else:
            self._launch()

    def _answer(self, number: int, command: dict[str, object]) -> None:
        answer = self._context.on_command(command)
        self._post(("answer", number, answer))

    def _exit(self) -> str:
        process = self._process
        if process is None:
            return "stopped"
        deadline = time.monotonic() + 2
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        code = process.poll()
        if code is None:
            return "its end of the connection closed"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def _fault(self, message: str) -> None:
        log.error("outputs' process: %s", message)
        self._context.bus.publish(LineFault(SOURCE, message, {"dropped": self.dropped}))
