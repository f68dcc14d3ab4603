"""A new subscription: which plan, billing interval, seats and add-ons a signup picks.

Also the engine's bookkeeping records for a subscription (``Sub``) and for collecting one
invoice (``Collection``), kept beside the served dicts so the engine never has to read its own
decisions back out of the JSON it serves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sandbox.objects.account import AUTOMATIC_TAX_ON
from sandbox.objects.catalog import (
    ADDONS,
    API_CALLS,
    GUESTS,
    INTERVALS,
    PLANS,
    Catalog,
    ProductSpec,
    tiers_for,
    unit_amount,
)
from sandbox.objects.coupons import CouponSpec
from sandbox.objects.ids import IdFactory
from sandbox.objects.payments import Decline
from sandbox.objects.people import Person
from sandbox.objects.shared import Parts, nested_list
from sandbox.objects.subscriptions import subscription_item_object, subscription_object
from sandbox.sim.model import Obj
from sandbox.sim.presets import Preset
from sandbox.truth.ledger import TruthDiscount, TruthItem

ItemSpec = tuple[ProductSpec, int]  # (product, quantity; 0 for metered)


@dataclass(frozen=True, slots=True)
class PendingProration:
    """A proration waiting for the next invoice (Stripe's pending invoice item)."""

    item: Obj
    period: tuple[int, int]
    amount: int
    quantity: int
    description: str


@dataclass(slots=True)
class Sub:
    """The engine's own view of one subscription (the served dict is ``obj``)."""

    obj: Obj
    customer: Obj
    person: Person
    items: list[Obj]
    specs: list[ItemSpec]
    interval: str
    interval_count: int
    truth_items: tuple[TruthItem, ...] = ()
    status: str = "incomplete"
    anchor: int = 0
    period_index: int = 0
    coupon: CouponSpec | None = None
    discount_id: str | None = None
    truth_discount: TruthDiscount | None = None
    cancel_at: int | None = None
    has_card: bool = True
    reactivation: bool = False
    counted: bool = False  # has been in MRR at some point
    pending: list[PendingProration] = field(default_factory=list)
    parts: Parts = field(default_factory=Parts)  # nested values its objects share

    @property
    def id(self) -> str:
        return str(self.obj["id"])

    def reprice(self) -> None:
        """Recompute the truth's view of the items after the specs changed."""
        self.truth_items = tuple(
            truth_item(spec, qty, self.person.currency, self.interval, self.interval_count)
            for spec, qty in self.specs
        )


@dataclass(slots=True)
class Collection:
    """Collecting one invoice: its payment intent (shared by retries) and the last decline."""

    invoice: Obj
    sub: Sub
    payment_intent: str
    decline: Decline | None = None


def truth_item(spec: ProductSpec, qty: int, currency: str, interval: str, count: int) -> TruthItem:
    """The truth's record of one item, priced from the spec (never from the served JSON)."""
    tiers = tiers_for(spec, currency, interval, count) if spec.tiers_mode else ()
    return TruthItem(
        unit_amount(spec, currency, interval, count),
        qty,
        interval,
        count,
        spec.usage_type,
        tiers,
        spec.tiers_mode,
    )


def draw_specs(rng: random.Random, preset: Preset) -> list[ItemSpec]:
    """A plan with its seats, then add-ons: flat ones, guest seats, metered API calls."""
    plan = rng.choices(PLANS, weights=preset.plan_weights)[0]
    quantity = 1
    if plan.tiers_mode:
        quantity = rng.randint(3, preset.max_seats * 3)
    elif plan.per_seat:
        quantity = rng.randint(1, preset.max_seats)
    specs: list[ItemSpec] = [(plan, quantity)]
    specs += [(addon, 1) for addon in _draw_addons(rng, preset)]
    if rng.random() < preset.guests_share:
        specs.append((GUESTS, rng.randint(1, 30)))
    if rng.random() < preset.metered_share:
        specs.append((API_CALLS, 0))
    return specs


def new_subscription(
    rng: random.Random,
    ids: IdFactory,
    preset: Preset,
    catalog: Catalog,
    person: Person,
    customer: Obj,
    at: int,
) -> Sub:
    """A subscription to one plan plus add-ons, all on the same interval and currency."""
    interval, count = rng.choices(INTERVALS, weights=preset.interval_weights)[0]
    specs = draw_specs(rng, preset)
    obj = subscription_object(ids.new("sub"), customer, person.currency, at)
    if preset.account.tax.automatic_tax:
        obj["automatic_tax"] = AUTOMATIC_TAX_ON
    items = [
        subscription_item_object(
            ids, obj["id"], catalog.price_for[(spec.key, person.currency, interval, count)], q, at
        )
        for spec, q in specs
    ]
    obj["items"] = nested_list(items, obj["items"]["url"])
    sub = Sub(obj, customer, person, items, specs, interval, count)
    sub.reprice()
    return sub


def _draw_addons(rng: random.Random, preset: Preset) -> list[ProductSpec]:
    """Mostly none, sometimes one or two, rarely ten or more (exercises list truncation)."""
    roll = rng.random()
    if roll < preset.many_items_share:
        return rng.sample(ADDONS, rng.randint(10, 12))
    if roll < preset.many_items_share + preset.addon_share:
        return rng.sample(ADDONS, rng.randint(1, 2))
    return []
