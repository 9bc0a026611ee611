"""The event bus delivers what subscribers publish while it closes (an alert clearing on the last part)."""

from __future__ import annotations

import threading

from inspection.core.events import AlertCleared, AlertRaised, EventBus, ProductChange, StateChanged, StatsUpdate
from inspection.core.status import CameraCounts, PartCounts, StationStatus


def test_events_published_by_a_subscriber_during_close_are_still_delivered() -> None:
    bus = EventBus()
    seen: list[object] = []

    def subscriber(event: object) -> None:
        seen.append(event)
        if isinstance(event, StateChanged):
            bus.publish(AlertCleared(7, "rule"))  # a reaction to the last event before close

    bus.subscribe(subscriber)
    bus.publish(StateChanged("stopped"))
    bus.close()
    assert seen == [StateChanged("stopped"), AlertCleared(7, "rule")]


def test_a_stalled_subscriber_loses_per_part_events_never_transitions() -> None:
    """While a subscriber hangs (a frozen screen), statuses pile up; the oldest of those are dropped and
    counted, but the fault, the product change and the stop reach every subscriber, in order."""
    bus = EventBus(queue_size=16)
    seen: list[object] = []
    release = threading.Event()

    def subscriber(event: object) -> None:
        release.wait(10)
        seen.append(event)

    bus.subscribe(subscriber)
    status = [StatsUpdate(StationStatus(PartCounts(parts=n), CameraCounts())) for n in range(100)]
    transitions = [
        StateChanged("fault", "camera lost"),
        ProductChange("board-b", "2", "ready"),
        AlertRaised(3, "yield", "yield below 90%"),
        StateChanged("stopped"),
    ]
    published: list[object] = []
    for n, update in enumerate(status):
        published.append(update)
        if n % 25 == 10:
            published.append(transitions[n // 25])
    for event in published:
        bus.publish(event)
    release.set()
    bus.close(timeout=10)
    assert [event for event in seen if event in transitions] == transitions
    kept = [event for event in published if event in seen]
    assert kept == seen  # what arrives, arrives in the order it was published
    assert bus.dropped == len(published) - len(seen) > 0
    assert status[-1] in seen  # the newest status is never the one dropped
