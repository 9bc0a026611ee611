"""What the cell's state area says: one state, in words, from everything the station reports.

Faults outrank the run state: a lost camera or a line peer out of reach is shown as a fault for as long
as it lasts (the station keeps "running" underneath, reconnecting). A one-off line fault (a result the PLC
did not acknowledge) is shown for ``MOMENTARY_FAULT_S``. Pure Python: the window asks ``shown(now)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inspection.config import StationConfig
from inspection.core.status import CameraCounts

MOMENTARY_FAULT_S = 10.0  # a one-off line fault stays on screen this long after its last report
WAITING_AFTER_S = 2.0  # a triggered station with no part for this long is "waiting for trigger"

# kind -> the words in the state area
TITLES = {
    "stopped": "STOPPED",
    "starting": "STARTING",
    "running": "RUNNING",
    "waiting": "WAITING FOR TRIGGER",
    "stopping": "STOPPING",
    "changing": "CHANGING PRODUCT",
    "camera_fault": "CAMERA FAULT",
    "line_fault": "LINE FAULT",
    "error": "STATION FAULT",
}
FAULTS = frozenset({"camera_fault", "line_fault", "error"})
SOURCE_NAMES = {
    "plc": "PLC",
    "mqtt": "MQTT broker",
    "fleet": "central database",
    "opcua": "OPC UA server",
    "outputs": "line outputs' process",
}


@dataclass(frozen=True)
class ShownState:
    kind: str  # a key of TITLES
    detail: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def is_fault(self) -> bool:
        return self.kind in FAULTS


@dataclass
class StateTracker:
    """``triggered_by``: who triggers the parts when it is not the station itself (the PLC, a person at
    the manual trigger); None for a station that triggers itself or a free-running camera."""

    triggered_by: str | None = None
    run_state: str = "stopped"
    run_detail: str = ""
    camera_fault: str | None = None
    error: str | None = None
    links_down: dict[str, str] = field(default_factory=dict)  # source -> message
    momentary: dict[str, tuple[str, float]] = field(default_factory=dict)  # source -> (message, when)
    last_part: float | None = None
    changing_to: str | None = None  # the product being switched to, until the station runs it
    changing_detail: str = ""

    def change_product(self, product: str | None, detail: str) -> None:
        """The app switches the product (None: it is not switching any more)."""
        self.changing_to, self.changing_detail = product, detail
        if product is not None:
            self.error = None

    def station(self, state: str, detail: str, now: float) -> None:
        """A run state from the station (starting, running, stopping, stopped) or the app (changing)."""
        self.run_state, self.run_detail = state, detail
        if state in ("starting", "changing"):
            self.error = None
            self.camera_fault = None
            self.links_down.clear()
            self.momentary.clear()
        if state == "running":
            self.last_part = now
            self.changing_to = None
        if state == "stopped":
            self.camera_fault = None  # nobody is grabbing; the next start opens the camera again

    def failed(self, message: str) -> None:
        """The station could not start or stopped with an error."""
        self.error = message
        self.run_state = "stopped"
        self.changing_to = None

    def camera(self, counts: CameraCounts) -> None:
        self.camera_fault = counts.lost

    def line_fault(self, source: str, message: str, now: float) -> None:
        self.momentary[source] = (message, now)

    def line_link(self, source: str, up: bool, message: str) -> None:
        if up:
            self.links_down.pop(source, None)
            self.momentary.pop(source, None)
        else:
            self.links_down[source] = message

    def part(self, now: float) -> None:
        self.last_part = now

    def shown(self, now: float) -> ShownState:
        if self.error is not None:
            return ShownState("error", self.error)
        if self.changing_to is not None:
            return ShownState("changing", f"to {self.changing_to}: {self.changing_detail}")
        if self.camera_fault is not None and self.run_state in ("running", "stopping"):
            return ShownState("camera_fault", self.camera_fault)
        line = self._line_fault(now)
        if line is not None and self.run_state in ("running", "stopping"):
            return ShownState("line_fault", line)
        if self.run_state == "running" and self._waiting(now):
            return ShownState("waiting", f"for {self.triggered_by}")
        return ShownState(self.run_state if self.run_state in TITLES else "stopped", self.run_detail)

    def _line_fault(self, now: float) -> str | None:
        for source, message in self.links_down.items():
            return f"{SOURCE_NAMES.get(source, source)}: {message}"
        for source, (message, when) in self.momentary.items():
            if now - when <= MOMENTARY_FAULT_S:
                return f"{SOURCE_NAMES.get(source, source)}: {message}"
        return None

    def _waiting(self, now: float) -> bool:
        if self.triggered_by is None or self.last_part is None:
            return False
        return now - self.last_part >= WAITING_AFTER_S


def triggered_by(config: StationConfig) -> str | None:
    """Who triggers the parts when the station does not pace itself: shown as "waiting for ..."."""
    if config.plc is not None:
        return "the PLC's trigger"
    if config.pipeline.trigger == "manual":
        return "Trigger (F8)"
    trigger = getattr(config.camera, "trigger", None)
    if trigger is not None and trigger.mode == "hardware":
        return f"the hardware trigger on {trigger.line}"
    return None
