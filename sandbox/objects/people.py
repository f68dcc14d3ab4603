"""Customers and their cards: who signs up, from where, paying with what.

Card country drives the currency a customer pays in and how often their cards decline, so the
payment breakdowns by brand and country that paylens shows have a real pattern to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sandbox.objects.ids import IdFactory

# country -> (weight, currency it pays in, decline-rate multiplier)
COUNTRIES: dict[str, tuple[float, str, float]] = {
    "US": (40, "usd", 0.8),
    "GB": (10, "gbp", 1.0),
    "DE": (12, "eur", 0.7),
    "FR": (10, "eur", 0.9),
    "NL": (5, "eur", 0.7),
    "CA": (6, "usd", 0.9),
    "BR": (9, "usd", 2.4),
    "IN": (8, "usd", 2.0),
    "JP": (6, "jpy", 0.6),
}
_COUNTRY_NAMES = list(COUNTRIES)
_COUNTRY_WEIGHTS = [c[0] for c in COUNTRIES.values()]
BRANDS: tuple[tuple[str, float], ...] = (("visa", 55), ("mastercard", 30), ("amex", 15))
_FIRST = ("Blue", "North", "Bright", "Silver", "Quiet", "Red", "Swift", "Open", "Clear", "Iron")
_SECOND = ("Harbor", "Pine", "Field", "Stone", "River", "Cloud", "Forge", "Leaf", "Peak", "Bay")
_SUFFIX = ("Labs", "Studio", "GmbH", "Ltd", "Inc", "Co", "Systems", "Works")


@dataclass(frozen=True, slots=True)
class Card:
    """The one card a customer pays with (the simulation never changes it)."""

    payment_method: str
    brand: str
    country: str
    funding: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Person:
    """A signing-up customer before it becomes a served ``customer`` object."""

    name: str
    email: str
    country: str
    currency: str
    decline_multiplier: float
    card: Card


def draw_person(
    rng: random.Random, ids: IdFactory, number: int, currencies: tuple[str, ...], year: int
) -> Person:
    """A new customer; their currency falls back to the preset's first one if not offered."""
    country = rng.choices(_COUNTRY_NAMES, weights=_COUNTRY_WEIGHTS)[0]
    _, currency, multiplier = COUNTRIES[country]
    if currency not in currencies:
        currency = currencies[0]
    name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX)}"
    slug = name.lower().replace(" ", "")
    card = Card(
        payment_method=ids.new("pm"),
        brand=rng.choices([b for b, _ in BRANDS], weights=[w for _, w in BRANDS])[0],
        country=country,
        funding="credit" if rng.random() < 0.65 else "debit",
        last4=f"{rng.randrange(10_000):04d}",
        exp_month=rng.randint(1, 12),
        exp_year=year + rng.randint(1, 5),
        fingerprint=ids.new("fp")[3:],
    )
    return Person(name, f"billing+{number}@{slug}.example", country, currency, multiplier, card)


def customer_object(ids: IdFactory, person: Person, created: int) -> dict[str, Any]:
    """The served ``customer`` for ``person`` (currency is set once it subscribes, like Stripe)."""
    return {
        "id": ids.new("cus"),
        "object": "customer",
        "address": {
            "city": None,
            "country": person.country,
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "balance": 0,
        "created": created,
        "currency": person.currency,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": person.email,
        "invoice_prefix": ids.hex_token(8),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": person.card.payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": person.name,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
