"""Deleting objects as Stripe does: customers, products without prices, retired coupons.

What Stripe allows, and what follows:
- **a customer**: deleting it "immediately cancels any active subscriptions", each with its own
  ``customer.subscription.deleted`` (reason ``cancellation_requested``, so a subscription that
  was in MRR is voluntary churn in the truth); its subscriptions, invoices and charges stay
  served. Here a customer is deleted some days after its last subscription ended (an abandoned
  trial, a churner's data erased) or, more rarely, while still subscribed (an account closed);
  one with a cancellation at period end on its way is left alone.
- **a product** can be deleted only while it has no prices, so the priced catalogue never is:
  draft products (created, never priced) are, days later.
- **a coupon**: no new redemptions; discounts already applied carry on and keep its id.

A deleted object leaves its list and ``Simulation.deleted`` keeps its last state, which is what
its ``*.deleted`` event carries. Retrieving a deleted customer (or expanding one) gives Stripe's
stub ``{"id", "object", "deleted": true}``; Stripe says only customers "can still be retrieved",
so a deleted product or coupon is a 404. Choices draw from ``engine.deleting``, a stream of
their own: rates of 0 draw nothing and leave the business exactly as without this module.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from sandbox import endings
from sandbox.catalog import ProductSpec, product_object
from sandbox.clock import DAY_SECONDS
from sandbox.model import Deletion, Obj

if TYPE_CHECKING:
    from sandbox.engine import Engine
    from sandbox.subscriptions import Sub

YEAR_SECONDS = 365 * DAY_SECONDS
LIVE = frozenset({"active", "past_due", "trialing", "paused"})  # its customer stays
_DRAFT = ProductSpec("draft", "Draft product", 0, "addon")


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
        endings.cancel(engine, sub, at, "cancellation_requested", None, aftermath=False)
    del sim.customers[customer["id"]]
    _gone(engine, "customer.deleted", customer, at)


def start_drafts(engine: Engine, first: int) -> None:
    """Queue the first draft product of a Poisson process at the preset's yearly rate.

    Drafts draw from a stream of their own (not ``engine.deleting``), so when they happen does
    not depend on how the business went.
    """
    if engine.preset.draft_products_per_year > 0:
        rng = random.Random(f"drafts:{engine.sim.seed}")
        engine.schedule(_next_draft(engine, rng, first), _draft, rng)


def _next_draft(engine: Engine, rng: random.Random, at: int) -> int:
    rate = engine.preset.draft_products_per_year / YEAR_SECONDS
    return at + max(1, int(rng.expovariate(rate)))


def _draft(engine: Engine, at: int, rng: random.Random) -> None:
    """A product created and never priced, deleted 1-21 days later; queues the next one."""
    product = product_object(engine.ids, _DRAFT, at)
    product.update(
        name=f"Draft {product['id'][-4:]}",
        description="Draft (never priced)",
        metadata={"kind": "draft"},
    )
    engine.sim.products[product["id"]] = product
    engine.events.emit("product.created", product, at)
    later = at + rng.randint(1, 21) * DAY_SECONDS + rng.randint(0, DAY_SECONDS - 1)
    engine.schedule(later, _delete_product, product)
    engine.schedule(_next_draft(engine, rng, at), _draft, rng)


def _delete_product(engine: Engine, at: int, product: Obj) -> None:
    if product.get("default_price") is not None:  # priced: Stripe refuses
        return
    if engine.sim.products.pop(product["id"], None) is product:
        _gone(engine, "product.deleted", product, at)


def retire_coupons(engine: Engine, end: int) -> None:
    """Queue the deletion of each of the preset's retired coupons, days before ``end``."""
    for code, days in engine.preset.retired_coupons:
        coupon = engine.sim.coupons.get(code)
        at = end - days * DAY_SECONDS
        if coupon is not None and at > coupon["created"]:
            engine.schedule(at, _delete_coupon, coupon)


def _delete_coupon(engine: Engine, at: int, coupon: Obj) -> None:
    if engine.sim.coupons.get(coupon["id"]) is coupon:
        del engine.sim.coupons[coupon["id"]]
        _gone(engine, "coupon.deleted", coupon, at)


def _gone(engine: Engine, event_type: str, obj: Obj, at: int) -> None:
    engine.sim.deleted[obj["id"]] = Deletion(obj, at)
    engine.events.emit(event_type, obj, at)
