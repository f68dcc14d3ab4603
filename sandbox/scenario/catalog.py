"""A scenario's catalogue and people as served objects: products, prices, coupons, cards.

The presets derive every price from one usd list (``sandbox.objects.catalog``); a scenario
states each price exactly, so its served objects are built here from the file's definitions, in
the same shapes, with the symbolic name kept in ``metadata.scenario_name`` (and a price's
``lookup_key``) so a test or a person reading the API can tell which object is which.
"""

from __future__ import annotations

from typing import Any

from sandbox.objects.catalog import Catalog, price_json, product_json
from sandbox.objects.ids import IdFactory
from sandbox.objects.people import Card, Person
from sandbox.scenario.model import PriceDef, ProductDef
from sandbox.truth.ledger import TruthItem

Obj = dict[str, Any]
HOME_COUNTRY = {"usd": "US", "eur": "DE", "gbp": "GB", "jpy": "JP"}


def build_catalog(
    ids: IdFactory, products: dict[str, ProductDef], prices: dict[str, PriceDef], created: int
) -> Catalog:
    """Served products and prices, keyed by id (``product_for`` maps names to products)."""
    catalog = Catalog({}, {}, {}, {})
    for product in products.values():
        obj = _product(ids.new("prod"), product, created)
        catalog.products[obj["id"]] = obj
        catalog.product_for[product.key] = obj
    for price in prices.values():
        owner = catalog.product_for[price.product]
        obj = _price(ids.new("price"), price, owner["id"], created)
        catalog.prices[obj["id"]] = obj
        if owner["default_price"] is None:
            owner["default_price"] = obj["id"]
    return catalog


def _product(product_id: str, product: ProductDef, created: int) -> Obj:
    metadata = {"scenario_name": product.key, **product.metadata}
    return product_json(product_id, product.name, product.description, metadata, None, created)


def _price(price_id: str, price: PriceDef, product: str, created: int) -> Obj:
    return price_json(
        price_id,
        product,
        price.currency,
        (price.interval, price.interval_count, price.usage_type),
        created,
        unit_amount=price.unit_amount,
        tiers=(price.tiers_mode, price.tiers) if price.tiers_mode else None,
        lookup_key=price.key,
        nickname=price.key if price.nickname is None else price.nickname,
        metadata={"scenario_name": price.key, **price.metadata},
    )


def truth_item(price: PriceDef, quantity: int) -> TruthItem:
    """How the truth values ``quantity`` of ``price`` (metered: quantity 0, outside MRR)."""
    return TruthItem(
        price.unit_amount or 0,
        0 if price.usage_type == "metered" else quantity,
        price.interval,
        price.interval_count,
        price.usage_type,
        price.tiers,
        price.tiers_mode,
    )


def person(ids: IdFactory, fields: dict[str, Any], name: str, currency: str, year: int) -> Person:
    """A customer's details and card from ``create_customer``'s fields, with defaults."""
    card = fields.get("card") or {}
    country = card.get("country", HOME_COUNTRY[currency])
    payment = Card(
        payment_method=ids.new("pm"),
        brand=card.get("brand", "visa"),
        country=country,
        funding=card.get("funding", "credit"),
        last4=card.get("last4", "4242"),
        exp_month=12,
        exp_year=year + 3,
        fingerprint=ids.new("fp")[3:],
    )
    display = fields.get("name", name.replace("_", " ").title())
    email = fields.get("email", f"{name}@example.com")
    return Person(display, email, country, currency, 1.0, payment)
