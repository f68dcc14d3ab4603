"""How subscriptions end: voluntary cancellation now or at period end, failed payment, unpaid,
a dispute; and who comes back later.

Only a subscription that was in MRR (``active`` or ``past_due``) churns in the truth; a trial
or a paused subscription that is cancelled never paid, so it is not churn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.clock import DAY_SECONDS
from sandbox.truth import MRR_STATUSES, ChurnEvent

if TYPE_CHECKING:
    from sandbox.engine import Engine
    from sandbox.subscriptions import Sub

FEEDBACK = ("too_expensive", "missing_features", "switched_service", "unused", "other", None)
CAUSES = {
    "cancellation_requested": "voluntary",
    "payment_failed": "payment_failed",
    "payment_disputed": "disputed",
}


def maybe_churn(engine: Engine, sub: Sub, start: int, end: int) -> None:
    """The customer may decide, during this period, to cancel (the monthly hazard)."""
    months = (end - start) / (30.44 * DAY_SECONDS)
    if engine.rng.random() < 1 - (1 - engine.preset.monthly_churn) ** months:
        engine.schedule(engine.rng.randint(start + 1, end - 1), request_cancel, sub)


def request_cancel(engine: Engine, at: int, sub: Sub) -> None:
    """A voluntary cancellation: at period end for some active subscriptions, else now."""
    if sub.status not in ("active", "past_due", "trialing", "paused") or sub.cancel_at:
        return
    if sub.status == "active" and engine.rng.random() < engine.preset.period_end_share:
        cancel_at_period_end(engine, sub, at, engine.rng.choice(FEEDBACK))
    else:
        cancel(engine, sub, at, "cancellation_requested")


def cancel_at_period_end(engine: Engine, sub: Sub, at: int, feedback: str | None) -> None:
    """Stripe's ``cancel_at_period_end``: still active until the period ends."""
    end = sub.items[0]["current_period_end"]
    sub.cancel_at = end
    details = {"comment": None, "feedback": feedback, "reason": None}
    details["reason"] = "cancellation_requested"
    changes = {
        "cancel_at_period_end": True,
        "cancel_at": end,
        "canceled_at": at,
        "cancellation_details": details,
    }
    engine.update_sub(sub, at, changes)
    churn = ChurnEvent(sub.id, sub.customer["id"], end, "voluntary", sub.status, at)
    engine.sim.ledger.churn(churn)
    _maybe_return(engine, sub, end)


DRAW = "<drawn>"  # ``cancel``'s feedback when the caller leaves it to the random stream


def cancel(
    engine: Engine,
    sub: Sub,
    at: int,
    reason: str,
    feedback: str | None = DRAW,
    *,
    aftermath: bool = True,
) -> None:
    """End the subscription now (or now that its period has ended, if that was requested).

    ``aftermath``: the customer may come back or be deleted later (not when its deletion is
    what cancels the subscription).
    """
    if sub.status == "canceled":
        return
    requested = sub.cancel_at is not None
    if not requested and sub.status in MRR_STATUSES:
        churn = ChurnEvent(sub.id, sub.customer["id"], at, CAUSES[reason], sub.status, at)
        engine.sim.ledger.churn(churn)
    changes: dict[str, object] = {"status": "canceled", "ended_at": at}
    if not requested:
        if feedback == DRAW:
            voluntary = reason == "cancellation_requested"
            feedback = engine.rng.choice(FEEDBACK) if voluntary else None
        details = {"comment": None, "feedback": feedback, "reason": reason}
        changes.update(canceled_at=at, cancellation_details=details)
    sub.pending = []
    engine.update_sub(sub, at, changes, None)
    engine.events.emit("customer.subscription.deleted", sub.obj, at)
    if not aftermath:
        return
    if not requested and reason == "cancellation_requested" and sub.counted:
        _maybe_return(engine, sub, at)
    _after_end(engine, sub, at)


def mark_unpaid(engine: Engine, sub: Sub, at: int) -> None:
    """Dunning gave up and the account keeps the subscription ``unpaid`` (out of MRR)."""
    churn = ChurnEvent(sub.id, sub.customer["id"], at, "unpaid", sub.status, at)
    engine.sim.ledger.churn(churn)
    engine.update_sub(sub, at, {"status": "unpaid"})
    _after_end(engine, sub, at)


def _after_end(engine: Engine, sub: Sub, at: int) -> None:
    from sandbox.deletions import after_end  # deletions cancels through this module

    after_end(engine, sub, at)


def _maybe_return(engine: Engine, sub: Sub, ended: int) -> None:
    """Some voluntary churners subscribe again one to eight months after leaving."""
    from sandbox.lifecycle import resubscribe  # lifecycle imports this module

    rng = engine.rng
    if rng.random() < engine.preset.reactivation:
        back = ended + rng.randint(30, 240) * DAY_SECONDS + rng.randint(0, 80_000)
        engine.schedule(back, resubscribe, (sub.person, sub.customer))
