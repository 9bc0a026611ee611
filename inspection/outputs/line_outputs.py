"""The station's line outputs around a run, as one: each configured output from the registry, started,
fed and closed together (the PLC handshake, which also triggers the camera, lives in the grab loop). The
separable ones (MQTT, fleet, OPC UA) run in a process of their own unless ``pipeline.outputs_process`` is
off (``output_process.py``); the others on threads of the station's process."""

from __future__ import annotations

from inspection.core.types import InspectionRecord
from inspection.outputs.base import Output, OutputContext, close_all
from inspection.outputs.output_process import OutputProcess
from inspection.outputs.registry import BUILT_IN_OUTPUTS, build_outputs


class LineOutputs:
    def __init__(self, context: OutputContext) -> None:
        made = build_outputs(context)  # settings checked now, connections at start
        apart = [output.name for output in made if context.config.pipeline.outputs_process and separable(output)]
        # The separable ones were made here only to check their settings: the outputs' process makes its own.
        self.outputs: list[Output] = [output for output in made if output.name not in apart]
        self.process = OutputProcess(context, apart) if apart else None

    def start(self) -> None:
        if self.process is not None:
            self.process.start()
        for output in self.outputs:
            output.start()

    def record(self, record: InspectionRecord) -> None:
        """Every verdict, straight from the detect thread (the event bus may drop under load)."""
        if self.process is not None:
            self.process.record(record)
        for output in self.outputs:
            output.record(record)

    def records_written(self) -> None:
        if self.process is not None:
            self.process.records_written()
        for output in self.outputs:
            output.records_written()

    def close(self) -> None:
        close_all(self.outputs)
        if self.process is not None:
            self.process.close()

    def status(self) -> dict[str, dict[str, int]]:
        """Each configured output's counters, by output name."""
        snapshot = {output.name: output.status() for output in self.outputs}
        if self.process is not None:
            snapshot.update(self.process.status())
        return {name: counters for name, counters in snapshot.items() if counters}  # not started: not shown


def separable(output: Output) -> bool:
    """Whether ``output`` may run in the outputs' process: it says so, and that process knows its type."""
    return output.separable and output.name in BUILT_IN_OUTPUTS
