"""The timeline of a scenario file: each operation's keys, and the references between them.

Operations run in file order, so their times may not go backwards, and none comes before the
first day; one after the last day (``until``) is a *live* entry, left queued for the live clock
(``sandbox.scenario.live_entries``). A name must be defined by
an earlier operation (``create_customer``, ``subscribe``) before another one uses it, and what
can be known without running the business is checked here: currencies and intervals of a
subscription's prices agree, a change names a price the subscription has, a subscription is
not cancelled twice. What depends on the simulation itself (a subscription that dunning
already ended) is checked when the operation runs.

``count = N`` on ``create_customer`` makes a group: customers ``<name>_1`` … ``<name>_N``; an
operation naming the group applies to every member, and ``subscribe`` on a customer group
makes a subscription group the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.objects.clock import day_start, iso_time
from sandbox.objects.coupons import CouponSpec
from sandbox.objects.disputes import REASONS
from sandbox.objects.payments import DECLINE_CODES
from sandbox.scenario.fields import (
    Checker,
    Invalid,
    boolean,
    choice,
    currency,
    integer,
    listed,
    metadata,
    moment,
    table,
    text,
)
from sandbox.scenario.model import Operation, PriceDef, ScenarioError
from sandbox.sim.endings import FEEDBACK

_CARD = {
    "brand": choice("visa", "mastercard", "amex"),
    "country": text,
    "funding": choice("credit", "debit"),
    "last4": text,
}
_ITEM = {"price": text, "quantity": integer(1), "usage": integer(0)}


def _card(value: Any) -> Any:
    return False if value is False else table(value, _CARD)


def _schemas(when: Checker) -> dict[str, tuple[dict[str, Checker], tuple[str, ...]]]:
    """Every operation's keys (besides ``at`` and ``op``) and which of them are required."""
    return {
        "create_customer": (
            {"customer": text, "name": text, "email": text, "currency": currency,
             "card": _card, "count": integer(1), "description": text, "metadata": metadata},
            ("customer",),
        ),
        "subscribe": (
            {"subscription": text, "customer": text, "coupon": text, "trial_days": integer(1),
             "items": listed(lambda v: table(v, _ITEM, ("price",))), "description": text,
             "metadata": metadata},
            ("subscription", "customer", "items"),
        ),
        "change": (
            {"subscription": text, "item": text, "price": text, "quantity": integer(1),
             "proration_behavior": choice("create_prorations", "none", "always_invoice")},
            ("subscription",),
        ),
        "apply_coupon": ({"subscription": text, "coupon": text}, ("subscription", "coupon")),
        "fail_payments": (
            {"customer": text, "until": when, "decline_code": choice(*DECLINE_CODES),
             "dunning_end": choice("canceled", "unpaid")},
            ("customer", "until"),
        ),
        "recover": ({"customer": text}, ("customer",)),
        "cancel": (
            {"subscription": text, "at_period_end": boolean,
             "feedback": choice(*(f for f in FEEDBACK if f is not None))},
            ("subscription",),
        ),
        "pause": ({"subscription": text}, ("subscription",)),
        "resume": ({"subscription": text}, ("subscription",)),
        "refund": (
            {"customer": text, "charge": integer(1), "amount": integer(1),
             "reason": choice("duplicate", "fraudulent", "requested_by_customer")},
            ("customer",),
        ),
        "update_charge": (
            {"customer": text, "charge": integer(1), "description": text, "metadata": metadata},
            ("customer",),
        ),
        "dispute": (
            {"customer": text, "charge": integer(1), "reason": choice(*REASONS),
             "outcome": choice("won", "lost"), "closes": when, "evidence": boolean,
             "due_days": integer(1), "cancel_subscription": text},
            ("customer", "outcome", "closes"),
        ),
    }  # fmt: skip


@dataclass
class _Names:
    """What earlier operations defined, as the checks need it."""

    prices: Mapping[str, PriceDef]
    coupons: Mapping[str, CouponSpec]
    currencies: tuple[str, ...]
    customers: dict[str, tuple[str, bool]] = field(default_factory=dict)  # currency, card
    subscriptions: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)  # cancelled (now or at period end)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_timeline(
    path: Path,
    raw: Any,
    span: tuple[dt.date, int],
    prices: Mapping[str, PriceDef],
    coupons: Mapping[str, CouponSpec],
    currencies: tuple[str, ...],
) -> tuple[tuple[Operation, ...], dict[str, tuple[str, ...]]]:
    """Check every ``[[timeline]]`` entry in order; returns the operations and the groups."""
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(path, "timeline", "expected a non-empty list of [[timeline]] tables")
    start, default_time = span  # the first day; when a date-only `at` happens
    first = day_start(start)
    schemas = _schemas(moment(default_time))
    names = _Names(prices, coupons, currencies)
    operations: list[Operation] = []
    for index, entry in enumerate(raw):
        op = entry.get("op") if isinstance(entry, dict) else None
        where = f"timeline[{index}]" + (f" ({op})" if op in schemas else "")
        try:
            operation = _operation(index, entry, schemas, moment(default_time))
            previous = operations[-1].at if operations else first
            _check_times(operation, start, previous)
            _CHECKS[operation.op](operation, names)
        except Invalid as error:
            raise ScenarioError(path, where, str(error)) from None
        operations.append(operation)
    return tuple(operations), names.groups


def _operation(index: int, entry: Any, schemas: Any, when: Checker) -> Operation:
    if not isinstance(entry, dict):
        raise Invalid("expected a table with at and op")
    op = entry.get("op")
    if op not in schemas:
        raise Invalid(f"unknown op {op!r} (known: {', '.join(sorted(schemas))})")
    keys, required = schemas[op]
    schema = {**keys, "at": when, "op": text}
    fields = table(entry, schema, ("at", *required))
    at = fields.pop("at")
    del fields["op"]
    return Operation(index, str(op), at, fields)


def _check_times(operation: Operation, start: dt.date, previous: int) -> None:
    """Nothing before the first day; anything after the last is left to the live clock."""
    for key in ("at", "until", "closes"):
        value = operation.at if key == "at" else operation.fields.get(key)
        if value is not None and value < day_start(start):
            raise Invalid(f"{key} {iso_time(value)} is before the scenario's start {start}")
    if operation.at < previous:
        raise Invalid(f"at {iso_time(operation.at)} is earlier than the operation before it")
    for key in ("until", "closes"):
        if key in operation.fields and operation.fields[key] <= operation.at:
            raise Invalid(f"{key} must be after at")


def _customer(names: _Names, name: str) -> tuple[str, ...]:
    members = names.groups.get(name, (name,))
    if members[0] not in names.customers:
        raise Invalid(f"customer {name!r} is not defined by an earlier create_customer")
    return members


def _subscription(names: _Names, name: str) -> tuple[str, ...]:
    members = names.groups.get(name, (name,))
    if members[0] not in names.subscriptions:
        raise Invalid(f"subscription {name!r} is not defined by an earlier subscribe")
    return members


def _fresh(names: _Names, name: str, count: int) -> tuple[str, ...]:
    """Names for ``count`` new objects (a group of ``count`` > 1); taken names are an error."""
    members = (name,) if count == 1 else tuple(f"{name}_{i}" for i in range(1, count + 1))
    taken = set(names.customers) | set(names.subscriptions) | set(names.groups)
    clash = next((n for n in (name, *members) if n in taken), None)
    if clash is not None:
        raise Invalid(f"the name {clash!r} is already taken")
    if count > 1:
        names.groups[name] = members
    return members


def _check_create_customer(op: Operation, names: _Names) -> None:
    chosen = op.fields.get("currency", names.currencies[0])
    if chosen not in names.currencies:
        raise Invalid(f"currency {chosen!r} is not one of the scenario's currencies")
    for member in _fresh(names, op.fields["customer"], op.fields.get("count", 1)):
        names.customers[member] = (chosen, op.fields.get("card") is not False)


def _check_subscribe(op: Operation, names: _Names) -> None:
    customers = _customer(names, op.fields["customer"])
    paying_currency, has_card = names.customers[customers[0]]
    items = op.fields["items"]
    keys = [item["price"] for item in items]
    for key in keys:
        _price_fits(names, key, paying_currency)
    rhythm = {(names.prices[k].interval, names.prices[k].interval_count) for k in keys}
    if len(rhythm) > 1:
        raise Invalid("all items of a subscription must share interval and interval_count")
    if len(set(keys)) < len(keys):
        raise Invalid("a price appears twice in items")
    for item in items:
        _item_fits(names.prices[item["price"]], item)
    if "coupon" in op.fields:
        _coupon_fits(names, op.fields["coupon"], paying_currency)
    if not has_card and "trial_days" not in op.fields:
        raise Invalid("a customer without a card can only start with a trial")
    subscriptions = _fresh(names, op.fields["subscription"], len(customers))
    for subscription, customer in zip(subscriptions, customers, strict=True):
        names.subscriptions[subscription] = (customer, list(keys))


def _price_fits(names: _Names, key: str, paying_currency: str) -> None:
    if key not in names.prices:
        raise Invalid(f"price {key!r} is not defined in [prices]")
    if names.prices[key].currency != paying_currency:
        raise Invalid(f"price {key!r} is in {names.prices[key].currency}, the customer pays in "
                      f"{paying_currency}")  # fmt: skip


def _item_fits(price: PriceDef, item: Mapping[str, Any]) -> None:
    metered = price.usage_type == "metered"
    if metered and "quantity" in item:
        raise Invalid(f"price {price.key!r} is metered: give usage, not quantity")
    if not metered and "usage" in item:
        raise Invalid(f"price {price.key!r} is licensed: give quantity, not usage")


def _coupon_fits(names: _Names, code: str, paying_currency: str) -> None:
    if code not in names.coupons:
        raise Invalid(f"coupon {code!r} is not defined in [coupons]")
    spec = names.coupons[code]
    if spec.currency is not None and spec.currency != paying_currency:
        raise Invalid(f"coupon {code!r} takes {spec.currency}, the customer pays in "
                      f"{paying_currency}")  # fmt: skip


def _check_change(op: Operation, names: _Names) -> None:
    for member in _open(names, op.fields["subscription"]):
        customer, keys = names.subscriptions[member]
        old = op.fields.get("item", keys[0])
        if old not in keys:
            raise Invalid(f"subscription {member!r} has no item with price {old!r}")
        new = op.fields.get("price", old)
        _price_fits(names, new, names.customers[customer][0])
        before, after = names.prices[old], names.prices[new]
        if (before.interval, before.interval_count) != (after.interval, after.interval_count):
            raise Invalid("a change cannot switch the billing interval (cancel and subscribe)")
        _item_fits(after, op.fields if "quantity" in op.fields else {})
        if new != old and new in keys:
            raise Invalid(f"subscription {member!r} already has price {new!r}")
        keys[keys.index(old)] = new


def _open(names: _Names, name: str) -> tuple[str, ...]:
    members = _subscription(names, name)
    for member in members:
        if member in names.ended:
            raise Invalid(f"subscription {member!r} was already cancelled")
    return members


def _check_apply_coupon(op: Operation, names: _Names) -> None:
    for member in _open(names, op.fields["subscription"]):
        customer = names.subscriptions[member][0]
        _coupon_fits(names, op.fields["coupon"], names.customers[customer][0])


def _check_cancel(op: Operation, names: _Names) -> None:
    names.ended.update(_open(names, op.fields["subscription"]))


def _check_subscription(op: Operation, names: _Names) -> None:
    _open(names, op.fields["subscription"])


def _check_customer(op: Operation, names: _Names) -> None:
    _customer(names, op.fields["customer"])


def _check_update_charge(op: Operation, names: _Names) -> None:
    _customer(names, op.fields["customer"])
    if "description" not in op.fields and "metadata" not in op.fields:
        raise Invalid("give description, metadata or both")


def _check_dispute(op: Operation, names: _Names) -> None:
    customers = _customer(names, op.fields["customer"])
    target = op.fields.get("cancel_subscription")
    if target is None:
        return
    members = _open(names, target)
    if len(customers) > 1 or len(members) > 1:
        raise Invalid("cancel_subscription needs one customer and one subscription, not groups")
    if names.subscriptions[members[0]][0] != customers[0]:
        raise Invalid(f"subscription {target!r} is not {customers[0]!r}'s")
    names.ended.add(members[0])


_CHECKS = {
    "create_customer": _check_create_customer,
    "subscribe": _check_subscribe,
    "change": _check_change,
    "apply_coupon": _check_apply_coupon,
    "fail_payments": _check_customer,
    "recover": _check_customer,
    "cancel": _check_cancel,
    "pause": _check_subscription,
    "resume": _check_subscription,
    "refund": _check_customer,
    "update_charge": _check_update_charge,
    "dispute": _check_dispute,
}
