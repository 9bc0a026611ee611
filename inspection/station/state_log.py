"""The station's state periods, written from its own events (on the event bus's thread): running, fault
(camera lost, PLC registers out of reach, the station stopped on an error) and changeover, one at a time,
faults first; and beside them, a line output out of reach (MQTT broker, central database) while the
station inspects on. OEE, MTTR and MTBF are computed from them (``quality/oee.py``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from inspection.core.events import CameraBack, CameraFault, Event, LineLink, ProductChange, StateChanged, StatsUpdate
from inspection.recorder.state_periods import STATION_FAULT, StatePeriod, begin, close_left_open, extend

log = logging.getLogger(__name__)
EXTEND_S = 10.0  # the open periods' end is moved on this often: a kill loses at most this much
LINE_STOPPERS = frozenset({"plc"})  # a link whose loss stops the line (the others: the station inspects on)


def _now() -> datetime:
    return datetime.now(UTC)


class StateLog:
    def __init__(
        self, engine: Engine, station: str, product: Callable[[], str], clock: Callable[[], datetime] = _now
    ) -> None:
        self.engine = engine
        self.station = station
        self.product = product  # the running product's key (name@hash)
        self.clock = clock
        self._started = False
        self._changing = False
        self._faults: dict[str, str] = {}  # cause -> what happened, for the main timeline
        self._outputs_down: dict[str, int | None] = {}  # output -> its open period's id
        self._current: tuple[str, str] | None = None  # (state, cause) of the open main period
        self._current_id: int | None = None
        self._extended = 0.0
        self._write(lambda: close_left_open(self.engine, self.station, self.clock()))

    def on_event(self, event: Event) -> None:
        match event:
            case StateChanged(state="running"):
                self._started = True
                self._faults.pop(STATION_FAULT, None)
            case StateChanged(state="fault", detail=detail):
                self._faults[STATION_FAULT] = detail or "the station stopped on an error"
            case StateChanged(state="stopped"):
                self._started = STATION_FAULT in self._faults  # a stop on an error is down until the next start
                self._close_outputs()
            case LineLink(source=source, up=up, message=message):
                self._link(source, up, message)
            case ProductChange(phase=phase):
                self._changing = phase == "started"
            case _:
                pass
        if isinstance(event, CameraFault | CameraBack | StatsUpdate):
            self._camera(event)
        self._update()

    # ------------------------------------------------------------ what the events say
    def _camera(self, event: CameraFault | CameraBack | StatsUpdate) -> None:
        counts = event.status.camera if isinstance(event, StatsUpdate) else event.counters
        if counts.lost is not None:
            self._faults["camera"] = counts.lost
        elif counts.state == "open":
            self._faults.pop("camera", None)
        if isinstance(event, StatsUpdate):
            self._extend_open()

    def _link(self, source: str, up: bool, message: str) -> None:
        if source in LINE_STOPPERS:
            if up:
                self._faults.pop(source, None)
            else:
                self._faults[source] = message
            return
        if up and source in self._outputs_down:
            period_id = self._outputs_down.pop(source)
            if period_id is not None:
                self._extend(period_id, self.clock(), closed=True)
        elif not up and source not in self._outputs_down:
            self._outputs_down[source] = self._begin("output_fault", source, message)

    def _close_outputs(self) -> None:
        for source in list(self._outputs_down):
            self._link(source, True, "")

    # ------------------------------------------------------------ the main timeline
    def _wanted(self) -> tuple[str, str, str] | None:
        if not self._started:
            return None
        if self._faults:
            cause, detail = next(iter(self._faults.items()))
            return "fault", cause, detail
        if self._changing:
            return "changeover", "", ""
        return "running", "", ""

    def _update(self) -> None:
        wanted = self._wanted()
        if (wanted is None and self._current is None) or (wanted is not None and wanted[:2] == self._current):
            return
        if wanted is not None and self._current is not None and wanted[0] == self._current[0] == "fault":
            return  # one fault goes on while its cause changes (the camera, then the PLC): one failure
        if self._current_id is not None:
            self._extend(self._current_id, self.clock(), closed=True)
        self._current, self._current_id = None, None
        if wanted is not None:
            self._current = wanted[:2]
            self._current_id = self._begin(*wanted)

    def _begin(self, state: str, cause: str, detail: str) -> int | None:
        now = self.clock()
        period = StatePeriod(self.station, state, cause, self.product(), now, now, detail)
        return self._write(lambda: begin(self.engine, period))

    def _extend_open(self) -> None:
        now = self.clock()
        if now.timestamp() - self._extended < EXTEND_S:
            return
        self._extended = now.timestamp()
        for period_id in [self._current_id, *self._outputs_down.values()]:
            if period_id is not None:
                self._extend(period_id, now)

    def _extend(self, period_id: int, at: datetime, closed: bool = False) -> None:
        self._write(lambda: extend(self.engine, period_id, at, closed))

    def _write(self, action: Callable[[], int | None] | Callable[[], None]) -> int | None:
        try:
            return action()
        except SQLAlchemyError as exc:  # a locked or full database: the periods are figures, the records come first
            log.warning("state period not written: %s", exc)
            return None
