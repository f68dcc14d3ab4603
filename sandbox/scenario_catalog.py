"""A scenario's catalogue and people as served objects: products, prices, coupons, cards.

The presets derive every price from one usd list (``sandbox.catalog``); a scenario states each
price exactly, so its served objects are built here from the file's definitions, in the same
shapes, with the symbolic name kept in ``metadata.scenario_name`` (and a price's
``lookup_key``) so a test or a person reading the API can tell which object is which.
"""

from __future__ import annotations

from typing import Any

from sandbox.catalog import Catalog
from sandbox.ids import IdFactory
from sandbox.people import Card, Person
from sandbox.scenario_model import PriceDef, ProductDef
from sandbox.truth import TruthItem

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
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": created,
        "default_price": None,
        "description": product.description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {"scenario_name": product.key, **product.metadata},
        "name": product.name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": created,
        "url": None,
    }


def _price(price_id: str, price: PriceDef, product: str, created: int) -> Obj:
    amount = price.unit_amount
    obj: Obj = {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "tiered" if price.tiers_mode else "per_unit",
        "created": created,
        "currency": price.currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": price.key,
        "metadata": {"scenario_name": price.key, **price.metadata},
        "nickname": price.key if price.nickname is None else price.nickname,
        "product": product,
        "recurring": {
            "interval": price.interval,
            "interval_count": price.interval_count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": price.usage_type,
        },
        "tax_behavior": "unspecified",
        "tiers_mode": price.tiers_mode,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": None if amount is None else str(amount),
    }
    if price.tiers_mode:  # like the presets, tiers are always included (Stripe: when expanded)
        obj["tiers"] = [
            {
                "flat_amount": flat,
                "flat_amount_decimal": str(flat),
                "unit_amount": unit,
                "unit_amount_decimal": str(unit),
                "up_to": up_to,
            }
            for up_to, unit, flat in price.tiers
        ]
    return obj


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
