"""The simulated business's catalogue: products, prices and the currencies they are sold in.

Amounts are kept in integer minor units, like Stripe: cents for usd/eur/gbp, whole yen for jpy
(a zero-decimal currency). Prices of every currency and interval derive from one usd monthly
list so that adding a currency to a preset is one table row, not a new price list. Every
product is priced weekly, monthly, quarterly (``interval_count`` 3) and yearly, because Stripe
requires all items of one subscription to share an interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.objects.ids import IdFactory

# minor units per major unit; jpy is zero-decimal (amounts are whole yen)
# (interval, interval_count) a price may bill at, in the order of ``Preset.interval_weights``
INTERVALS: tuple[tuple[str, int], ...] = (("week", 1), ("month", 1), ("month", 3), ("year", 1))
MINOR_UNITS: dict[str, int] = {"usd": 100, "eur": 100, "gbp": 100, "jpy": 1}
# usd cents -> this currency's minor units, then rounded to a "price-looking" step
_FROM_USD: dict[str, tuple[float, int]] = {
    "usd": (1.0, 100),
    "eur": (0.92, 100),
    "gbp": (0.8, 100),
    "jpy": (1.5, 10),
}
ANNUAL_MONTHS_BILLED = 10  # an annual price costs ten months: two months free
QUARTER_DISCOUNT = 0.95  # a quarterly price costs 5% less than three months
Tier = tuple[int | None, int, int]  # (up_to or None for the last tier, unit_amount, flat_amount)


@dataclass(frozen=True)
class ProductSpec:
    """A product line: a plan (one per subscription) or an add-on (zero or more)."""

    key: str
    name: str
    usd_monthly: int
    kind: str  # "plan" or "addon"
    per_seat: bool = False
    tiers_mode: str | None = None  # "graduated" or "volume" for tiered prices
    tiers: tuple[Tier, ...] = ()  # usd monthly cents
    usage_type: str = "licensed"


PLANS: tuple[ProductSpec, ...] = (
    ProductSpec("starter", "Starter", 2_900, "plan"),
    ProductSpec("team", "Team", 1_500, "plan", per_seat=True),
    ProductSpec("business", "Business", 49_900, "plan"),
    ProductSpec(
        "scale",
        "Scale",
        0,
        "plan",
        per_seat=True,
        tiers_mode="graduated",
        tiers=((10, 2_000, 5_000), (50, 1_500, 0), (None, 1_000, 0)),
    ),
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
GUESTS = ProductSpec(
    "guests",
    "Guest seats",
    0,
    "addon",
    per_seat=True,
    tiers_mode="volume",
    tiers=((5, 800, 0), (20, 600, 0), (None, 400, 0)),
)
API_CALLS = ProductSpec("api_calls", "API calls (per 1,000)", 50, "addon", usage_type="metered")
ALL_PRODUCTS: tuple[ProductSpec, ...] = (*PLANS, *ADDONS, GUESTS, API_CALLS)
PriceKey = tuple[str, str, str, int]  # (product key, currency, interval, interval_count)


def convert(usd_monthly: int, currency: str, interval: str, count: int, *, step: bool) -> int:
    """A usd monthly amount in ``currency`` per ``count`` ``interval``s (minor units)."""
    factor, rounding = _FROM_USD[currency]
    if step and usd_monthly:
        monthly = max(rounding, round(usd_monthly * factor / rounding) * rounding)
    else:
        monthly = round(usd_monthly * factor)
    if interval == "week":
        return round(monthly * 12 / 52) * count
    if interval == "year":
        return monthly * ANNUAL_MONTHS_BILLED * count
    return round(monthly * count * (QUARTER_DISCOUNT if count == 3 else 1))


def unit_amount(spec: ProductSpec, currency: str, interval: str, count: int = 1) -> int:
    """The price of one unit of ``spec`` per billing period in ``currency``'s minor units."""
    if spec.usage_type == "metered":  # per unit of usage, whatever the interval
        return convert(spec.usd_monthly, currency, "month", 1, step=False)
    return convert(spec.usd_monthly, currency, interval, count, step=True)


def tiers_for(spec: ProductSpec, currency: str, interval: str, count: int) -> tuple[Tier, ...]:
    """The spec's tiers converted like any price (units and flat fees alike)."""
    return tuple(
        (
            up_to,
            convert(unit, currency, interval, count, step=False),
            convert(flat, currency, interval, count, step=False),
        )
        for up_to, unit, flat in spec.tiers
    )


def tiered_amount(tiers: tuple[Tier, ...], mode: str, quantity: int) -> int:
    """What ``quantity`` units cost for one period under Stripe's tier rules.

    graduated: each tier bills the units that fall in it (plus its flat fee if any unit does);
    volume: the tier the whole quantity falls in bills every unit (plus its flat fee).
    """
    if mode == "volume":
        for up_to, unit, flat in tiers:
            if up_to is None or quantity <= up_to:
                return quantity * unit + flat
        raise ValueError("tiers must end with an open tier")
    total, below = 0, 0
    for up_to, unit, flat in tiers:
        units = (quantity if up_to is None else min(quantity, up_to)) - below
        if units <= 0:
            break
        total += units * unit + flat
        below += units
    return total


@dataclass
class Catalog:
    """Served product and price objects plus the lookups the simulation needs."""

    products: dict[str, dict[str, Any]]
    prices: dict[str, dict[str, Any]]
    price_for: dict[PriceKey, dict[str, Any]]
    product_for: dict[str, dict[str, Any]]


def build_catalog(
    ids: IdFactory,
    currencies: tuple[str, ...],
    created: int,
    intervals: tuple[tuple[str, int], ...] = INTERVALS,
) -> Catalog:
    """Create every product with a price per interval (of those offered) in each currency."""
    catalog = Catalog({}, {}, {}, {})
    for offset, spec in enumerate(ALL_PRODUCTS):
        product = product_object(ids, spec, created + offset)
        catalog.products[product["id"]] = product
        catalog.product_for[spec.key] = product
        for currency in currencies:
            for interval, count in intervals:
                price = _price(ids, spec, product, (currency, interval, count), created + offset)
                catalog.prices[price["id"]] = price
                catalog.price_for[(spec.key, currency, interval, count)] = price
        product["default_price"] = catalog.price_for[(spec.key, currencies[0], "month", 1)]["id"]
    return catalog


def product_object(ids: IdFactory, spec: ProductSpec, created: int) -> dict[str, Any]:
    """The served ``product`` for ``spec`` (its prices are built separately)."""
    return product_json(
        ids.new("prod"),
        spec.name,
        f"{spec.name} ({'plan' if spec.kind == 'plan' else 'add-on'})",
        {"sandbox_key": spec.key, "kind": spec.kind},
        "seat" if spec.per_seat else None,
        created,
    )


def product_json(
    product_id: str,
    name: str,
    description: str | None,
    metadata: dict[str, Any],
    unit_label: str | None,
    created: int,
) -> dict[str, Any]:
    """A served ``product``: the one builder behind the presets' and scenario files' products."""
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": created,
        "default_price": None,
        "description": description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata,
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": unit_label,
        "updated": created,
        "url": None,
    }


def _price(
    ids: IdFactory,
    spec: ProductSpec,
    product: dict[str, Any],
    key: tuple[str, str, int],
    created: int,
) -> dict[str, Any]:
    currency, interval, count = key
    price_id = ids.new("price")
    mode = spec.tiers_mode
    tiers = None if mode is None else (mode, tiers_for(spec, currency, interval, count))
    every = f"every {count} {interval}s" if count > 1 else f"{interval}ly"
    return price_json(
        price_id,
        product["id"],
        currency,
        (interval, count, spec.usage_type),
        created,
        unit_amount=None if tiers else unit_amount(spec, currency, interval, count),
        tiers=tiers,
        lookup_key=f"{spec.key}_{interval}{count}_{currency}",
        nickname=f"{spec.name} {every} ({currency.upper()})",
        metadata={},
    )


def price_json(
    price_id: str,
    product_id: str,
    currency: str,
    recurring: tuple[str, int, str],
    created: int,
    *,
    unit_amount: int | None,
    tiers: tuple[str, tuple[Tier, ...]] | None,
    lookup_key: str,
    nickname: str,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """A served recurring ``price``: the one builder behind the presets' and scenario files'.

    ``recurring`` is (interval, interval_count, usage_type); ``tiers`` (mode, tiers) makes it
    tiered. Stripe includes ``tiers`` only when expanded; the sandbox always does.
    """
    interval, count, usage_type = recurring
    price: dict[str, Any] = {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "tiered" if tiers is not None else "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": metadata,
        "nickname": nickname,
        "product": product_id,
        "recurring": {
            "interval": interval,
            "interval_count": count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": usage_type,
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None if tiers is None else tiers[0],
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
    }
    if tiers is not None:
        price["tiers"] = [_tier(t) for t in tiers[1]]
    return price


def _tier(tier: Tier) -> dict[str, Any]:
    up_to, unit, flat = tier
    return {
        "flat_amount": flat,
        "flat_amount_decimal": str(flat),
        "unit_amount": unit,
        "unit_amount_decimal": str(unit),
        "up_to": up_to,
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
        "tiers_mode": price["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": recurring["usage_type"],
    }


def usd_cents(amount: int, currency: str) -> int:
    """Roughly what an amount in ``currency`` is worth in usd cents (for amount bands)."""
    return round(amount / _FROM_USD[currency][0])
