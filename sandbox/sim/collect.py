"""Collecting an invoice: charge the card, and on a decline run the dunning schedule.

At checkout (``subscription_create``) the customer is present: a decline is followed minutes
later by a successful attempt on the same payment intent. Renewal declines go ``past_due`` and
are retried after the preset's gaps; a retry keeps the earlier decline kind. When the last
retry fails the subscription ends: ``canceled`` (reason ``payment_failed``, invoice marked
uncollectible) or, for the preset's ``unpaid_share``, ``unpaid`` with the invoice left open.
An attempt minutes after its invoice goes through ``Engine.soon``, so a live clock never
serves it before its time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.objects.catalog import usd_cents
from sandbox.objects.clock import DAY_SECONDS, within_day
from sandbox.objects.invoices import attempt_changes, paid_changes, uncollectible_changes
from sandbox.objects.payments import Decline, charge_object, decline_rate, draw_first_attempt
from sandbox.sim import aftercare, endings
from sandbox.sim.incidents import spiked
from sandbox.sim.model import Obj
from sandbox.sim.records import Collection

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine


def attempt_soon(engine: Engine, at: int, payload: tuple[Collection, bool]) -> None:
    """``attempt`` as an engine handler (``Engine.soon``), if still due."""
    collection, checkout = payload
    if _still_due(collection):
        attempt(engine, collection, at, checkout=checkout)


def _still_due(collection: Collection) -> bool:
    """Whether the invoice is open and its subscription running: a live clock leaves time for
    a scenario to cancel or pause it between the invoice and the attempt queued for later."""
    running = collection.sub.status in ("incomplete", "trialing", "active", "past_due")
    return running and collection.invoice["status"] == "open"


def attempt(engine: Engine, collection: Collection, at: int, *, checkout: bool) -> None:
    """Charge the card once (nothing is due: paid at once); act on the outcome."""
    invoice = collection.invoice
    if invoice["amount_due"] == 0:
        _paid(engine, collection, at, None)
        return
    decline = _draw_decline(engine, collection, at)
    charge = _charge(engine, collection, at, decline)
    if decline is None:
        _paid(engine, collection, at, charge)
        return
    collection.decline = decline
    if checkout:
        engine.update(None, invoice, at, attempt_changes(invoice, None))
        engine.events.emit("invoice.payment_failed", invoice, at)
        retry_at = within_day(at, engine.rng.randint(60, 900))
        engine.soon(retry_at, _checkout_retry, collection)
        return
    _after_decline(engine, collection, at)


def _checkout_retry(engine: Engine, at: int, collection: Collection) -> None:
    """The customer, still at checkout, tries again, and it goes through."""
    if _still_due(collection):
        _paid(engine, collection, at, _charge(engine, collection, at, None))


def _paid(engine: Engine, collection: Collection, at: int, charge: Obj | None) -> None:
    invoice, sub = collection.invoice, collection.sub
    changes = paid_changes(invoice, at)
    if charge is not None:
        changes.update(attempt_changes(invoice, None))
    invoice.update(changes)
    if engine.events.keeping(at):
        snapshot = dict(invoice)
        engine.events.emit("invoice.paid", invoice, at, snapshot=snapshot)
        engine.events.emit("invoice.payment_succeeded", invoice, at, snapshot=snapshot)
    sub.customer["delinquent"] = False
    if sub.status != "active":
        engine.update_sub(sub, at, {"status": "active"})
    if charge is not None:
        aftercare.after_success(engine, charge, sub, at)


def _after_decline(engine: Engine, collection: Collection, at: int) -> None:
    invoice, sub = collection.invoice, collection.sub
    gaps = engine.preset.dunning_gaps_days
    tried = invoice["attempt_count"]  # attempts before this one
    sub.customer["delinquent"] = True
    retry_at = at + gaps[tried] * DAY_SECONDS if tried < len(gaps) else None
    engine.update(None, invoice, at, attempt_changes(invoice, retry_at))
    engine.events.emit("invoice.payment_failed", invoice, at)
    if retry_at is not None:
        engine.schedule(retry_at, _retry, collection)
        if sub.status != "past_due":
            engine.update_sub(sub, at, {"status": "past_due"})
    elif _ends_unpaid(engine, collection, at):
        endings.mark_unpaid(engine, sub, at)
    else:
        engine.update(
            "invoice.marked_uncollectible", invoice, at, uncollectible_changes(invoice, at)
        )
        endings.cancel(engine, sub, at, "payment_failed")


def _ends_unpaid(engine: Engine, collection: Collection, at: int) -> bool:
    """Exhausted dunning ends ``unpaid`` (else cancelled): as scripted, or at the preset's rate."""
    if engine.script is not None:
        return engine.script.ends_unpaid(collection.sub, at)
    return engine.rng.random() < engine.preset.unpaid_share


def _retry(engine: Engine, at: int, collection: Collection) -> None:
    if collection.invoice["status"] != "open" or collection.sub.status != "past_due":
        return
    attempt(engine, collection, at, checkout=False)


def _draw_decline(engine: Engine, collection: Collection, at: int) -> Decline | None:
    """First attempts fail at the card's rate (or a spike's); retries keep the decline kind.

    A spike that names a code gives every failure on a matching card that code; the kind is
    still drawn first, so naming a code changes how those charges fail, not which ones do.
    """
    if engine.script is not None:
        return engine.script.decline(collection, at)
    rng = engine.rng
    if collection.decline is not None:
        return None if rng.random() < engine.preset.retry_success else collection.decline
    person, invoice = collection.sub.person, collection.invoice
    amount = usd_cents(invoice["amount_due"], invoice["currency"])
    rate = decline_rate(
        engine.preset.first_attempt_failure, person.card, person.decline_multiplier, amount
    )
    rate, named = spiked(engine.incidents, at, person.card.brand, person.card.country, rate)
    return draw_first_attempt(rng, rate, named)


def _charge(engine: Engine, collection: Collection, at: int, decline: Decline | None) -> Obj:
    invoice = collection.invoice
    creation = invoice["billing_reason"] == "subscription_create"
    charge = charge_object(
        engine.ids,
        engine.rng,
        card=collection.sub.person.card,
        customer=invoice["customer"],
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        payment_intent=collection.payment_intent,
        description="Subscription creation" if creation else "Subscription update",
        created=at,
        decline=decline,
        parts=collection.sub.parts,
    )
    engine.sim.charges[charge["id"]] = charge
    engine.events.emit("charge.failed" if decline else "charge.succeeded", charge, at)
    return charge
