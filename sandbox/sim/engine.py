"""The event-driven engine that plays the simulated business forward in time.

Every future happening (a signup, a trial ending, a renewal, a dunning retry, a cancellation,
a refund, a dispute deadline) is an entry on one time-ordered heap; ``run_until`` pops them in
order. Simulating "day by day" is then just running until the end of each day, and the live
clock (``Simulation.advance``) only calls ``run_until`` with a later time. Handlers re-check
state when they fire, so an event made moot (a renewal of a subscription that was cancelled
meanwhile) is simply skipped. The business rules live in ``lifecycle``, ``collect``,
``changes``, ``endings``, ``aftercare``, ``deletions`` and ``checkouts``, as functions of the
engine; they call one another downwards only (``lifecycle`` at the top), and the one rule that
must start what ``lifecycle`` owns, a churner coming back, gets it from the engine
(``resubscribe``).

Every change to a subscription goes through ``update_sub``, which emits the Stripe event with
``previous_attributes`` and tells the truth ledger the new state.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sandbox.objects.catalog import Catalog
from sandbox.objects.clock import DAY_SECONDS, day_end
from sandbox.objects.events import EventLog
from sandbox.objects.ids import IdFactory
from sandbox.objects.payments import Decline
from sandbox.sim.incidents import Incident
from sandbox.sim.model import Deletion, Obj, Simulation
from sandbox.sim.presets import Preset
from sandbox.sim.records import Collection, Sub
from sandbox.truth.ledger import MRR_STATUSES, Happening, SubscriptionState

Handler = Callable[["Engine", int, Any], None]


class Script(Protocol):
    """Outcomes a scenario file decides instead of the preset's random draws.

    ``decline``: whether an attempt to collect ``collection`` at ``at`` is declined (and how);
    ``ends_unpaid``: whether exhausted dunning leaves ``sub`` unpaid (else it is cancelled);
    ``usage``: the metered units ``item`` used last period (None: draw them as presets do).
    """

    def decline(self, collection: Collection, at: int) -> Decline | None: ...

    def ends_unpaid(self, sub: Sub, at: int) -> bool: ...

    def usage(self, sub: Sub, item: Obj) -> int | None: ...


class Engine:
    """Owns the event heap and the shared means of the rules; writes into a ``Simulation``."""

    def __init__(
        self,
        sim: Simulation,
        preset: Preset,
        rng: random.Random,
        ids: IdFactory,
        catalog: Catalog,
        events: EventLog,
        incidents: Sequence[Incident] = (),
        *,
        resubscribe: Handler,
    ) -> None:
        """``resubscribe``: the handler that starts a returning churner's new subscription
        (``lifecycle.resubscribe``); passed in because ``endings``, which queues it, sits below
        ``lifecycle``, which ends subscriptions through it."""
        self.sim, self.preset, self.rng, self.ids, self.catalog = sim, preset, rng, ids, catalog
        self.resubscribe = resubscribe
        self.events, self.incidents = events, tuple(incidents)
        self._heap: list[tuple[int, int, Handler, Any]] = []
        self._sequence = itertools.count()
        self.product_names = {p["id"]: p["name"] for p in catalog.products.values()}
        self.next_signup: Callable[[int], int] = lambda at: at + DAY_SECONDS
        self.script: Script | None = None  # set by scenario files; presets draw at random
        # Deletions draw from a stream of their own, so switching them on leaves every other
        # decision of the business as it was until a deletion cuts a subscription short.
        self.deleting = random.Random(f"deletions:{sim.seed}")
        self.subs_of: dict[str, list[Sub]] = {}  # customer id -> its subscriptions
        # the end of the last simulated day: beyond it only the live clock plays (see ``soon``)
        self.live_after = day_end(sim.until)

    def schedule(self, at: int, handler: Handler, payload: Any = None) -> None:
        """Queue ``handler(engine, at, payload)``; ties fire in the order they were queued."""
        heapq.heappush(self._heap, (at, next(self._sequence), handler, payload))

    def soon(self, at: int, handler: Handler, payload: Any = None) -> None:
        """``handler`` for a moment just ahead (a collection minutes after a renewal).

        Up to the end of the last simulated day it runs at once, dated ``at``: a run stopped at
        a day's end never shows it early, since ``at`` stays in its day (``within_day``). Past
        that day the live clock stops anywhere, so it is queued and nothing is served before
        its time. The rule depends on the last day, not on where a run stopped, so a live
        run, however its clock stepped, gives what one step to the same moment gives.
        """
        if at <= self.live_after:
            handler(self, at, payload)
        else:
            self.schedule(at, handler, payload)

    def add_subscription(self, sub: Sub) -> None:
        """Serve a new subscription and its items; remember it under its customer."""
        self.sim.subscriptions[sub.id] = sub.obj
        self.sim.subscription_items[sub.id] = sub.items
        self.subs_of.setdefault(sub.customer["id"], []).append(sub)

    def run_until(self, end: int) -> int:
        """Fire every queued event at or before ``end``, including those they queue."""
        heap, fired = self._heap, 0
        while heap and heap[0][0] <= end:
            at, _, handler, payload = heapq.heappop(heap)
            handler(self, at, payload)
            fired += 1
        return fired

    def update(self, event_type: str | None, obj: Obj, at: int, changes: Obj) -> None:
        """Change a served object, emitting ``event_type`` with its previous attributes."""
        self.events.update(event_type, obj, at, changes)

    def gone(self, event_type: str, obj: Obj, at: int) -> None:
        """A deleted object: keep its last state in ``Simulation.deleted``, emit its event."""
        self.sim.deleted[obj["id"]] = Deletion(obj, at)
        self.events.emit(event_type, obj, at)

    def update_sub(
        self,
        sub: Sub,
        at: int,
        changes: Obj,
        event_type: str | None = "customer.subscription.updated",
    ) -> None:
        """Change a subscription: event, engine view and truth, in one place."""
        self.events.update(event_type, sub.obj, at, changes)
        if "status" in changes:
            sub.status = changes["status"]
        self.record(sub, at)

    def record(self, sub: Sub, at: int) -> None:
        """Tell the ledger the subscription's state; note a returning customer's first MRR."""
        state = SubscriptionState(
            sub.status, sub.person.currency, sub.truth_items, sub.truth_discount, sub.cancel_at
        )
        self.sim.ledger.record(sub.id, sub.customer["id"], at, state)
        if sub.status in MRR_STATUSES and not sub.counted:
            sub.counted = True
            if sub.reactivation:
                happening = Happening(sub.id, sub.customer["id"], at, "reactivation")
                self.sim.ledger.reactivations.append(happening)
