"""Deleting catalogue objects as Stripe does: products without prices, retired coupons.

What Stripe allows, and what follows:
- **a product** can be deleted only while it has no prices, so the priced catalogue never is:
  draft products (created, never priced) are, days later.
- **a coupon**: no new redemptions; discounts already applied carry on and keep its id.
- **a customer**: see ``endings`` (deleting one cancels its subscriptions; it may follow their
  end).

A deleted object leaves its list and ``Simulation.deleted`` keeps its last state, which is what
its ``*.deleted`` event carries (``Engine.gone``). Retrieving a deleted customer (or expanding
one) gives Stripe's stub ``{"id", "object", "deleted": true}``; Stripe says only customers "can
still be retrieved", so a deleted product or coupon is a 404. Customer deletions draw from
``engine.deleting``, a stream of their own: rates of 0 draw nothing and leave the business
exactly as without them.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from sandbox.objects.catalog import ProductSpec, product_object
from sandbox.objects.clock import DAY_SECONDS
from sandbox.sim.model import Obj

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine

YEAR_SECONDS = 365 * DAY_SECONDS
_DRAFT = ProductSpec("draft", "Draft product", 0, "addon")


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
        engine.gone("product.deleted", product, at)


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
        engine.gone("coupon.deleted", coupon, at)
