"""The weekly review's shape: what `metrics.weekly.weekly_review` returns and every consumer
(the `/weekly` page, `paylens weekly --json`, the Slack digest, the HTML/PDF file) formats.

A review compares one ISO week (Monday to Sunday, days in UTC like every metric) with the week
before it. Every number is computed once, in `metrics/`; consumers only format. Money is in
major units of `currency` (the reporting currency unless a figure says otherwise); rates are
fractions (0.9731), changes of rates are in percentage points (-2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Unit = Literal["rate", "money", "count", "hours"]
Topic = Literal["payments", "revenue", "subscriptions", "disputes", "webhooks", "churn"]


@dataclass(frozen=True)
class IsoWeek:
    """An ISO week, "2026-W23"; `start` is its Monday, `end` its Sunday."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """ "2026-W23" (or "2026W23"); a ValueError naming the expected form otherwise."""
        cleaned = text.strip().upper().replace("-", "")
        year, sep, week = cleaned.partition("W")
        if not sep or not (year.isdigit() and week.isdigit()) or len(year) != 4:
            raise ValueError(f"week {text!r}: expected an ISO week like 2026-W23")
        try:
            date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            raise ValueError(f"week {text!r}: {year} has no week {int(week)}") from None
        return cls(int(year), int(week))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def start(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    def previous(self) -> IsoWeek:
        return IsoWeek.of(date.fromordinal(self.start.toordinal() - 7))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@dataclass(frozen=True)
class Figure:
    """One checklist figure, this week against last. `change` is `this_week - last_week`
    (percentage points for a rate), None when either side is None. `link` is the dashboard
    path with the query parameters that show the figure's detail for this week
    ("/payments?range=custom&from=2026-06-01&to=2026-06-07")."""

    key: str  # stable: "payments.success_rate", "mrr.net_new", "subscriptions.new"
    label: str  # "Payment success rate"
    topic: Topic
    unit: Unit
    this_week: float | None
    last_week: float | None
    change: float | None
    link: str
    currency: str | None = None  # for money


@dataclass(frozen=True)
class BreakdownRow:
    """Failed payments of one value of one dimension ("brand" = "visa"), both weeks."""

    dimension: Literal["brand", "country", "amount_band", "decline_code", "funding"]
    value: str
    attempts: int
    failures: int
    last_week_attempts: int
    last_week_failures: int
    lost_amount: float | None  # failed volume this week, reporting currency (None: no FX rate)


@dataclass(frozen=True)
class DisputeRow:
    """A dispute opened this week or still open with its deadline ahead."""

    dispute: str
    charge: str | None
    customer: str | None  # the customer's name or email as the account has it (account text)
    amount: float
    currency: str
    reason: str
    status: str
    created: datetime
    due_by: datetime | None  # Stripe's deadline for evidence (`evidence_details.due_by`)
    link: str
    respond_by: datetime | None = None  # paylens' own: opening + 7 days (SPEC §5)
    needs_response: bool = False  # open at the end of the week, no evidence submitted


@dataclass(frozen=True)
class EndpointRow:
    """A webhook endpoint's week: deliveries, failures, timeouts, whether it is disabled.

    Stripe counts each event's pending deliveries but not which endpoints they are for, so an
    event still awaited counts for every enabled endpoint that takes its type (upper bounds
    where endpoints share types). `deliveries`: the week's events it takes; `failures`: those
    still awaited past the grace period; `timeouts`: those still awaited more than a day after
    they were sent, at the last sync (an endpoint timing out or down keeps them pending through
    Stripe's retries; Stripe does not say whether an attempt timed out or was refused). Pending
    counts are as of the last sync, and Stripe reports a delivery that ran out of retries (3
    days) as pending 0.
    """

    endpoint: str
    url: str
    status: str
    deliveries: int
    failures: int
    timeouts: int
    pending: int  # events still undelivered at the end of the week


@dataclass(frozen=True)
class CustomerChange:
    """A customer behind a movement: its MRR change this week (reporting currency)."""

    customer: str
    name: str | None  # account text
    kind: str  # "new", "expansion", "contraction", "churn", "reactivation"
    amount: float


@dataclass(frozen=True)
class SeriesPoint:
    """A daily value for the charts: `day` in either week."""

    day: date
    value: float | None


@dataclass(frozen=True)
class WeeklyReview:
    """The review of `week` against `previous`. `sentences` is the narrative, most important
    first (three to five when there is that much worth saying; rules in docs/WEEKLY.md).
    `series` holds the charts' daily values by key ("payments.success_rate", "mrr") over both
    weeks."""

    week: IsoWeek
    previous: IsoWeek
    currency: str
    complete: bool  # False when the week is not over on the account's clock
    figures: tuple[Figure, ...]
    sentences: tuple[str, ...]
    failures: tuple[BreakdownRow, ...] = ()
    disputes: tuple[DisputeRow, ...] = ()
    endpoints: tuple[EndpointRow, ...] = ()
    movers: tuple[CustomerChange, ...] = ()
    series: dict[str, tuple[SeriesPoint, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def figure(self, key: str) -> Figure:
        for item in self.figures:
            if item.key == key:
                return item
        raise KeyError(key)
