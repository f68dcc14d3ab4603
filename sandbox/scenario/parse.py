"""Reading a scenario file: its settings and catalogue here, its timeline in
``timeline``; every problem becomes one ``ScenarioError`` naming file and place.

TOML (``tomllib``) or JSON, chosen by the file's suffix; both give the same tables, except that
JSON writes dates as strings (accepted everywhere TOML takes a date).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from sandbox.objects.catalog import Tier
from sandbox.objects.coupons import CouponSpec
from sandbox.scenario.fields import (
    Invalid,
    choice,
    currency,
    day,
    integer,
    listed,
    metadata,
    percent,
    table,
    text,
    time_of_day,
)
from sandbox.scenario.model import Dunning, PriceDef, ProductDef, Scenario, ScenarioError
from sandbox.scenario.setup import SECTIONS, parse_setup
from sandbox.scenario.timeline import parse_timeline

_TOP = ("scenario", "dunning", "products", "prices", "coupons", "timeline", *SECTIONS)
_SETTINGS = {
    "name": text,
    "description": text,
    "start": day,
    "until": day,
    "seed": integer(0),
    "currencies": listed(currency),
    "time_of_day": time_of_day,
}
# `retry_days = []`: retries off, a failed renewal ends dunning at once (as `exhausted` says)
_DUNNING = {
    "retry_days": listed(integer(1), at_least=0),
    "exhausted": choice("canceled", "unpaid"),
}
_PRODUCT = {"name": text, "description": text, "metadata": metadata}
_TIER = {"up_to": lambda v: v, "unit_amount": integer(0), "flat_amount": integer(0)}
_PRICE = {
    "product": text,
    "currency": currency,
    "unit_amount": integer(0),
    "interval": choice("day", "week", "month", "year"),
    "interval_count": integer(1),
    "usage_type": choice("licensed", "metered"),
    "tiers_mode": choice("graduated", "volume"),
    "tiers": listed(lambda v: table(v, _TIER, ("up_to",))),
    "nickname": text,
    "metadata": metadata,
}
_COUPON = {
    "duration": choice("once", "repeating", "forever"),
    "percent_off": percent,
    "amount_off": integer(1),
    "currency": currency,
    "duration_in_months": integer(1),
}


def read_scenario(path: Path) -> Scenario:
    """Parse and check the whole file (see ``docs/SANDBOX.md`` for the format)."""
    raw = _read(path)
    place = "top level"
    try:
        doc = table(raw, dict.fromkeys(_TOP, lambda v: v), ("scenario", "timeline"))
        place = "[scenario]"
        settings = table(doc["scenario"], _SETTINGS, ("name", "start", "until"))
        place = "[dunning]"
        dunning = Dunning(**_dunning(table(doc.get("dunning", {}), _DUNNING)))
    except Invalid as error:
        raise ScenarioError(path, place, str(error)) from None
    start, until = settings["start"], settings["until"]
    if until < start:
        raise ScenarioError(path, "[scenario]", f"until {until} is before start {start}")
    account = parse_setup(path, doc)
    products = _named(path, "products", doc.get("products", {}), _product)
    prices = _named(path, "prices", doc.get("prices", {}), _price)
    coupons = _named(path, "coupons", doc.get("coupons", {}), _coupon)
    _check_products(path, prices, products)
    currencies = settings.get("currencies") or _currencies_of(prices)
    undeclared = sorted({p.currency for p in prices.values()} - set(currencies))
    if undeclared:
        problem = f"prices use {undeclared[0]!r}, which is not in currencies"
        raise ScenarioError(path, "[scenario]", problem)
    timeline, groups = parse_timeline(
        path, doc["timeline"], (start, settings.get("time_of_day", 12 * 3_600)),
        prices, coupons, tuple(currencies),
    )  # fmt: skip
    return Scenario(
        path, settings["name"], settings.get("description", ""), start, until,
        settings.get("seed", 0), tuple(currencies), dunning, products, prices, coupons,
        timeline, groups, account,
    )  # fmt: skip


def _read(path: Path) -> Any:
    try:
        content = path.read_bytes()
    except OSError as error:
        raise ScenarioError(path, "file", f"cannot read it ({error.strerror})") from None
    try:
        if path.suffix == ".json":
            return json.loads(content)
        return tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        kind = "json" if path.suffix == ".json" else "toml"
        raise ScenarioError(path, "file", f"not valid {kind}: {error}") from None


def _named(path: Path, section: str, raw: Any, build: Any) -> dict[str, Any]:
    """A section of tables keyed by symbolic name, each checked by ``build(name, value)``."""
    if not isinstance(raw, dict):
        raise ScenarioError(path, f"[{section}]", "expected tables keyed by name")
    built = {}
    for name, value in raw.items():
        try:
            built[name] = build(name, value)
        except Invalid as error:
            raise ScenarioError(path, f"{section}.{name}", str(error)) from None
    return built


def _dunning(settings: dict[str, Any]) -> dict[str, Any]:
    if "retry_days" in settings:
        settings["retry_days"] = tuple(settings["retry_days"])
    return settings


def _product(name: str, value: Any) -> ProductDef:
    fields = table(value, _PRODUCT)
    return ProductDef(
        name, fields.get("name", name), fields.get("description"), fields.get("metadata", {})
    )


def _price(name: str, value: Any) -> PriceDef:
    """A price; exactly one of ``unit_amount`` and ``tiers`` (with ``tiers_mode``)."""
    fields = table(value, _PRICE, ("product", "currency", "interval"))
    if ("unit_amount" in fields) == ("tiers" in fields):
        raise Invalid("give exactly one of unit_amount and tiers")
    if ("tiers" in fields) != ("tiers_mode" in fields):
        raise Invalid("tiers and tiers_mode go together")
    usage = fields.get("usage_type", "licensed")
    if usage == "metered" and "tiers" in fields:
        raise Invalid("a metered price takes a unit_amount (per unit of usage), not tiers")
    tiers = _tiers(fields["tiers"]) if "tiers" in fields else ()
    return PriceDef(
        name, fields["product"], fields["currency"], fields.get("unit_amount"),
        fields["interval"], fields.get("interval_count", 1), usage,
        fields.get("tiers_mode"), tiers, fields.get("nickname"), fields.get("metadata", {}),
    )  # fmt: skip


def _tiers(raw: tuple[dict[str, Any], ...]) -> tuple[Tier, ...]:
    """Stripe's tiers: ascending ``up_to``, the last one ``"inf"``."""
    tiers: list[Tier] = []
    for position, tier in enumerate(raw):
        last = position == len(raw) - 1
        up_to = tier["up_to"]
        if last != (up_to == "inf"):
            raise Invalid(f'tiers[{position}]: only the last tier has up_to = "inf"')
        if not last and (isinstance(up_to, bool) or not isinstance(up_to, int) or up_to < 1):
            raise Invalid(f'tiers[{position}]: up_to must be a positive integer or "inf"')
        if not last and tiers and tiers[-1][0] is not None and up_to <= (tiers[-1][0] or 0):
            raise Invalid(f"tiers[{position}]: up_to must grow from tier to tier")
        bound = None if last else int(up_to)
        tiers.append((bound, tier.get("unit_amount", 0), tier.get("flat_amount", 0)))
    return tuple(tiers)


def _coupon(name: str, value: Any) -> CouponSpec:
    """A coupon (its id is its name); percent or amount off, months only for repeating."""
    fields = table(value, _COUPON, ("duration",))
    if ("percent_off" in fields) == ("amount_off" in fields):
        raise Invalid("give exactly one of percent_off and amount_off")
    if ("amount_off" in fields) != ("currency" in fields):
        raise Invalid("amount_off needs a currency (and a currency needs amount_off)")
    repeating = fields["duration"] == "repeating"
    if repeating != ("duration_in_months" in fields):
        raise Invalid("duration_in_months is required for repeating coupons and only for them")
    return CouponSpec(
        name, fields["duration"], fields.get("percent_off"), fields.get("amount_off"),
        fields.get("currency"), fields.get("duration_in_months"),
    )  # fmt: skip


def _check_products(path: Path, prices: dict[str, PriceDef], products: dict[str, Any]) -> None:
    for price in prices.values():
        if price.product not in products:
            problem = f"product {price.product!r} is not defined in [products]"
            raise ScenarioError(path, f"prices.{price.key}", problem)


def _currencies_of(prices: dict[str, PriceDef]) -> list[str]:
    """The prices' currencies in order of first appearance (usd if there are no prices)."""
    seen = list(dict.fromkeys(p.currency for p in prices.values()))
    return seen or ["usd"]
