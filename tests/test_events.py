"""The event bus delivers what subscribers publish while it closes (an alert clearing on the last part)."""

from __future__ import annotations

from inspection.core.events import AlertCleared, EventBus, StateChanged


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
