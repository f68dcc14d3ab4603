"""Coupons, the discounts they become on subscriptions, and what a discount takes off an invoice.

A subscription carries at most one discount. Stripe applies it to every invoice while it lasts:
a ``once`` coupon to the first invoice that bills something (then the discount is removed), a
``repeating`` one until ``duration_in_months`` after it started, a ``forever`` one always. An
amount-off coupon carries a currency and only fits subscriptions in that currency.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sandbox.objects.clock import DAY_SECONDS, add_months
from sandbox.objects.ids import IdFactory
from sandbox.truth.ledger import TruthDiscount

Obj = dict[str, Any]


@dataclass(frozen=True)
class CouponSpec:
    """A coupon the business offers; ``days_before_end`` dates a late campaign."""

    code: str
    duration: str
    percent_off: float | None = None
    amount_off: int | None = None
    currency: str | None = None
    months: int | None = None
    weight: float = 1.0
    days_before_end: int | None = None


COUPONS: tuple[CouponSpec, ...] = (
    CouponSpec("WELCOME20", "repeating", percent_off=20, months=3, weight=4),
    CouponSpec("LAUNCH50", "once", percent_off=50, weight=2),
    CouponSpec("PARTNER15", "forever", percent_off=15, weight=2),
    CouponSpec("SAVE10USD", "repeating", amount_off=1_000, currency="usd", months=6),
    CouponSpec("SAVE10EUR", "forever", amount_off=1_000, currency="eur"),
    CouponSpec("YEN500", "once", amount_off=500, currency="jpy"),
    CouponSpec("AUTUMN25", "repeating", percent_off=25, months=2, weight=3, days_before_end=20),
)


def coupon_object(spec: CouponSpec, created: int) -> Obj:
    """The served coupon (its id is the code, as coupons created with an id are)."""
    if spec.percent_off is not None:
        name = f"{spec.percent_off:g}% off"
    else:
        name = f"{spec.amount_off} {(spec.currency or '').upper()} off"
    return {
        "id": spec.code,
        "object": "coupon",
        "amount_off": spec.amount_off,
        "created": created,
        "currency": spec.currency,
        "duration": spec.duration,
        "duration_in_months": spec.months,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "name": name,
        "percent_off": spec.percent_off,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
    }


def coupon_created(spec: CouponSpec, first: int, end: int) -> int:
    """When the business created a coupon: at launch, or ``days_before_end`` before the end."""
    if spec.days_before_end is None:
        return first
    return max(first, end - spec.days_before_end * DAY_SECONDS)


def pick_coupon(
    rng: random.Random, coupons: dict[str, Obj], currency: str, at: int
) -> CouponSpec | None:
    """A coupon that exists at ``at`` and fits ``currency``, weighted; None if none does."""
    fitting = [
        spec
        for spec in COUPONS
        if spec.code in coupons
        and coupons[spec.code]["created"] <= at
        and spec.currency in (None, currency)
    ]
    if not fitting:
        return None
    return rng.choices(fitting, weights=[spec.weight for spec in fitting])[0]


def discount_object(ids: IdFactory, spec: CouponSpec, sub: Obj, start: int) -> Obj:
    """The served discount a coupon becomes on a subscription."""
    return {
        "id": ids.new("di"),
        "object": "discount",
        "checkout_session": None,
        "customer": sub["customer"],
        "customer_account": None,
        "end": discount_end(spec, start),
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": spec.code, "type": "coupon"},
        "start": start,
        "subscription": sub["id"],
        "subscription_item": None,
    }


def discount_end(spec: CouponSpec, start: int) -> int | None:
    """When a repeating discount stops (None for ``once`` and ``forever``, as in Stripe)."""
    if spec.duration != "repeating" or spec.months is None:
        return None
    moment = dt.datetime.fromtimestamp(start, tz=dt.UTC)
    return int(add_months(moment, spec.months).timestamp())


def truth_discount(spec: CouponSpec, start: int, end: int | None) -> TruthDiscount:
    """The truth ledger's view of a discount in effect over [start, end)."""
    return TruthDiscount(spec.code, spec.duration, spec.percent_off, spec.amount_off, start, end)


def allocate(spec: CouponSpec, amounts: list[int]) -> list[int]:
    """What the discount takes off each line (positive amounts only; never below zero).

    Percent coupons take their share of each line; an amount-off coupon is spread over the
    lines in proportion, the rounding remainder going to the last discounted line.
    """
    if spec.percent_off is not None:
        return [round(a * spec.percent_off / 100) if a > 0 else 0 for a in amounts]
    positive = sum(a for a in amounts if a > 0)
    total = min(spec.amount_off or 0, positive)
    if total == 0:
        return [0] * len(amounts)
    shares = [total * a // positive if a > 0 else 0 for a in amounts]
    last = max(i for i, a in enumerate(amounts) if a > 0)
    shares[last] += total - sum(shares)
    return shares
