"""Payments as a scenario scripts them: failure windows, recovery, refunds and disputes.

``ScenarioScript`` is the engine's ``Script``: a charge is declined only while its customer's
card is inside a ``fail_payments`` window, so dunning (``past_due``, retries after the file's
``retry_days``) runs exactly as in the presets, and ends the way the window (or ``[dunning]``)
says. ``recover`` closes the window and pays the invoice in dunning at once, as Stripe retries
when a customer updates their card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox.objects.disputes import dispute_object, evidence_details, submitted_changes
from sandbox.objects.payments import Decline
from sandbox.objects.refunds import refund_object, refunded_changes
from sandbox.sim import collect
from sandbox.sim.records import Collection, Sub

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine
    from sandbox.sim.model import Obj


@dataclass
class FailWindow:
    """A customer's card declines every attempt in [start, end)."""

    start: int
    end: int
    decline: Decline
    dunning_end: str


@dataclass
class ScenarioScript:
    """Declines, dunning outcomes and metered usage decided by the scenario file."""

    exhausted: str
    windows: dict[str, list[FailWindow]] = field(default_factory=dict)  # customer id ->
    in_dunning: dict[str, Collection] = field(default_factory=dict)  # subscription id ->
    usage_by_item: dict[str, int] = field(default_factory=dict)  # subscription item id ->

    def decline(self, collection: Collection, at: int) -> Decline | None:
        window = self._window(collection.sub.customer["id"], at)
        if window is None:
            return None
        self.in_dunning[collection.sub.id] = collection
        return collection.decline or window.decline

    def ends_unpaid(self, sub: Sub, at: int) -> bool:
        window = self._window(sub.customer["id"], at)
        return (window.dunning_end if window else self.exhausted) == "unpaid"

    def usage(self, sub: Sub, item: Obj) -> int | None:
        return self.usage_by_item.get(item["id"])

    def fail(self, customer: str, window: FailWindow) -> None:
        self.windows.setdefault(customer, []).append(window)

    def failing(self, customer: str, at: int) -> bool:
        return self._window(customer, at) is not None

    def recover(self, engine: Engine, customer: str, at: int) -> None:
        """Close the customer's open windows at ``at`` and pay what dunning still holds."""
        for window in self.windows.get(customer, []):
            if window.start <= at < window.end:
                window.end = at
        for sub_id, collection in list(self.in_dunning.items()):
            sub = collection.sub
            if sub.customer["id"] != customer:
                continue
            del self.in_dunning[sub_id]
            if collection.invoice["status"] == "open" and sub.status == "past_due":
                collect.attempt(engine, collection, at, checkout=False)

    def _window(self, customer: str, at: int) -> FailWindow | None:
        for window in self.windows.get(customer, []):
            if window.start <= at < window.end:
                return window
        return None


def refund(engine: Engine, charge: Obj, amount: int, reason: str | None, at: int) -> None:
    """Refund ``amount`` of ``charge``: the refund, the charge's totals, both events."""
    made = refund_object(engine.ids, charge, amount, at, reason)
    engine.sim.refunds[made["id"]] = made
    earlier = charge["refunds"]["data"]
    engine.update("charge.refunded", charge, at, refunded_changes(charge, made, [made, *earlier]))
    engine.events.emit("refund.created", made, at)


def open_dispute(
    engine: Engine, charge: Obj, reason: str, at: int, due_by: int, evidence_at: int | None
) -> Obj:
    """The cardholder disputes the whole charge; evidence follows at ``evidence_at`` if any."""
    dispute = dispute_object(engine.ids, charge, reason, at, due_by)
    engine.sim.disputes[dispute["id"]] = dispute
    engine.update(None, charge, at, {"disputed": True})
    engine.events.emit("charge.dispute.created", dispute, at)
    if evidence_at is not None:
        engine.schedule(evidence_at, _submit_evidence, dispute)
    return dispute


def _submit_evidence(engine: Engine, at: int, dispute: Obj) -> None:
    customer = engine.sim.customers[engine.sim.charges[dispute["charge"]]["customer"]]
    changes = submitted_changes(dispute, at, customer["email"])
    engine.update("charge.dispute.updated", dispute, at, changes)


def close_dispute(engine: Engine, at: int, payload: tuple[Obj, str]) -> None:
    """The network decides: ``won`` or ``lost`` (without evidence, lost at the deadline)."""
    dispute, outcome = payload
    changes: Obj = {"status": outcome}
    evidence = dispute["evidence_details"]
    if not evidence["has_evidence"]:
        changes["evidence_details"] = evidence_details(evidence["due_by"], submitted=False,
                                                       past_due=True)  # fmt: skip
    dispute.update(changes)
    engine.events.emit("charge.dispute.closed", dispute, at)
