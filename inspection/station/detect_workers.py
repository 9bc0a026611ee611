"""The detect workers: ``parallel`` threads take parts from the frame queue and inspect them side by side
(one part's registration beside another's classifier on two cores); each part is finished in its turn, in
the order it was grabbed (``in_order.py``), so the line, the records and the events see one sequence."""

from __future__ import annotations

import threading
from collections.abc import Callable

from inspection.core.types import Frame, InspectionRecord
from inspection.station.frame_queue import FrameQueue


class DetectWorkers:
    """``judge`` inspects a part (on any worker); ``finish`` gives out its verdict and record (in its turn);
    ``failed`` stops the station when either raises (in that part's turn: the parts before it finish)."""

    def __init__(
        self,
        frames: FrameQueue,
        judge: Callable[[Frame], InspectionRecord],
        finish: Callable[[InspectionRecord, Frame], None],
        failed: Callable[[Exception], None],
        parallel: int,
    ) -> None:
        self.frames = frames
        self.judge = judge
        self.finish = finish
        self.failed = failed
        self.parallel = parallel

    def run(self) -> None:
        """This thread and ``parallel - 1`` helpers, until the frames end."""
        helpers = [
            threading.Thread(target=self._work, name=f"detect-{number}", daemon=True)
            for number in range(1, self.parallel)
        ]
        for helper in helpers:
            helper.start()
        self._work()
        for helper in helpers:
            helper.join()

    def _work(self) -> None:
        while (taken := self.frames.take()) is not None:
            ticket, frame = taken
            try:
                record: InspectionRecord | None = self.judge(frame)
            except Exception as exc:
                record, failure = None, exc
            with self.frames.order.turn(ticket):
                try:
                    if record is not None:
                        self.finish(record, frame)
                        continue
                except Exception as exc:
                    failure = exc
                self.failed(failure)
                return
