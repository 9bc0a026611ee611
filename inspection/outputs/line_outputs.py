"""The station's line outputs around a run, as one: each configured output from the registry, started,
fed and closed together (the PLC handshake, which also triggers the camera, lives in the grab loop)."""

from __future__ import annotations

import logging

from inspection.core.types import InspectionRecord
from inspection.outputs.base import Output, OutputContext
from inspection.outputs.registry import build_outputs

log = logging.getLogger(__name__)


class LineOutputs:
    def __init__(self, context: OutputContext) -> None:
        self.outputs: list[Output] = build_outputs(context)  # settings checked now, connections at start

    def start(self) -> None:
        for output in self.outputs:
            output.start()

    def record(self, record: InspectionRecord) -> None:
        """Every verdict, straight from the detect thread (the event bus may drop under load)."""
        for output in self.outputs:
            output.record(record)

    def records_written(self) -> None:
        for output in self.outputs:
            output.records_written()

    def close(self) -> None:
        for output in self.outputs:
            try:
                output.close()
            except Exception:  # one output failing to close must not keep the others open
                log.exception("closing the %s output", output.name)

    def status(self) -> dict[str, dict[str, int]]:
        """Each configured output's counters, by output name."""
        snapshot = {output.name: output.status() for output in self.outputs}
        return {name: counters for name, counters in snapshot.items() if counters}  # not started: not shown
