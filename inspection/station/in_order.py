"""Parts inspected side by side finish one after the other, in the order they were grabbed.

Each part taken from the frame queue gets a ticket; whatever worker inspected it, its verdict goes to the
PLC, its record to the writer and its events to the bus only in its ticket's turn, so the line sees the
same sequence as with one worker (a PLC reads the results of its triggers in order).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class InOrder:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._issued = 0
        self._turn = 0

    def ticket(self) -> int:
        """The next ticket (the caller takes it together with its part, under one lock)."""
        with self._cond:
            ticket, self._issued = self._issued, self._issued + 1
            return ticket

    @contextmanager
    def turn(self, ticket: int) -> Iterator[None]:
        """Waits until every earlier ticket has had its turn; the turn passes on however the body ends."""
        with self._cond:
            while self._turn != ticket:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._turn += 1
                self._cond.notify_all()
