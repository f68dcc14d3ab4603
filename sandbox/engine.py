"""The event-driven engine that plays the simulated business forward in time.

Every future happening (a signup, a trial ending, a renewal, a dunning retry, a cancellation) is
an entry on one time-ordered heap; ``run_until`` pops them in order. Simulating "day by day" is
then just running until the end of each day, and a live clock later only needs to call
``run_until`` with a later time. Handlers re-check state when they fire, so an event made moot
(a renewal of a subscription that was cancelled meanwhile) is simply skipped.

Every status change goes through ``_set_status``, which also tells the truth ledger.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from typing import Any

from sandbox.billing import line_object
from sandbox.catalog import Catalog
from sandbox.clock import DAY_SECONDS, period_boundary
from sandbox.ids import IdFactory
from sandbox.invoices import invoice_object, mark_attempt, mark_paid
from sandbox.model import Obj, Simulation
from sandbox.payments import Decline, charge_object, draw_decline
from sandbox.people import customer_object, draw_person
from sandbox.presets import Preset
from sandbox.subscriptions import Collection, Sub, new_subscription
from sandbox.truth import ChurnEvent, SubscriptionState

Handler = Callable[[int, Any], None]
FEEDBACK = ("too_expensive", "missing_features", "switched_service", "unused", "other", None)


def within_day(at: int, delta: int) -> int:
    """``at + delta`` but never past the end of ``at``'s UTC day (objects stay in their day)."""
    return min(at + delta, at - at % DAY_SECONDS + DAY_SECONDS - 1)


class Engine:
    """Owns the event heap and the rules of the business; writes into a ``Simulation``."""

    def __init__(
        self, sim: Simulation, preset: Preset, rng: random.Random, ids: IdFactory, catalog: Catalog
    ) -> None:
        self.sim, self.preset, self.rng, self.ids, self.catalog = sim, preset, rng, ids, catalog
        self._heap: list[tuple[int, int, Handler, Any]] = []
        self._sequence = itertools.count()
        self._product_names = {p["id"]: p["name"] for p in catalog.products.values()}

    def schedule(self, at: int, handler: Handler, payload: Any = None) -> None:
        """Queue ``handler(at, payload)``; ties fire in the order they were scheduled."""
        heapq.heappush(self._heap, (at, next(self._sequence), handler, payload))

    def run_until(self, end: int) -> None:
        """Fire every queued event at or before ``end``, including those they schedule."""
        heap = self._heap
        while heap and heap[0][0] <= end:
            at, _, handler, payload = heapq.heappop(heap)
            handler(at, payload)

    # --- signups -------------------------------------------------------------------------

    def signup(self, at: int, _payload: Any = None) -> None:
        """A new customer subscribes, with a trial or paying straight away."""
        person = draw_person(
            self.rng,
            self.ids,
            len(self.sim.customers) + 1,
            self.sim.currencies,
            self.sim.until.year,
        )
        customer = customer_object(self.ids, person, at)
        self.sim.customers[customer["id"]] = customer
        sub = new_subscription(
            self.rng, self.ids, self.preset, self.catalog, person, customer, within_day(at, 2)
        )
        self.sim.subscriptions[sub.obj["id"]] = sub.obj
        self.sim.subscription_items[sub.obj["id"]] = sub.items
        if self.rng.random() < self.preset.trial_share:
            self._start_trial(sub, sub.obj["created"])
        else:
            sub.anchor = sub.obj["created"]
            self._begin_period(sub, sub.anchor, 0, "subscription_create", (sub.anchor, sub.anchor))

    def _start_trial(self, sub: Sub, at: int) -> None:
        trial_end = at + self.preset.trial_days * DAY_SECONDS
        sub.obj.update(trial_start=at, trial_end=trial_end)
        self._set_item_periods(sub, at, trial_end)
        invoice = self._invoice(
            sub, "subscription_create", at, (at, at), (at, trial_end), trial=True
        )
        mark_paid(invoice, at)
        self._set_status(sub, "trialing", at)
        if self.rng.random() < self.preset.trial_conversion:
            self.schedule(trial_end, self._trial_end, sub)
        else:
            self.schedule(self.rng.randint(at + 3_600, trial_end - 1), self._cancel_requested, sub)

    def _trial_end(self, at: int, sub: Sub) -> None:
        if sub.status != "trialing":
            return
        sub.anchor = at
        sub.obj["billing_cycle_anchor"] = at
        self._begin_period(sub, at, 0, "subscription_cycle", (sub.obj["trial_start"], at))

    # --- billing periods -----------------------------------------------------------------

    def _renew(self, at: int, sub: Sub) -> None:
        if sub.status == "canceled":
            return
        index = sub.period_index + 1
        previous_start = period_boundary(sub.anchor, sub.interval, 1, index - 1)
        self._begin_period(sub, at, index, "subscription_cycle", (previous_start, at))

    def _begin_period(
        self, sub: Sub, at: int, index: int, reason: str, invoice_period: tuple[int, int]
    ) -> None:
        """Start period ``index``: bill it, collect, and queue its renewal and any churn."""
        start = period_boundary(sub.anchor, sub.interval, 1, index)
        end = period_boundary(sub.anchor, sub.interval, 1, index + 1)
        sub.period_index = index
        self._set_item_periods(sub, start, end)
        invoice = self._invoice(sub, reason, at, invoice_period, (start, end), trial=False)
        collection = Collection(invoice, sub, self.ids.new("pi"))
        self.schedule(end, self._renew, sub)
        self._maybe_churn(sub, start, end)
        self._attempt(
            collection,
            within_day(at, self.rng.randint(1, 3_600)),
            checkout=reason == "subscription_create",
        )

    def _set_item_periods(self, sub: Sub, start: int, end: int) -> None:
        for item in sub.items:
            item["current_period_start"] = start
            item["current_period_end"] = end

    def _invoice(
        self,
        sub: Sub,
        reason: str,
        at: int,
        period: tuple[int, int],
        service_period: tuple[int, int],
        *,
        trial: bool,
    ) -> Obj:
        invoice_id = self.ids.new("in")
        lines = [
            line_object(
                self.ids,
                invoice_id,
                item,
                service_period,
                trial=trial,
                product_name=self._product_names[item["price"]["product"]],
            )
            for item in sub.items
        ]
        invoice = invoice_object(
            invoice_id,
            sub.customer,
            sub.obj,
            billing_reason=reason,
            created=at,
            period=period,
            lines=lines,
        )
        self.sim.invoices[invoice_id] = invoice
        self.sim.invoice_lines[invoice_id] = lines
        sub.obj["latest_invoice"] = invoice_id
        return invoice

    def _maybe_churn(self, sub: Sub, start: int, end: int) -> None:
        months = 12 if sub.interval == "year" else 1
        if self.rng.random() < 1 - (1 - self.preset.monthly_churn) ** months:
            self.schedule(self.rng.randint(start + 1, end - 1), self._cancel_requested, sub)

    # --- collecting payment --------------------------------------------------------------

    def _attempt(self, collection: Collection, at: int, *, checkout: bool) -> None:
        """Charge the card once; on a decline enter (or continue) the dunning schedule.

        At checkout (``subscription_create``) the customer is present: a decline is followed
        by a successful second attempt on the same payment intent a few minutes later.
        """
        decline = self._draw_decline(collection)
        self._charge(collection, at, decline)
        invoice, sub = collection.invoice, collection.sub
        if decline is None:
            mark_attempt(invoice, None)
            mark_paid(invoice, at)
            sub.customer["delinquent"] = False
            self._set_status(sub, "active", at)
            return
        collection.decline = decline
        if checkout:
            mark_attempt(invoice, None)
            retry_at = within_day(at, self.rng.randint(60, 900))
            self._charge(collection, retry_at, None)
            mark_attempt(invoice, None)
            mark_paid(invoice, retry_at)
            self._set_status(sub, "active", retry_at)
            return
        self._after_decline(collection, at)

    def _after_decline(self, collection: Collection, at: int) -> None:
        invoice, sub = collection.invoice, collection.sub
        gaps = self.preset.dunning_gaps_days
        attempt = invoice["attempt_count"]  # attempts before this one
        sub.customer["delinquent"] = True
        if attempt < len(gaps):
            retry_at = at + gaps[attempt] * DAY_SECONDS
            mark_attempt(invoice, retry_at)
            self.schedule(retry_at, self._retry, collection)
            self._set_status(sub, "past_due", at)
        else:
            mark_attempt(invoice, None)
            self._cancel(sub, at, "payment_failed")

    def _draw_decline(self, collection: Collection) -> Decline | None:
        """First attempts fail at the country's rate; retries keep the earlier decline kind."""
        if collection.decline is None:
            rate = self.preset.first_attempt_failure * collection.sub.person.decline_multiplier
            return draw_decline(self.rng) if self.rng.random() < rate else None
        return None if self.rng.random() < self.preset.retry_success else collection.decline

    def _charge(self, collection: Collection, at: int, decline: Decline | None) -> None:
        invoice = collection.invoice
        description = (
            "Subscription creation"
            if invoice["billing_reason"] == "subscription_create"
            else "Subscription update"
        )
        charge = charge_object(
            self.ids,
            self.rng,
            card=collection.sub.person.card,
            customer=invoice["customer"],
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            payment_intent=collection.payment_intent,
            description=description,
            created=at,
            decline=decline,
        )
        self.sim.charges[charge["id"]] = charge

    def _retry(self, at: int, collection: Collection) -> None:
        if collection.invoice["status"] == "paid" or collection.sub.status == "canceled":
            return
        self._attempt(collection, at, checkout=False)

    # --- endings -------------------------------------------------------------------------

    def _cancel_requested(self, at: int, sub: Sub) -> None:
        self._cancel(sub, at, "cancellation_requested")

    def _cancel(self, sub: Sub, at: int, reason: str) -> None:
        if sub.status == "canceled":
            return
        feedback = self.rng.choice(FEEDBACK) if reason == "cancellation_requested" else None
        sub.obj.update(canceled_at=at, ended_at=at)
        sub.obj["cancellation_details"] = {"comment": None, "feedback": feedback, "reason": reason}
        self.sim.ledger.churn(ChurnEvent(sub.obj["id"], sub.customer["id"], at, reason, sub.status))
        self._set_status(sub, "canceled", at)

    def _set_status(self, sub: Sub, status: str, at: int) -> None:
        """The one place a subscription's status changes; the truth ledger hears of it."""
        sub.status = status
        sub.obj["status"] = status
        state = SubscriptionState(status, sub.person.currency, sub.truth_items)
        self.sim.ledger.record(sub.obj["id"], sub.customer["id"], at, state)
