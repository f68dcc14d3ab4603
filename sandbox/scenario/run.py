"""Playing a scenario's timeline on the engine, one operation at its moment.

Each operation is queued on the engine's heap at its time, so it interleaves with what the
engine schedules itself (renewals, dunning retries, trial ends) exactly as a preset's random
happenings do; an operation at the same second as a renewal comes first (it was queued
earlier). An operation that makes no sense in the state the business has reached by then
(cancelling a subscription dunning already ended) stops the run with a ``ScenarioError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sandbox.objects.clock import DAY_SECONDS, date_of
from sandbox.objects.payments import DECLINE_BY_CODE
from sandbox.scenario import operations
from sandbox.scenario.catalog import person, truth_item
from sandbox.scenario.model import Operation, Scenario, ScenarioError
from sandbox.scenario.payments import (
    FailWindow,
    ScenarioScript,
    close_dispute,
    open_dispute,
    refund,
)
from sandbox.sim import endings, lifecycle
from sandbox.sim.records import Sub
from sandbox.truth.ledger import MRR_STATUSES

if TYPE_CHECKING:
    from sandbox.objects.people import Person
    from sandbox.sim.engine import Engine
    from sandbox.sim.model import Obj


class Runner:
    """Knows what each symbolic name became; performs operations as the engine fires them."""

    def __init__(self, scenario: Scenario, engine: Engine, script: ScenarioScript) -> None:
        self.scenario, self.engine, self.script = scenario, engine, script
        self.customers: dict[str, tuple[Person, Obj]] = {}
        self.subs: dict[str, Sub] = {}
        self.prices = {p["lookup_key"]: p for p in engine.catalog.prices.values()}

    def queue(self) -> None:
        for operation in self.scenario.timeline:
            self.engine.schedule(operation.at, self.perform, operation)

    def perform(self, engine: Engine, at: int, operation: Operation) -> None:
        """Run one operation (a handler on the engine's heap)."""
        getattr(self, f"_{operation.op}")(operation, at)

    def _fail(self, operation: Operation, problem: str) -> ScenarioError:
        return ScenarioError(self.scenario.path, operation.where, problem)

    def _members(self, operation: Operation, key: str) -> tuple[str, ...]:
        return self.scenario.members(operation.fields[key])

    def _create_customer(self, op: Operation, at: int) -> None:
        fields = op.fields
        currency = fields.get("currency", self.scenario.currencies[0])
        for name in self._members(op, "customer"):
            who = person(self.engine.ids, dict(fields), name, currency, date_of(at).year)
            card = fields.get("card") is not False
            customer = operations.add_customer(
                self.engine, who, at, name, card=card, text=_text(fields)
            )
            self.customers[name] = (who, customer)

    def _subscribe(self, op: Operation, at: int) -> None:
        fields = op.fields
        coupon = self.scenario.coupons.get(fields.get("coupon", ""))
        trial = fields.get("trial_days")
        pairs = zip(self._members(op, "subscription"), self._members(op, "customer"), strict=True)
        for name, customer_name in pairs:
            who, customer = self.customers[customer_name]
            lines = [
                (self.prices[i["price"]], truth_item(self.scenario.prices[i["price"]],
                                                     i.get("quantity", 1)))
                for i in fields["items"]
            ]  # fmt: skip
            sub = operations.start_subscription(
                self.engine, who, customer, at, lines, name=name, coupon=coupon,
                trial_end=None if trial is None else at + trial * DAY_SECONDS,
                reactivation=self._returning(customer["id"]), text=_text(fields),
            )  # fmt: skip
            for item, entry in zip(sub.items, fields["items"], strict=True):
                if "usage" in entry:
                    self.script.usage_by_item[item["id"]] = entry["usage"]
            self.subs[name] = sub

    def _returning(self, customer: str) -> bool:
        """A customer who paid before, pays nothing now, and subscribes again: reactivation."""
        mine = [s for s in self.subs.values() if s.customer["id"] == customer]
        paying = any(s.status in MRR_STATUSES for s in mine)
        return not paying and any(s.counted for s in mine)

    def _live(self, op: Operation, name: str, *allowed: str) -> Sub:
        sub = self.subs[name]
        if sub.status not in allowed:
            needs = "/".join(allowed)
            raise self._fail(op, f"subscription {name!r} is {sub.status} (needs {needs})")
        return sub

    def _change(self, op: Operation, at: int) -> None:
        fields = op.fields
        for name in self._members(op, "subscription"):
            sub = self._live(op, name, "active", "past_due", "trialing")
            keys = [item["price"]["lookup_key"] for item in sub.items]
            index = keys.index(fields.get("item", keys[0]))
            key = fields.get("price", keys[index])
            quantity = fields.get("quantity", sub.truth_items[index].quantity)
            if key == keys[index] and quantity == sub.truth_items[index].quantity:
                raise self._fail(op, f"subscription {name!r} already has that price and quantity")
            new = (self.prices[key], truth_item(self.scenario.prices[key], quantity))
            behavior = fields.get("proration_behavior", "create_prorations")
            operations.change_item(self.engine, sub, at, index, new, behavior)

    def _apply_coupon(self, op: Operation, at: int) -> None:
        spec = self.scenario.coupons[op.fields["coupon"]]
        for name in self._members(op, "subscription"):
            sub = self._live(op, name, "active", "past_due", "trialing", "paused")
            operations.attach_coupon(self.engine, sub, spec, at)

    def _fail_payments(self, op: Operation, at: int) -> None:
        fields = op.fields
        decline = DECLINE_BY_CODE[fields.get("decline_code", "insufficient_funds")]
        end = fields.get("dunning_end", self.scenario.dunning.exhausted)
        for name in self._members(op, "customer"):
            window = FailWindow(at, fields["until"], decline, end)
            self.script.fail(self.customers[name][1]["id"], window)

    def _recover(self, op: Operation, at: int) -> None:
        for name in self._members(op, "customer"):
            customer = self.customers[name][1]["id"]
            mine = [s for s in self.subs.values() if s.customer["id"] == customer]
            if not self.script.failing(customer, at) and all(s.status != "past_due" for s in mine):
                raise self._fail(op, f"customer {name!r} has no failing card to recover")
            self.script.recover(self.engine, customer, at)

    def _cancel(self, op: Operation, at: int) -> None:
        feedback = op.fields.get("feedback")
        for name in self._members(op, "subscription"):
            if op.fields.get("at_period_end", False):
                sub = self._live(op, name, "active", "past_due")
                if sub.cancel_at is not None:
                    raise self._fail(op, f"subscription {name!r} already cancels at period end")
                operations.cancel_later(self.engine, sub, at, feedback)
            else:
                sub = self._live(op, name, "active", "past_due", "trialing", "paused", "unpaid")
                operations.cancel_now(self.engine, sub, at, feedback)

    def _pause(self, op: Operation, at: int) -> None:
        for name in self._members(op, "subscription"):
            sub = self._live(op, name, "active")
            if sub.cancel_at is not None:
                raise self._fail(op, f"subscription {name!r} is set to cancel at period end")
            lifecycle.pause(self.engine, sub, at)

    def _resume(self, op: Operation, at: int) -> None:
        for name in self._members(op, "subscription"):
            lifecycle.resume(self.engine, at, self._live(op, name, "paused"))

    def _update_charge(self, op: Operation, at: int) -> None:
        """Stripe's charge update: a new ``description``, keys added to ``metadata``."""
        for name in self._members(op, "customer"):
            charge = self._charge(op, name, refundable=False)
            changes = _text(op.fields)
            if "metadata" in changes:
                changes["metadata"] = {**charge["metadata"], **changes["metadata"]}
            self.engine.update("charge.updated", charge, at, changes)

    def _charge(self, op: Operation, name: str, *, refundable: bool = True) -> Obj:
        """The customer's ``charge``-th successful charge (default: the latest), refundable
        unless ``refundable`` is False."""
        customer = self.customers[name][1]["id"]
        paid = [
            c for c in self.engine.sim.charges.values()
            if c["customer"] == customer and c["status"] == "succeeded"
        ]  # fmt: skip
        number = op.fields.get("charge", len(paid))
        if not paid or number > len(paid):
            raise self._fail(op, f"customer {name!r} has {len(paid)} successful charges")
        charge = paid[number - 1]
        if refundable and (charge["disputed"] or charge["refunded"]):
            state = "disputed" if charge["disputed"] else "refunded"
            raise self._fail(op, f"charge {number} of {name!r} is already {state}")
        return charge

    def _refund(self, op: Operation, at: int) -> None:
        for name in self._members(op, "customer"):
            charge = self._charge(op, name)
            left = charge["amount"] - charge["amount_refunded"]
            amount = op.fields.get("amount", left)
            if amount > left:
                raise self._fail(op, f"amount {amount} is more than the {left} left to refund")
            reason = op.fields.get("reason", "requested_by_customer")
            refund(self.engine, charge, amount, reason, at)

    def _dispute(self, op: Operation, at: int) -> None:
        fields = op.fields
        closes, evidence = fields["closes"], fields.get("evidence", True)
        if not evidence and fields["outcome"] == "won":
            raise self._fail(op, "a dispute without evidence is lost at its deadline")
        due_by = at + fields.get("due_days", 14) * DAY_SECONDS if evidence else closes
        evidence_at = at + min(DAY_SECONDS, (closes - at) // 2) if evidence else None
        for name in self._members(op, "customer"):
            charge = self._charge(op, name)
            reason = fields.get("reason", "fraudulent")
            dispute = open_dispute(self.engine, charge, reason, at, due_by, evidence_at)
            self.engine.schedule(closes, close_dispute, (dispute, fields["outcome"]))
        if "cancel_subscription" in fields:
            sub = self._live(op, fields["cancel_subscription"], "active", "past_due")
            endings.cancel(self.engine, sub, at, "payment_disputed")


def _text(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The ``description`` and ``metadata`` an operation gives, as Stripe's field names."""
    return {key: fields[key] for key in ("description", "metadata") if key in fields}
