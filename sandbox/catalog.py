"""The simulated business's catalogue: products, prices and the currencies they are sold in.

Amounts are kept in integer minor units, like Stripe: cents for usd/eur/gbp, whole yen for jpy
(a zero-decimal currency). Prices of every currency derive from one usd list so that adding a
currency to a preset is one table row, not a new price list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.ids import IdFactory

# minor units per major unit; jpy is zero-decimal (amounts are whole yen)
MINOR_UNITS: dict[str, int] = {"usd": 100, "eur": 100, "gbp": 100, "jpy": 1}
# usd cents -> this currency's minor units, then rounded to a "price-looking" step
_FROM_USD: dict[str, tuple[float, int]] = {
    "usd": (1.0, 100),
    "eur": (0.92, 100),
    "gbp": (0.8, 100),
    "jpy": (1.5, 10),
}
ANNUAL_MONTHS_BILLED = 10  # an annual price costs ten months: two months free


@dataclass(frozen=True)
class ProductSpec:
    """A product line: a plan (one per subscription) or an add-on (zero or more)."""

    key: str
    name: str
    usd_monthly: int
    kind: str  # "plan" or "addon"
    per_seat: bool = False


PLANS: tuple[ProductSpec, ...] = (
    ProductSpec("starter", "Starter", 2_900, "plan"),
    ProductSpec("team", "Team", 1_500, "plan", per_seat=True),
    ProductSpec("business", "Business", 49_900, "plan"),
)
ADDONS: tuple[ProductSpec, ...] = tuple(
    ProductSpec(key, name, amount, "addon")
    for key, name, amount in (
        ("storage", "Extra storage", 500),
        ("sso", "Single sign-on", 9_900),
        ("audit", "Audit log", 1_900),
        ("api", "API access", 2_500),
        ("support", "Priority support", 19_900),
        ("analytics", "Advanced analytics", 3_900),
        ("backup", "Daily backups", 900),
        ("branding", "Custom branding", 1_200),
        ("domains", "Custom domains", 700),
        ("exports", "Scheduled exports", 1_500),
        ("sandbox", "Staging workspace", 2_900),
        ("compliance", "Compliance pack", 4_900),
    )
)


def unit_amount(spec: ProductSpec, currency: str, interval: str) -> int:
    """The price of one unit of ``spec`` per ``interval`` in ``currency``'s minor units."""
    factor, step = _FROM_USD[currency]
    monthly = max(step, round(spec.usd_monthly * factor / step) * step)
    return monthly * ANNUAL_MONTHS_BILLED if interval == "year" else monthly


@dataclass
class Catalog:
    """Served product and price objects plus the lookups the simulation needs."""

    products: dict[str, dict[str, Any]]
    prices: dict[str, dict[str, Any]]
    # (product key, currency, interval) -> price object
    price_for: dict[tuple[str, str, str], dict[str, Any]]
    # product key -> product object
    product_for: dict[str, dict[str, Any]]


def build_catalog(ids: IdFactory, currencies: tuple[str, ...], created: int) -> Catalog:
    """Create every product with a monthly and an annual price in each currency."""
    catalog = Catalog({}, {}, {}, {})
    for offset, spec in enumerate(PLANS + ADDONS):
        product = _product(ids, spec, created + offset)
        catalog.products[product["id"]] = product
        catalog.product_for[spec.key] = product
        for currency in currencies:
            for interval in ("month", "year"):
                price = _price(ids, spec, product, currency, interval, created + offset)
                catalog.prices[price["id"]] = price
                catalog.price_for[(spec.key, currency, interval)] = price
        product["default_price"] = catalog.price_for[(spec.key, currencies[0], "month")]["id"]
    return catalog


def _product(ids: IdFactory, spec: ProductSpec, created: int) -> dict[str, Any]:
    return {
        "id": ids.new("prod"),
        "object": "product",
        "active": True,
        "created": created,
        "default_price": None,
        "description": f"{spec.name} ({'plan' if spec.kind == 'plan' else 'add-on'})",
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {"sandbox_key": spec.key, "kind": spec.kind},
        "name": spec.name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": "seat" if spec.per_seat else None,
        "updated": created,
        "url": None,
    }


def _price(
    ids: IdFactory,
    spec: ProductSpec,
    product: dict[str, Any],
    currency: str,
    interval: str,
    created: int,
) -> dict[str, Any]:
    amount = unit_amount(spec, currency, interval)
    return {
        "id": ids.new("price"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": f"{spec.key}_{interval}_{currency}",
        "metadata": {},
        "nickname": f"{spec.name} {interval}ly ({currency.upper()})",
        "product": product["id"],
        "recurring": {
            "interval": interval,
            "interval_count": 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }


def plan_object(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view of a price that Stripe still embeds in subscription items."""
    recurring = price["recurring"]
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": recurring["usage_type"],
    }
