"""Events: what Stripe would emit for each state change, with a snapshot of the object.

Snapshots are shallow copies, which is enough because the simulation never mutates a nested
value of a served object in place: every change replaces a top-level field (a new
``status_transitions`` dict, a new ``items`` list). So an event's ``data.object`` stays as it
was at emission while the live object moves on, at a fraction of a deep copy's cost.

Events are kept only from ``keep_from`` (``event_days`` before the simulated end, or before
``now`` when the clock stops earlier; always for a live clock advancing past it): Stripe lists
only the last 30 days, so older events could never be observed, and keeping them would cost
memory in proportion to the whole history.
"""

from __future__ import annotations

from typing import Any

from sandbox.objects.ids import IdFactory
from sandbox.objects.shared import NO_REQUEST
from sandbox.objects.webhooks import Webhooks

Obj = dict[str, Any]
API_VERSION = "2026-10-28.endive"


def previous_attributes(before: Obj, after: Obj) -> Obj:
    """The top-level fields that changed, with their old values (Stripe's ``*.updated``)."""
    return {
        key: before.get(key)
        for key, value in after.items()
        if before.get(key) is not value and before.get(key) != value
    }


class EventLog:
    """Builds event objects into ``events`` and hands each to the webhooks."""

    def __init__(
        self, events: dict[str, Obj], ids: IdFactory, webhooks: Webhooks, keep_from: int
    ) -> None:
        self.events, self.ids, self.webhooks, self.keep_from = events, ids, webhooks, keep_from

    def keeping(self, at: int) -> bool:
        """Whether an event at ``at`` is kept (callers skip snapshot work when not)."""
        return at >= self.keep_from

    def emit(
        self,
        event_type: str,
        obj: Obj,
        at: int,
        *,
        previous: Obj | None = None,
        snapshot: Obj | None = None,
    ) -> Obj | None:
        """Record one event about ``obj`` (its current state unless ``snapshot`` is given)."""
        if at < self.keep_from:
            return None
        data: Obj = {"object": dict(obj) if snapshot is None else snapshot}
        if previous is not None:
            data["previous_attributes"] = previous
        event: Obj = {
            "id": self.ids.new("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": at,
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": NO_REQUEST,  # shared (see sandbox.objects.shared)
            "type": event_type,
        }
        self.webhooks.dispatch(event, at)
        self.events[event["id"]] = event
        return event

    def update(self, event_type: str | None, obj: Obj, at: int, changes: Obj) -> None:
        """Apply ``changes`` to ``obj`` and, if kept, emit ``event_type`` with what changed."""
        if event_type is None or at < self.keep_from:
            obj.update(changes)
            return
        before = dict(obj)
        obj.update(changes)
        changed = previous_attributes(before, obj)
        if changed:
            self.emit(event_type, obj, at, previous=changed)
