"""Part identity and the manual trigger at the cell: the serial field (a keyboard-wedge barcode scanner
types the code and Enter) and Trigger / F8 on a station with ``pipeline.trigger: manual``."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from gui.controller import StationController
from gui.operator_panel import SidePanel
from gui.session import Session
from inspection.core.errors import StationError


class PartEntry(QObject):
    def __init__(self, controller: StationController, session: Session, panel: SidePanel) -> None:
        super().__init__(panel)
        self.controller = controller
        self.session = session
        self.panel = panel
        panel.serial.returnPressed.connect(self.serial_entered)

    def trigger(self) -> None:
        """One part now (F8), with the serial in the serial field if one was typed or scanned."""
        if not self.session.may("run"):
            self.panel.say("Log in to trigger a part.", "error")
            return
        serial = self.panel.serial.text().strip() or None
        self._send(
            lambda: self.controller.trigger_part(serial), f"Part triggered{f' (serial {serial})' if serial else ''}."
        )

    def serial_entered(self) -> None:
        """Enter in the serial field (a barcode scanner sends it after the code): it goes on the next part;
        on a manually triggered station, Enter also triggers it."""
        serial = self.panel.serial.text().strip()
        if not serial or not self.session.may("run"):
            return
        if self.controller.config.pipeline.trigger == "manual":
            self.trigger()
            return
        self._send(lambda: self.controller.next_part_serial(serial), f"Serial {serial} goes on the next part.")

    def _send(self, request: Callable[[], None], done: str) -> None:
        """Ask the station; the serial field is cleared only when it took the request."""
        try:
            request()
        except StationError as exc:
            self.panel.say(str(exc), "error")
            return
        self.panel.serial.clear()
        self.panel.say(done)
