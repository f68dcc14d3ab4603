"""The simulator's own ground truth, kept by its bookkeeping as the simulation runs.

Truth never looks at the served objects: the engine tells the ledger, at every state change,
what a subscription's status, items, discount and pending cancellation are, and the ledger
keeps one segment per change (the state at the end of each day it changed). Reading the state
on any day is then a bisect per subscription, and MRR follows SPEC §5, normalised in one
function. Churns, reactivations and changes Stripe's API cannot show are noted as they happen.

Money is summed exactly (``Fraction`` of minor units) and rounded to 2 decimals of the major
unit only when reported, so the report never carries float drift from thousands of additions.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from fractions import Fraction

from sandbox.objects.catalog import Tier, tiered_amount

MRR_STATUSES = frozenset({"active", "past_due"})
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
MONTHS_PER_INTERVAL: dict[str, Fraction] = {
    "day": Fraction(12, 365),
    "week": Fraction(12, 52),
    "month": Fraction(1),
    "year": Fraction(12),
}


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
    tiers: tuple[Tier, ...] = ()
    tiers_mode: str | None = None

    def period_amount(self) -> int:
        """What one billing period of this item costs (tiers by Stripe's rules)."""
        if self.tiers_mode is not None:
            return tiered_amount(self.tiers, self.tiers_mode, self.quantity)
        return self.unit_amount * self.quantity


@dataclass(frozen=True, slots=True)
class TruthDiscount:
    """A coupon on a subscription and the days it takes effect, [start, end)."""

    coupon: str
    duration: str  # once | repeating | forever
    percent_off: float | None
    amount_off: int | None
    start: int
    end: int | None  # None: forever


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """A subscription's status and items from one day until the next recorded change."""

    status: str
    currency: str
    items: tuple[TruthItem, ...]
    discount: TruthDiscount | None = None
    cancel_at: int | None = None  # set while a cancellation at period end is pending


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
    """A paying subscription ending: ``at`` it stopped, ``requested_at`` it was asked to.

    ``cause`` is voluntary, payment_failed, unpaid or disputed; the two times differ only for
    a cancellation at period end.
    """

    subscription: str
    customer: str
    at: int
    cause: str
    from_status: str
    requested_at: int


@dataclass(frozen=True, slots=True)
class Happening:
    """A dated note about one subscription (a reactivation, an unobservable change)."""

    subscription: str
    customer: str
    at: int
    kind: str


@dataclass
class TruthLedger:
    """All histories, churns, reactivations and unobservable changes of one simulation.

    ``invoices`` keeps each subscription's invoice times: a change that only an invoice can
    reveal (a silent price change, pending prorations) stays hidden until the next one.
    """

    histories: dict[str, SubscriptionHistory] = field(default_factory=dict)
    churn_events: list[ChurnEvent] = field(default_factory=list)
    reactivations: list[Happening] = field(default_factory=list)
    unobservable: list[Happening] = field(default_factory=list)
    invoices: dict[str, list[int]] = field(default_factory=dict)

    def invoiced(self, subscription: str, at: int) -> None:
        """Note an invoice of ``subscription`` created at ``at`` (the clock only moves on)."""
        self.invoices.setdefault(subscription, []).append(at)

    def next_invoice(self, subscription: str, at: int) -> int | None:
        """The first invoice of ``subscription`` created at or after ``at``, if any yet."""
        times = self.invoices.get(subscription, [])
        index = bisect_left(times, at)
        return times[index] if index < len(times) else None

    def record(self, subscription: str, customer: str, ts: int, state: SubscriptionState) -> None:
        """Note ``state`` as of ``ts``; a later change on the same day replaces it.

        A move to ``unpaid`` is observable, even after it ended: the invoice dunning gave up on
        stays open, attempted, with no next attempt, and its last failed charge dates the move.
        """
        history = self.histories.get(subscription)
        if history is None:
            history = self.histories[subscription] = SubscriptionHistory(subscription, customer)
        ordinal = day_ordinal(ts)
        if history.days and history.days[-1] == ordinal:
            if len(history.states) > 1 and history.states[-2] == state:
                history.days.pop()  # the day ends where it started: no segment
                history.states.pop()
            else:
                history.states[-1] = state
        elif not history.states or history.states[-1] != state:
            history.days.append(ordinal)
            history.states.append(state)

    def churn(self, event: ChurnEvent) -> None:
        """Note that a paying subscription ended and why."""
        self.churn_events.append(event)


def monthly_amount(item: TruthItem) -> Fraction:
    """An item's contribution to MRR in minor units (Stripe's interval normalisation)."""
    if item.usage_type != "licensed":
        return Fraction(0)
    months = MONTHS_PER_INTERVAL[item.interval] * item.interval_count
    return Fraction(item.period_amount()) / months


@dataclass(frozen=True)
class MrrRules:
    """SPEC §5's settings: which coupons to subtract and when a pending cancellation churns."""

    subtract_repeating: bool = True
    subtract_once: bool = False
    churn_at_period_end: bool = False

    def subtracts(self, duration: str) -> bool:
        """Whether a coupon of this duration lowers MRR (``forever`` always does)."""
        if duration == "forever":
            return True
        return self.subtract_repeating if duration == "repeating" else self.subtract_once


def list_mrr(state: SubscriptionState) -> Fraction:
    """MRR before discounts, whatever the status (callers check the status)."""
    return sum((monthly_amount(item) for item in state.items), Fraction(0))


def counts(state: SubscriptionState | None, rules: MrrRules) -> bool:
    """Whether a subscription in ``state`` is in MRR at all."""
    if state is None or state.status not in MRR_STATUSES:
        return False
    return state.cancel_at is None or rules.churn_at_period_end


def net_mrr(state: SubscriptionState, ordinal: int, rules: MrrRules) -> Fraction:
    """MRR after the discount in effect at the end of day ``ordinal``, per ``rules``."""
    gross = list_mrr(state)
    discount = state.discount
    if discount is None or not rules.subtracts(discount.duration):
        return gross
    if not day_ordinal(discount.start) <= ordinal:
        return gross
    if discount.end is not None and ordinal >= day_ordinal(discount.end):
        return gross
    if discount.percent_off is not None:
        off = gross * Fraction(str(discount.percent_off)) / 100
    else:
        item = state.items[0]
        months = MONTHS_PER_INTERVAL[item.interval] * item.interval_count
        off = Fraction(discount.amount_off or 0) / months
    return max(Fraction(0), gross - off)
