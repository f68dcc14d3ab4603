"""Deliberate operations on the simulated business, as a scenario file asks for them.

The presets' rules draw what happens at random; these functions do one named thing instead
(subscribe these items, change this item, apply this coupon, cancel now), through the same
machinery: ``Engine.update_sub`` for events and truth, ``issue_invoice`` and ``collect`` for
invoices and charges, ``begin_period`` for renewals. Callers check that the operation makes
sense first (``sandbox.scenario.run``); nothing here draws at random except what the presets
leave to chance too (charge risk scores, collection delay within the day).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.objects.account import AUTOMATIC_TAX_ON
from sandbox.objects.catalog import plan_object
from sandbox.objects.coupons import CouponSpec, discount_object, truth_discount
from sandbox.objects.people import Person, customer_object
from sandbox.objects.shared import nested_list
from sandbox.objects.subscriptions import subscription_item_object, subscription_object
from sandbox.sim import changes, endings, lifecycle
from sandbox.sim.records import Sub
from sandbox.truth.ledger import Happening, TruthItem

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine
    from sandbox.sim.model import Obj

Line = tuple["Obj", TruthItem]  # a served price and how the truth values one item of it


def add_customer(
    engine: Engine, person: Person, at: int, name: str, *, card: bool, text: Obj | None = None
) -> Obj:
    """Create a customer (with ``person``'s card as default payment method, if ``card``);
    ``text`` sets its ``description`` and adds to its ``metadata``."""
    customer = customer_object(engine.ids, person, at)
    customer["metadata"] = {"scenario_name": name}
    _add_text(customer, text)
    if not card:
        settings = {**customer["invoice_settings"], "default_payment_method": None}
        customer["invoice_settings"] = settings
    engine.sim.customers[customer["id"]] = customer
    engine.events.emit("customer.created", customer, at)
    return customer


def start_subscription(
    engine: Engine,
    person: Person,
    customer: Obj,
    at: int,
    lines: list[Line],
    *,
    name: str,
    trial_end: int | None = None,
    coupon: CouponSpec | None = None,
    reactivation: bool = False,
    text: Obj | None = None,
) -> Sub:
    """Subscribe to ``lines``: a trial until ``trial_end``, or the first period paid now;
    ``text`` sets the subscription's ``description`` and adds to its ``metadata``."""
    sub = _new_sub(engine, person, customer, at, lines, name)
    _add_text(sub.obj, text)
    sub.has_card = customer["invoice_settings"]["default_payment_method"] is not None
    sub.reactivation = reactivation
    if not sub.has_card:
        sub.obj["default_payment_method"] = None
        sub.obj["trial_settings"] = {"end_behavior": {"missing_payment_method": "pause"}}
    engine.add_subscription(sub)
    if coupon is not None:
        attach_coupon(engine, sub, coupon, at, announce=False)
    if trial_end is not None:
        lifecycle.start_trial(engine, sub, at, trial_end)
        engine.schedule(trial_end, _trial_ends, sub)
        return sub
    sub.anchor = at
    engine.events.emit("customer.subscription.created", sub.obj, at)
    engine.record(sub, at)
    lifecycle.begin_period(engine, sub, at, 0, "subscription_create", (at, at))
    return sub


def _add_text(obj: Obj, text: Obj | None) -> None:
    """A scenario's ``description`` and ``metadata`` for ``obj``, before it is announced."""
    if text and "description" in text:
        obj["description"] = text["description"]
    if text and "metadata" in text:
        obj["metadata"] = {**obj["metadata"], **text["metadata"]}


def _new_sub(
    engine: Engine, person: Person, customer: Obj, at: int, lines: list[Line], name: str
) -> Sub:
    obj = subscription_object(engine.ids.new("sub"), customer, person.currency, at)
    obj["metadata"] = {"scenario_name": name}
    if engine.preset.account.tax.automatic_tax:
        obj["automatic_tax"] = AUTOMATIC_TAX_ON
    items = [
        subscription_item_object(engine.ids, obj["id"], price, truth.quantity, at)
        for price, truth in lines
    ]
    obj["items"] = nested_list(items, obj["items"]["url"])
    first = lines[0][1]
    sub = Sub(obj, customer, person, items, [], first.interval, first.interval_count)
    sub.truth_items = tuple(truth for _, truth in lines)
    return sub


def _trial_ends(engine: Engine, at: int, sub: Sub) -> None:
    """Stripe at trial end: pause without a payment method, else start the first period."""
    if sub.status != "trialing":
        return
    if sub.has_card:
        lifecycle.convert_trial(engine, sub, at)
    else:
        lifecycle.pause(engine, sub, at)


def attach_coupon(
    engine: Engine, sub: Sub, spec: CouponSpec, at: int, *, announce: bool = True
) -> None:
    """The coupon becomes the subscription's one discount (replacing any earlier one).

    A ``once`` coupon enters the truth when an invoice spends it (``invoicing``); the others
    from now. ``announce`` emits ``customer.subscription.updated`` (not for a new one).
    """
    discount = discount_object(engine.ids, spec, sub.obj, at)
    engine.sim.discounts[discount["id"]] = discount
    coupon = engine.sim.coupons[spec.code]
    coupon["times_redeemed"] += 1
    sub.coupon, sub.discount_id = spec, discount["id"]
    if spec.duration != "once":
        sub.truth_discount = truth_discount(spec, at, discount["end"])
    elif sub.truth_discount is not None and sub.truth_discount.duration != "once":
        sub.truth_discount = None  # the replaced coupon stops; this one waits for an invoice
    if announce:
        engine.update_sub(sub, at, {"discounts": [discount["id"]]})
    else:
        sub.obj["discounts"] = [discount["id"]]


def change_item(engine: Engine, sub: Sub, at: int, index: int, new: Line, proration: str) -> None:
    """Give item ``index`` a new price and/or quantity, with Stripe's ``proration_behavior``.

    ``create_prorations`` puts the credit and charge lines on the next invoice,
    ``always_invoice`` bills them now, ``none`` changes silently (the truth lists the change as
    unobservable, as the presets' silent changes). No prorations while trialing.
    """
    price, new_truth = new
    old_item, old_truth = sub.items[index], sub.truth_items[index]
    metered = price["recurring"]["usage_type"] == "metered"
    quantity = None if metered else new_truth.quantity
    new_item = {**old_item, "price": price, "plan": plan_object(price), "quantity": quantity}
    sub.items = [*sub.items[:index], new_item, *sub.items[index + 1 :]]
    truths = list(sub.truth_items)
    truths[index] = new_truth
    sub.truth_items = tuple(truths)
    engine.sim.subscription_items[sub.id] = sub.items
    engine.update_sub(sub, at, {"items": nested_list(sub.items, sub.obj["items"]["url"])})
    if sub.status == "trialing":
        return
    if proration == "none":
        happening = Happening(sub.id, sub.customer["id"], at, "change_without_proration")
        engine.sim.ledger.unobservable.append(happening)
        return
    sub.pending += changes.prorations(engine, (old_item, old_truth), (new_item, new_truth), at)
    if proration == "always_invoice":
        changes.invoice_now(engine, sub, at)


def cancel_now(engine: Engine, sub: Sub, at: int, feedback: str | None) -> None:
    """The customer cancels at once: the truth records voluntary churn if it was paying."""
    endings.cancel(engine, sub, at, "cancellation_requested", feedback)


def cancel_later(engine: Engine, sub: Sub, at: int, feedback: str | None) -> None:
    """``cancel_at_period_end``: active until the period ends, churn on the request day."""
    endings.cancel_at_period_end(engine, sub, at, feedback)
