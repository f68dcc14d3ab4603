"""How subscriptions end: voluntary cancellation now or at period end, failed payment, unpaid,
a dispute, the customer deleted; and who comes back later.

Only a subscription that was in MRR (``active`` or ``past_due``) churns in the truth; a trial
or a paused subscription that is cancelled never paid, so it is not churn.

Deleting a customer lives here because it is both a cause and a consequence of an ending:
Stripe's deletion "immediately cancels any active subscriptions" (each gets its own
``customer.subscription.deleted``, reason ``cancellation_requested``: voluntary churn if it was
in MRR), and a customer may be deleted some days after its last subscription ended (an
abandoned trial, a churner's data erased) or, more rarely, while still subscribed (an account
closed); one with a cancellation at period end on its way is left alone. Its subscriptions,
invoices and charges stay served. Choices draw from ``engine.deleting``, a stream of their own
(see ``deletions``). A returning churner's new subscription is started by
``engine.resubscribe`` (``lifecycle.resubscribe``, passed to the engine), since starting a
subscription is the lifecycle's, which ends them through this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.objects.clock import DAY_SECONDS
from sandbox.truth.ledger import MRR_STATUSES, ChurnEvent

if TYPE_CHECKING:
    from sandbox.objects.shared import Obj
    from sandbox.sim.engine import Engine
    from sandbox.sim.records import Sub

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
    after_end(engine, sub, at)


def mark_unpaid(engine: Engine, sub: Sub, at: int) -> None:
    """Dunning gave up and the account keeps the subscription ``unpaid`` (out of MRR)."""
    churn = ChurnEvent(sub.id, sub.customer["id"], at, "unpaid", sub.status, at)
    engine.sim.ledger.churn(churn)
    engine.update_sub(sub, at, {"status": "unpaid"})
    after_end(engine, sub, at)


def _maybe_return(engine: Engine, sub: Sub, ended: int) -> None:
    """Some voluntary churners subscribe again one to eight months after leaving."""
    rng = engine.rng
    if rng.random() < engine.preset.reactivation:
        back = ended + rng.randint(30, 240) * DAY_SECONDS + rng.randint(0, 80_000)
        engine.schedule(back, engine.resubscribe, (sub.person, sub.customer))


# --- deleting a customer ---

LIVE = frozenset({"active", "past_due", "trialing", "paused"})  # its customer stays


def after_end(engine: Engine, sub: Sub, at: int) -> None:
    """A subscription ended (or went unpaid): maybe delete its customer 1-90 days later."""
    rate, rng = engine.preset.deleted_after_end, engine.deleting
    if rate and rng.random() < rate:
        later = at + rng.randint(1, 90) * DAY_SECONDS + rng.randint(0, DAY_SECONDS - 1)
        engine.schedule(later, _delete_if_gone, sub.customer)


def after_signup(engine: Engine, customer: Obj, at: int) -> None:
    """A new customer: maybe the account is closed 1-18 months later, subscribed or not."""
    rate, rng = engine.preset.deleted_while_subscribed, engine.deleting
    if rate and rng.random() < rate:
        later = at + rng.randint(30, 540) * DAY_SECONDS + rng.randint(0, DAY_SECONDS - 1)
        engine.schedule(later, _close, customer)


def _delete_if_gone(engine: Engine, at: int, customer: Obj) -> None:
    if any(sub.status in LIVE for sub in engine.subs_of.get(customer["id"], ())):
        return  # came back meanwhile
    delete_customer(engine, customer, at)


def _close(engine: Engine, at: int, customer: Obj) -> None:
    subs = engine.subs_of.get(customer["id"], ())
    if any(sub.cancel_at is not None and sub.status != "canceled" for sub in subs):
        return  # already leaving at its period end: the truth dated that churn
    delete_customer(engine, customer, at)


def delete_customer(engine: Engine, customer: Obj, at: int) -> None:
    """Cancel the customer's subscriptions that have not ended, then delete it."""
    sim = engine.sim
    if sim.customers.get(customer["id"]) is not customer:
        return
    for sub in engine.subs_of.get(customer["id"], ()):
        cancel(engine, sub, at, "cancellation_requested", None, aftermath=False)
    del sim.customers[customer["id"]]
    engine.gone("customer.deleted", customer, at)
