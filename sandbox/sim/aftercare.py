"""What can happen to a successful charge later: a refund, or a dispute and its outcome.

A dispute wave (an incident) disputes its share of the charges succeeding inside its window,
within hours; otherwise disputes arrive days to weeks after the charge. Some disputes make the
business cancel the subscription at once (``cancellation_details.reason = payment_disputed``),
which the truth records as ``disputed`` churn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.objects.clock import DAY_SECONDS
from sandbox.objects.disputes import REASONS, dispute_object, submitted_changes
from sandbox.objects.disputes import evidence_details as details
from sandbox.objects.refunds import REASONS as REFUND_REASONS
from sandbox.objects.refunds import refund_object, refunded_changes
from sandbox.sim import endings
from sandbox.sim.incidents import active
from sandbox.sim.model import Obj

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine
    from sandbox.sim.records import Sub

_DISPUTE_REASONS = list(REASONS)
_DISPUTE_WEIGHTS = [weight for weight, _ in REASONS.values()]


def after_success(engine: Engine, charge: Obj, sub: Sub, at: int) -> None:
    """Maybe queue a refund or a dispute of a charge that just succeeded."""
    rng, preset = engine.rng, engine.preset
    waves = active(engine.incidents, "dispute_wave", at)
    if waves:
        if rng.random() < max(w.rate for w in waves):
            engine.schedule(at + rng.randint(600, 6 * 3_600), _open_dispute, (charge, sub))
        return
    roll = rng.random()
    if roll < preset.refund_rate:
        engine.schedule(at + rng.randint(1, 20) * DAY_SECONDS, _refund, charge)
    elif roll < preset.refund_rate + preset.dispute_rate:
        engine.schedule(at + rng.randint(3, 45) * DAY_SECONDS, _open_dispute, (charge, sub))


def _refund(engine: Engine, at: int, charge: Obj) -> None:
    """Refund the whole charge or, half the time, part of it."""
    if charge["disputed"] or charge["refunded"]:
        return
    rng = engine.rng
    amount = (
        charge["amount"]
        if rng.random() < 0.5
        else max(1, charge["amount"] * rng.randint(10, 60) // 100)
    )
    refund = refund_object(engine.ids, charge, amount, at, rng.choice(REFUND_REASONS))
    engine.sim.refunds[refund["id"]] = refund
    earlier = charge["refunds"]["data"]
    engine.update(
        "charge.refunded", charge, at, refunded_changes(charge, refund, [refund, *earlier])
    )
    engine.events.emit("refund.created", refund, at)


def _open_dispute(engine: Engine, at: int, payload: tuple[Obj, Sub]) -> None:
    charge, sub = payload
    if charge["disputed"] or charge["refunded"]:
        return
    rng = engine.rng
    reason = rng.choices(_DISPUTE_REASONS, weights=_DISPUTE_WEIGHTS)[0]
    due_by = at + rng.randint(7, 21) * DAY_SECONDS
    dispute = dispute_object(engine.ids, charge, reason, at, due_by)
    engine.sim.disputes[dispute["id"]] = dispute
    engine.update(None, charge, at, {"disputed": True})
    engine.events.emit("charge.dispute.created", dispute, at)
    if sub.status in ("active", "past_due") and rng.random() < engine.preset.dispute_cancels:
        endings.cancel(engine, sub, at, "payment_disputed")
    if rng.random() < 0.7:
        engine.schedule(rng.randint(at + 3_600, due_by - 3_600), _submit_evidence, dispute)
    else:
        engine.schedule(due_by, _close, (dispute, "lost"))


def _submit_evidence(engine: Engine, at: int, dispute: Obj) -> None:
    customer = engine.sim.customer(engine.sim.charges[dispute["charge"]]["customer"])
    changes = submitted_changes(dispute, at, customer["email"])
    engine.update("charge.dispute.updated", dispute, at, changes)
    outcome = "won" if engine.rng.random() < 0.45 else "lost"
    engine.schedule(at + engine.rng.randint(20, 60) * DAY_SECONDS, _close, (dispute, outcome))


def _close(engine: Engine, at: int, payload: tuple[Obj, str]) -> None:
    dispute, outcome = payload
    changes: Obj = {"status": outcome}
    evidence = dispute["evidence_details"]
    if not evidence["has_evidence"]:
        changes["evidence_details"] = details(evidence["due_by"], submitted=False, past_due=True)
    dispute.update(changes)
    engine.events.emit("charge.dispute.closed", dispute, at)
