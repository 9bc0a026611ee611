"""The stack light's colours from what the station reports, for a light driven over MQTT (retained topic
``<prefix>/stack_light``): red while an alarm is raised and not cleared, the camera is lost or a line
peer is out of reach; amber while the station starts or stops; green while it runs with none of
those; all off when stopped. The buzzer follows red. Pure: ``on_event`` returns the new colours when
they change."""

from __future__ import annotations

from dataclasses import dataclass, field

from inspection.core.events import (
    AlertCleared,
    AlertRaised,
    CameraBack,
    CameraFault,
    Event,
    LineLink,
    StateChanged,
    StatsUpdate,
)


@dataclass(frozen=True)
class Lamps:
    red: bool = False
    amber: bool = False
    green: bool = False
    buzzer: bool = False

    def as_dict(self) -> dict[str, bool]:
        return {"red": self.red, "amber": self.amber, "green": self.green, "buzzer": self.buzzer}


@dataclass
class StackLight:
    state: str = "stopped"
    alarms: set[int] = field(default_factory=set)
    camera_lost: bool = False
    links_down: set[str] = field(default_factory=set)
    shown: Lamps = Lamps()

    def on_event(self, event: Event) -> Lamps | None:
        """The lamps when this event changed them, else None."""
        if isinstance(event, StateChanged):
            self.state = event.state
        elif isinstance(event, AlertRaised):
            self.alarms.add(event.id)
        elif isinstance(event, AlertCleared):
            self.alarms.discard(event.id)
        elif isinstance(event, CameraFault | CameraBack | StatsUpdate):
            counts = event.status.camera if isinstance(event, StatsUpdate) else event.counters
            self.camera_lost = counts.lost is not None
        elif isinstance(event, LineLink):
            if event.up:
                self.links_down.discard(event.source)
            else:
                self.links_down.add(event.source)
        else:
            return None
        lamps = self.lamps()
        if lamps == self.shown:
            return None
        self.shown = lamps
        return lamps

    def lamps(self) -> Lamps:
        fault = bool(self.alarms) or self.camera_lost or bool(self.links_down)
        if self.state == "stopped":
            return Lamps(red=bool(self.alarms), buzzer=bool(self.alarms))
        moving = self.state in ("starting", "stopping")
        return Lamps(red=fault, amber=moving, green=self.state == "running" and not fault, buzzer=fault)
