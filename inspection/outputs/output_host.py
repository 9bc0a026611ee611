"""The process the MQTT, fleet and OPC UA outputs run in (``pipeline.outputs_process``, on by default), so
that their work never holds the station's interpreter: in one process, every millisecond an output's
thread spends in Python is a millisecond the detect workers wait for the interpreter lock, and it cost the
line several percent of its throughput per output (``benchmarks/line_outputs.py``).

The station (``output_process.py``) starts ``python -m inspection.outputs.output_host FD`` with one end of
a socket pair. Messages are pickled tuples, in order:

    station -> host   ("setup", config, database_url, names, log_level), then ("record", record), ("event", event),
                      ("answer", number, text), ("records_written",), ("close",)
    host -> station   ("started",), ("status", {name: counters}), ("event", LineFault | LineLink),
                      ("command", number, command), ("closed", {name: counters})

The outputs are the ones the station would have run itself, made by the same factories from the same
config, with a context whose database is this process's own engine on the station's database, whose bus
sends what they publish to the station's bus (which sends it back, as to every subscriber, with the
station's own events), and whose command handler asks the station and waits for its answer. The host ends
when the station says close or when the station's end of the socket closes (the station was killed).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from inspection.config import StationConfig
from inspection.core.events import Event, EventBus
from inspection.outputs.base import Output, OutputContext, close_all
from inspection.outputs.registry import OUTPUT_TYPES
from inspection.recorder.database import open_database

log = logging.getLogger(__name__)
STATUS_INTERVAL_S = 0.5
COMMAND_TIMEOUT_S = 120.0  # a product changeover loads a model: seconds, not minutes


class Channel:
    """The host's end of the socket: sends from any thread, one message at a time."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self.connection.send(message)


class StationBus(EventBus):
    """The outputs' bus in the host: what they publish goes to the station's bus; what the station's bus
    carries comes back through ``deliver`` to their subscriptions (so each sees every event once)."""

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self._channel = channel

    def publish(self, event: Event) -> None:
        self._channel.send(("event", event))

    def deliver(self, event: Event) -> None:
        super().publish(event)


class StationCommands:
    """A line command asked of the station from an output's thread; waits for the station's answer."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[threading.Event, list[str]]] = {}

    def __call__(self, command: dict[str, object]) -> str:
        number = next(self._numbers)
        done, answer = threading.Event(), list[str]()
        with self._lock:
            self._waiting[number] = (done, answer)
        try:
            self._channel.send(("command", number, command))
            if not done.wait(COMMAND_TIMEOUT_S):
                return f"refused: the station did not answer within {COMMAND_TIMEOUT_S:g} s"
            return answer[0]
        finally:
            with self._lock:
                self._waiting.pop(number, None)

    def answered(self, number: int, text: str) -> None:
        with self._lock:
            waiting = self._waiting.get(number)
        if waiting is not None:
            waiting[1].append(text)
            waiting[0].set()

    def abandon(self) -> None:
        """The station is gone: every command still waiting is refused."""
        with self._lock:
            waiting = list(self._waiting.values())
        for done, answer in waiting:
            answer.append("refused: the station has stopped")
            done.set()


class Host:
    def __init__(self, channel: Channel, config: StationConfig, database_url: str, names: list[str]) -> None:
        self.channel = channel
        self.bus = StationBus(channel)
        self.commands = StationCommands(channel)
        context = OutputContext(config, open_database(database_url), self.bus, self.commands)
        made = (OUTPUT_TYPES[name](context) for name in names)
        self.outputs: list[Output] = [output for output in made if output is not None]
        self._stop = threading.Event()
        self._reporter = threading.Thread(target=self._report, name="output-host-status", daemon=True)

    def status(self) -> dict[str, dict[str, int]]:
        return {output.name: output.status() for output in self.outputs}

    def serve(self) -> None:
        for output in self.outputs:
            output.start()
        self.channel.send(("started",))
        self._reporter.start()
        try:
            self._follow()
        finally:
            self._stop.set()
            self.commands.abandon()
            self._close()

    def _follow(self) -> None:
        """The station's messages, until it says close (or is gone)."""
        while True:
            try:
                message = self.channel.connection.recv()
            except (EOFError, OSError):
                log.warning("the station's end closed: closing the outputs")
                return
            match message:
                case ("record", record):
                    for output in self.outputs:
                        output.record(record)
                case ("event", event):
                    self.bus.deliver(event)
                case ("answer", number, text):
                    self.commands.answered(number, text)
                case ("records_written",):
                    for output in self.outputs:
                        output.records_written()
                case ("close",):
                    return

    def _close(self) -> None:
        close_all(self.outputs)
        self.bus.close()
        with contextlib.suppress(OSError):  # the station may be gone
            self.channel.send(("closed", self.status()))

    def _report(self) -> None:
        last: dict[str, dict[str, int]] = {}
        while not self._stop.wait(STATUS_INTERVAL_S):
            now = self.status()
            if now != last:
                try:
                    self.channel.send(("status", now))
                except OSError:
                    return
                last = now


def main(argv: list[str]) -> int:
    # The station decides when its outputs stop (a Ctrl-C or a service manager's TERM reaches it too): this
    # process ends when the station closes it or when the station's end of the socket closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    channel = Channel(Connection(int(argv[0])))
    try:
        setup = channel.connection.recv()
    except (EOFError, OSError):
        return 1
    _, config, database_url, names, log_level = setup
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s outputs %(name)s: %(message)s")
    Host(channel, config, database_url, names).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
