"""Python's cyclic garbage collector, run on the GUI thread only.

A window or dialog that is closed can be left in reference cycles (its slots are lambdas that hold it).
When Python's collector frees such a cycle it deletes the Qt objects inside, and it runs on whichever
thread happens to allocate at that moment: the station's grab or detect thread. Qt objects must be
deleted on their own thread; deleting them elsewhere crashed the app (a segmentation fault seen in the
tests). So the automatic collector is switched off and a timer on the GUI thread collects instead, as
often as Python's own thresholds would."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        gc.disable()
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(CHECK_MS)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds (as the automatic one would)."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self.timer.stop()
        gc.collect()
        gc.enable()
