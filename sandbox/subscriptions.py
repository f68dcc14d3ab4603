"""A new subscription: which plan, billing interval, seats and add-ons a signup picks.

Also the engine's bookkeeping records for a subscription (``Sub``) and for collecting one
invoice (``Collection``), kept beside the served dicts so the engine never has to read its own
decisions back out of the JSON it serves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.billing import nested_list, subscription_item_object, subscription_object
from sandbox.catalog import ADDONS, PLANS, Catalog, ProductSpec, unit_amount
from sandbox.ids import IdFactory
from sandbox.model import Obj
from sandbox.payments import Decline
from sandbox.people import Person
from sandbox.presets import Preset
from sandbox.truth import TruthItem


@dataclass(slots=True)
class Sub:
    """The engine's own view of one subscription (the served dict is ``obj``)."""

    obj: Obj
    customer: Obj
    person: Person
    items: list[Obj]
    interval: str
    truth_items: tuple[TruthItem, ...]
    status: str = "incomplete"
    anchor: int = 0
    period_index: int = 0


@dataclass(slots=True)
class Collection:
    """Collecting one invoice: its payment intent (shared by retries) and the last decline."""

    invoice: Obj
    sub: Sub
    payment_intent: str
    decline: Decline | None = None


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
    currency = person.currency
    plan = rng.choices(PLANS, weights=preset.plan_weights)[0]
    interval = "year" if rng.random() < preset.annual_share else "month"
    quantity = rng.randint(1, preset.max_seats) if plan.per_seat else 1
    specs: list[tuple[ProductSpec, int]] = [(plan, quantity)]
    specs += [(addon, 1) for addon in _draw_addons(rng, preset)]
    obj = subscription_object(ids.new("sub"), customer, currency, at)
    items = [
        subscription_item_object(
            ids, obj["id"], catalog.price_for[(spec.key, currency, interval)], qty, at
        )
        for spec, qty in specs
    ]
    obj["items"] = nested_list(items, obj["items"]["url"])
    truth_items = tuple(
        TruthItem(unit_amount(spec, currency, interval), qty, interval, 1) for spec, qty in specs
    )
    return Sub(obj, customer, person, items, interval, truth_items)


def _draw_addons(rng: random.Random, preset: Preset) -> list[ProductSpec]:
    """Mostly none, sometimes one or two, rarely ten or more (exercises list truncation)."""
    roll = rng.random()
    if roll < preset.many_items_share:
        return rng.sample(ADDONS, rng.randint(10, 12))
    if roll < preset.many_items_share + preset.addon_share:
        return rng.sample(ADDONS, rng.randint(1, 2))
    return []
