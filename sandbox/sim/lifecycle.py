"""A subscription's life: signup, coupon, trial, pause and resume, billing periods, renewals.

Pauses follow what Stripe does: ``status: "paused"`` exists only for a trial that ends without
a payment method when ``trial_settings.end_behavior.missing_payment_method`` is ``pause``; the
customer resumes it by adding a card (``customer.subscription.resumed``), which starts a new
billing cycle. ``pause_collection`` (collection paused on an active subscription) is not
simulated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.objects.clock import DAY_SECONDS, period_boundary, within_day
from sandbox.objects.coupons import discount_object, pick_coupon, truth_discount
from sandbox.objects.invoices import paid_changes
from sandbox.objects.people import Person, customer_object, draw_person
from sandbox.sim import changes, collect, endings
from sandbox.sim.invoicing import issue_invoice, set_item_periods
from sandbox.sim.records import Collection, Sub, new_subscription
from sandbox.truth.ledger import Happening

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine
    from sandbox.sim.model import Obj


def signup(engine: Engine, at: int, _payload: Any = None) -> None:
    """A new customer subscribes, with a trial or paying straight away; queues the next one."""
    sim, rng = engine.sim, engine.rng
    number = len(sim.customers) + len(sim.deleted) + 1  # never reused after a deletion
    person = draw_person(rng, engine.ids, number, sim.currencies, sim.until.year)
    trial = rng.random() < engine.preset.trial_share
    has_card = not trial or rng.random() >= engine.preset.trial_without_card
    customer = customer_object(engine.ids, person, at)
    if not has_card:
        settings = {**customer["invoice_settings"], "default_payment_method": None}
        customer["invoice_settings"] = settings
    sim.customers[customer["id"]] = customer
    engine.events.emit("customer.created", customer, at)
    engine.soon(within_day(at, 2), _subscribe_new, (person, customer, trial, has_card))
    endings.after_signup(engine, customer, at)
    engine.schedule(engine.next_signup(at), signup)


def _subscribe_new(engine: Engine, at: int, payload: tuple[Person, Obj, bool, bool]) -> None:
    person, customer, trial, has_card = payload
    subscribe(engine, person, customer, at, trial=trial, has_card=has_card)


def resubscribe(engine: Engine, at: int, payload: tuple[Person, Obj]) -> None:
    """A customer who cancelled earlier comes back and pays straight away (a reactivation)."""
    person, customer = payload
    if engine.sim.customers.get(customer["id"]) is not customer:
        return  # deleted meanwhile: Stripe accepts no new subscription for it
    subscribe(engine, person, customer, at, trial=False, has_card=True, reactivation=True)


def subscribe(
    engine: Engine,
    person: Person,
    customer: Obj,
    at: int,
    *,
    trial: bool,
    has_card: bool,
    reactivation: bool = False,
) -> None:
    """Create the subscription, maybe with a coupon, and start its trial or first period."""
    sub = new_subscription(
        engine.rng, engine.ids, engine.preset, engine.catalog, person, customer, at
    )
    sub.has_card, sub.reactivation = has_card, reactivation
    if not has_card:
        sub.obj["default_payment_method"] = None
        sub.obj["trial_settings"] = {"end_behavior": {"missing_payment_method": "pause"}}
    engine.add_subscription(sub)
    if engine.rng.random() < engine.preset.coupon_share:
        _apply_coupon(engine, sub, at)
    if trial:
        _start_trial(engine, sub, at)
        return
    sub.anchor = at
    engine.events.emit("customer.subscription.created", sub.obj, at)
    engine.record(sub, at)
    begin_period(engine, sub, at, 0, "subscription_create", (at, at))


def _apply_coupon(engine: Engine, sub: Sub, at: int) -> None:
    spec = pick_coupon(engine.rng, engine.sim.coupons, sub.person.currency, at)
    if spec is None:
        return
    discount = discount_object(engine.ids, spec, sub.obj, at)
    engine.sim.discounts[discount["id"]] = discount
    coupon = engine.sim.coupons[spec.code]
    coupon["times_redeemed"] += 1
    sub.coupon, sub.discount_id = spec, discount["id"]
    if spec.duration != "once":  # a once coupon takes effect on the invoice that spends it
        sub.truth_discount = truth_discount(spec, at, discount["end"])
    sub.obj["discounts"] = [discount["id"]]


def _start_trial(engine: Engine, sub: Sub, at: int) -> None:
    preset = engine.preset
    trial_end = at + preset.trial_days * DAY_SECONDS
    start_trial(engine, sub, at, trial_end)
    if not sub.has_card or engine.rng.random() < preset.trial_conversion:
        engine.schedule(trial_end, _trial_end, sub)
    else:
        leave = engine.rng.randint(at + 3_600, trial_end - 1)
        engine.schedule(leave, endings.request_cancel, sub)


def start_trial(engine: Engine, sub: Sub, at: int, trial_end: int) -> None:
    """A trial until ``trial_end``: the paid $0 invoice and the reminder 3 days before the end."""
    sub.obj.update(trial_start=at, trial_end=trial_end, status="trialing")
    sub.status = "trialing"
    set_item_periods(engine, sub, at, trial_end, at)
    engine.events.emit("customer.subscription.created", sub.obj, at)
    invoice = issue_invoice(
        engine, sub, "subscription_create", at, (at, at), (at, trial_end), trial=True
    )
    invoice.update(paid_changes(invoice, at))
    engine.update_sub(sub, at, {"latest_invoice": invoice["id"]})
    engine.schedule(max(at, trial_end - 3 * DAY_SECONDS), _trial_will_end, sub)


def _trial_will_end(engine: Engine, at: int, sub: Sub) -> None:
    if sub.status == "trialing":
        engine.events.emit("customer.subscription.trial_will_end", sub.obj, at)


def _trial_end(engine: Engine, at: int, sub: Sub) -> None:
    if sub.status != "trialing":
        return
    if not sub.has_card:
        _pause(engine, at, sub)
        return
    convert_trial(engine, sub, at)


def convert_trial(engine: Engine, sub: Sub, at: int) -> None:
    """The trial ends with a card on file: the first paid period starts now."""
    sub.anchor = at
    engine.update_sub(sub, at, {"billing_cycle_anchor": at}, None)
    begin_period(engine, sub, at, 0, "subscription_cycle", (sub.obj["trial_start"], at))


def _pause(engine: Engine, at: int, sub: Sub) -> None:
    """No card at trial end: Stripe pauses the subscription (no invoice, out of MRR)."""
    pause(engine, sub, at)
    rng = engine.rng
    if rng.random() < engine.preset.paused_resume:
        engine.schedule(at + rng.randint(1, 30) * DAY_SECONDS + 3_600, resume, sub)
    else:
        engine.schedule(at + rng.randint(20, 60) * DAY_SECONDS, endings.request_cancel, sub)


def pause(engine: Engine, sub: Sub, at: int) -> None:
    """Stripe's ``paused`` status: no invoices and out of MRR until resumed.

    Pausing a running subscription leaves no dated trace in any object (only its event, kept 30
    days), so the truth lists it as unobservable; a pause at trial end is dated by ``trial_end``.
    """
    if sub.status == "active":
        happening = Happening(sub.id, sub.customer["id"], at, "pause")
        engine.sim.ledger.unobservable.append(happening)
    engine.update_sub(sub, at, {"status": "paused", "pause_collection": None})
    engine.events.emit("customer.subscription.paused", sub.obj, at)


def resume(engine: Engine, at: int, sub: Sub) -> None:
    """The customer adds a card and resumes: a new billing cycle starts now."""
    if sub.status != "paused":
        return
    sub.has_card = True
    payment_method = sub.person.card.payment_method
    settings = {**sub.customer["invoice_settings"], "default_payment_method": payment_method}
    sub.customer["invoice_settings"] = settings
    sub.anchor = at
    changes_ = {"status": "active", "billing_cycle_anchor": at}
    changes_["default_payment_method"] = payment_method
    engine.update_sub(sub, at, changes_)
    engine.events.emit("customer.subscription.resumed", sub.obj, at)
    begin_period(engine, sub, at, 0, "subscription_update", (at, at))


def renew(engine: Engine, at: int, sub: Sub) -> None:
    """A period ended: end a pending cancellation, or bill the next period."""
    if sub.status not in ("active", "past_due"):
        return
    if at != sub.items[0]["current_period_end"]:  # a period a pause and resume replaced
        return
    if sub.cancel_at is not None:
        endings.cancel(engine, sub, at, "cancellation_requested")
        return
    index = sub.period_index + 1
    previous_start = period_boundary(sub.anchor, sub.interval, sub.interval_count, index - 1)
    begin_period(engine, sub, at, index, "subscription_cycle", (previous_start, at))


def begin_period(
    engine: Engine, sub: Sub, at: int, index: int, reason: str, invoice_period: tuple[int, int]
) -> None:
    """Start period ``index``: bill it, collect, and queue its renewal, changes and churn."""
    start = period_boundary(sub.anchor, sub.interval, sub.interval_count, index)
    end = period_boundary(sub.anchor, sub.interval, sub.interval_count, index + 1)
    usage = invoice_period if index > 0 else None
    sub.period_index = index
    old_items = sub.obj["items"]
    set_item_periods(engine, sub, start, end, at)
    items = sub.obj["items"]
    sub.obj["items"] = old_items  # so the update below reports what changed
    invoice = issue_invoice(
        engine, sub, reason, at, invoice_period, (start, end), usage_period=usage
    )
    engine.update_sub(sub, at, {"items": items, "latest_invoice": invoice["id"]})
    engine.schedule(end, renew, sub)
    endings.maybe_churn(engine, sub, start, end)
    changes.maybe_change(engine, sub, start, end)
    collection = Collection(invoice, sub, engine.ids.new("pi"))
    checkout = reason == "subscription_create"
    when = within_day(at, engine.rng.randint(1, 3_600))
    engine.soon(when, collect.attempt_soon, (collection, checkout))
