"""The simulator's own ground truth, kept by its bookkeeping as the simulation runs.

Truth never looks at the served objects: the engine tells the ledger, at every state change,
what a subscription's status and items are, and the ledger keeps one segment per change (the
state at the end of each day it changed). Reading the state on any day is then a bisect per
subscription, and MRR follows Stripe's definition (SPEC §5), normalised in one function.

Money is summed exactly (``Fraction`` of minor units) and rounded to 2 decimals of the major
unit only when reported, so the report never carries float drift from thousands of additions.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

MRR_STATUSES = frozenset({"active", "past_due"})
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def day_ordinal(ts: int) -> int:
    """The proleptic ordinal of the UTC day a unix timestamp falls in."""
    return EPOCH_ORDINAL + ts // 86_400


@dataclass(frozen=True, slots=True)
class TruthItem:
    """One subscription item as the simulator priced it (minor units per interval)."""

    unit_amount: int
    quantity: int
    interval: str
    interval_count: int
    usage_type: str = "licensed"


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """A subscription's status and items from one day until the next recorded change."""

    status: str
    currency: str
    items: tuple[TruthItem, ...]


@dataclass(slots=True)
class SubscriptionHistory:
    """Every end-of-day state a subscription went through, as parallel sorted lists."""

    subscription: str
    customer: str
    days: list[int] = field(default_factory=list)
    states: list[SubscriptionState] = field(default_factory=list)

    def on(self, ordinal: int) -> SubscriptionState | None:
        """The state at the end of day ``ordinal``; None before the subscription existed."""
        index = bisect_right(self.days, ordinal) - 1
        return self.states[index] if index >= 0 else None


@dataclass(frozen=True, slots=True)
class ChurnEvent:
    """A subscription ending, with why (``payment_failed`` or ``cancellation_requested``)."""

    subscription: str
    customer: str
    at: int
    cause: str
    from_status: str


@dataclass
class TruthLedger:
    """All histories and churn events of one simulation."""

    histories: dict[str, SubscriptionHistory] = field(default_factory=dict)
    churn_events: list[ChurnEvent] = field(default_factory=list)

    def record(self, subscription: str, customer: str, ts: int, state: SubscriptionState) -> None:
        """Note ``state`` as of ``ts``; a later change on the same day replaces it."""
        history = self.histories.get(subscription)
        if history is None:
            history = self.histories[subscription] = SubscriptionHistory(subscription, customer)
        ordinal = day_ordinal(ts)
        if history.days and history.days[-1] == ordinal:
            history.states[-1] = state
        elif not history.states or history.states[-1] != state:
            history.days.append(ordinal)
            history.states.append(state)

    def churn(self, event: ChurnEvent) -> None:
        """Note that a subscription ended and why."""
        self.churn_events.append(event)


def monthly_amount(item: TruthItem) -> Fraction:
    """An item's contribution to MRR in minor units (Stripe's interval normalisation)."""
    if item.usage_type != "licensed":
        return Fraction(0)
    amount = Fraction(item.unit_amount * item.quantity)
    per_interval = {
        "day": amount * 365 / 12,
        "week": amount * 52 / 12,
        "month": amount,
        "year": amount / 12,
    }[item.interval]
    return per_interval / item.interval_count


@dataclass(frozen=True)
class TruthSnapshot:
    """Exact totals at the end of one day, before rounding for display."""

    mrr_minor: dict[str, Fraction]
    active_subscriptions: int


def snapshot(ledger: TruthLedger, as_of: dt.date, currencies: tuple[str, ...]) -> TruthSnapshot:
    """MRR (minor units, per currency) and the active count at the end of ``as_of``."""
    ordinal = as_of.toordinal()
    totals = {currency: Fraction(0) for currency in currencies}
    active = 0
    for history in ledger.histories.values():
        state = history.on(ordinal)
        if state is None or state.status not in MRR_STATUSES:
            continue
        active += 1
        mrr = sum((monthly_amount(item) for item in state.items), Fraction(0))
        totals[state.currency] = totals.get(state.currency, Fraction(0)) + mrr
    return TruthSnapshot(totals, active)


def to_major(amount_minor: Fraction, minor_units: int) -> float:
    """Minor units to a major-unit float rounded to 2 decimals (jpy: yen, so divide by 1)."""
    return round(float(amount_minor / minor_units), 2)


def truth_report(
    ledger: TruthLedger,
    as_of: dt.date,
    *,
    first_day: dt.date,
    last_day: dt.date,
    currencies: tuple[str, ...],
    minor_units: dict[str, int],
) -> dict[str, Any]:
    """The JSON-ready truth for ``as_of``; a date outside the simulated range is an error."""
    if not first_day <= as_of <= last_day:
        raise ValueError(f"as_of {as_of} is outside the simulated range {first_day}..{last_day}")
    snap = snapshot(ledger, as_of, currencies)
    return {
        "as_of": as_of.isoformat(),
        "mrr_by_currency": {
            currency: to_major(amount, minor_units[currency])
            for currency, amount in sorted(snap.mrr_minor.items())
        },
        "active_subscriptions": snap.active_subscriptions,
    }
