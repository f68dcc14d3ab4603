"""The summary: every figure of the report contract for one period, computed once.

`summarise` runs the metric functions for the state at the end of `as_of` and the flows over
(`since`, `as_of`], keeps money per native currency and converted to the reporting currency, and
says in typed warnings what it could not compute. The report, the Overview page, the alerts and
the weekly digest read a `Summary` and only format it, so they can never disagree
(docs/METRICS.md "summarise"). `degradations` says what the warehouse itself is missing
(`metrics.degraded`): the report lists them among its warnings, the dashboard in a banner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import duckdb
import pandas as pd

from metrics.churn import (
    ChurnSettings,
    CustomerChurn,
    InvoluntaryChurn,
    StripeSubscriberChurn,
    customer_churn,
    involuntary_churn,
    stripe_subscriber_churn,
)
from metrics.customers import TrialConversion, ltv, trial_conversion
from metrics.degraded import Degradation, degradations
from metrics.disputes import DisputeSummary, dispute_summary
from metrics.dunning import RecoveryRates, recovery_rates
from metrics.fx import FxError, convert_total
from metrics.money import format_money, minor_to_major
from metrics.mrr import MrrSettings, mrr_currency_daily, mrr_subscription_daily
from metrics.payments import payment_success_rate
from metrics.refunds import refund_summary, refunds_by_currency
from metrics.retention import MrrChurn, cohort_retention, mrr_churn
from metrics.undated import undated_exposure
from metrics.webhooks import WebhookSummary, webhook_summary

T = TypeVar("T")
# The FX table the user supplies; the error that stopped loading it; or None without one.
Rates = pd.DataFrame | FxError | None

FX_RATES_UNREADABLE = "fx_rates_unreadable"  # the table could not be loaded
FX_RATE_MISSING = "fx_rate_missing"  # the table lacks a rate that a conversion needs
FX_NO_RATES = "fx_no_rates"  # amounts in other currencies and no table at all


@dataclass(frozen=True)
class SummaryWarning:
    """Something the summary could not compute, or cannot vouch for.

    `code` is stable (pages and alerts match on it), `message` is for people, `affected` names
    what it concerns (currencies here; subscriptions, say, for another check) and `count` how
    many there are when that is more than `affected` lists.
    """

    code: str
    message: str
    affected: tuple[str, ...] = ()
    count: int | None = None


UNDATED_CHANGES = "undated_changes"  # changes the API cannot date put past MRR in doubt


def _undated_changes_warning(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, definition: MrrSettings
) -> SummaryWarning | None:
    """ "N subscriptions changed at an unknown date on or before D; MRR before then may be off
    by up to X" (`metrics.undated`); None when nothing placed by `as_of` is undated."""
    exposure = undated_exposure(con, as_of, definition)
    if exposure.subscriptions == 0:
        return None
    at_stake = ", ".join(
        format_money(minor_to_major(amount, currency), currency)
        for currency, amount in sorted(exposure.mrr_at_stake_minor.items())
    )
    message = (
        f"{exposure.subscriptions} subscription{'s' if exposure.subscriptions != 1 else ''} "
        f"changed at an unknown date on or before {exposure.latest_day}; MRR before then may "
        f"be off by up to {at_stake or 'an amount that is not known'}"
    )
    if exposure.unknown_amount and at_stake:
        message += f" ({exposure.unknown_amount} of them ended: amount not known)"
    affected = tuple(sorted(exposure.mrr_at_stake_minor))
    return SummaryWarning(UNDATED_CHANGES, message, affected, exposure.subscriptions)


# A check of the warehouse that may add a warning: (con, since, as_of, definition) → a warning
# or None. Adding one is a function and an entry here.
WarehouseCheck = Callable[
    [duckdb.DuckDBPyConnection, date, date, MrrSettings], SummaryWarning | None
]
WAREHOUSE_CHECKS: tuple[WarehouseCheck, ...] = (_undated_changes_warning,)


@dataclass(frozen=True)
class Amount:
    """Money in major units: per native currency, and converted to the reporting currency
    (None when a rate it needs is missing)."""

    by_currency: Mapping[str, float]
    converted: float | None


@dataclass(frozen=True)
class Movements:
    """MRR movements over the period in the reporting currency (None when FX stops them):
    `end_mrr = start_mrr + new + reactivation + expansion − contraction − churn + fx`."""

    start_mrr: float | None
    new: float | None
    reactivation: float | None
    expansion: float | None
    contraction: float | None
    churn: float | None
    fx: float | None
    end_mrr: float | None
    start_by_currency: Mapping[str, float]  # net MRR at the end of `since`, native major units


@dataclass(frozen=True)
class CohortRow:
    """One signup month's customers and revenue `months_since` months on (`cohort_retention`),
    money in major units of the cohort's currency."""

    cohort: date
    currency: str
    months_since: int
    customers: int
    retained_customers: int
    base_mrr: float
    mrr: float
    customer_retention: float
    revenue_retention: float | None


@dataclass(frozen=True)
class PaymentHealth:
    """Payments over (since, as_of]: success, dunning, disputes, refunds, webhook delivery."""

    success_rate: float | None
    success_rate_dedup: float | None  # per PaymentIntent
    dunning: RecoveryRates | None  # failure and recovery rates (None when FX stops them)
    disputes: DisputeSummary
    disputes_at_risk: Amount
    refunds: Amount
    refund_rate: float | None
    webhooks: WebhookSummary


@dataclass(frozen=True)
class Summary:
    """Every figure of the report contract (docs/METRICS.md "The report contract")."""

    as_of: date
    since: date
    reporting_currency: str
    mrr: Amount
    arr: Amount
    active_customers: int
    active_subscriptions: int
    arpu: float | None
    ltv: float | None
    movements: Movements
    customer_churn: CustomerChurn
    subscriber_churn: StripeSubscriberChurn  # the 30 days to `as_of`, both variants
    revenue_churn: MrrChurn | None  # gross and net MRR churn, NRR, GRR (None when FX stops it)
    involuntary: InvoluntaryChurn
    trials: TrialConversion
    cohorts: tuple[CohortRow, ...]
    payments: PaymentHealth
    warnings: tuple[SummaryWarning, ...]
    # what the warehouse is missing (quarantine, unavailable resources, unknown prices)
    degradations: tuple[Degradation, ...] = ()


def summarise(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    since: date,
    definition: ChurnSettings,
    reporting_currency: str,
    rates: Rates,
) -> Summary:
    """The summary of (`since`, `as_of`]. Steps: state at `as_of` (MRR, customers), revenue
    flows (movements, churn, trials), payment health, cohorts and LTV, then the warnings."""
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    money = _Money(reporting_currency, as_of, rates)
    # paying subscriptions: a free one (net MRR 0) is neither in MRR nor a subscriber
    paying = mrr_subscription_daily(con, as_of, as_of, definition)
    paying = paying[paying["net_mrr_minor"] > 0]
    mrr = money.amount(_major(paying.groupby("currency")["net_mrr_minor"].sum().to_dict()))
    customers = int(paying["customer"].nunique())
    revenue_churn = money.guarded(
        lambda table, reporting: mrr_churn(con, since, as_of, reporting, table, definition)
    )
    movements = _movements(con, since, money, definition, revenue_churn)
    payments = _payments(con, since, as_of, money)
    cohorts = cohort_retention(con, as_of, definition)
    lifetime = money.guarded(lambda table, reporting: ltv(con, as_of, reporting, table, definition))
    checks = [check(con, since, as_of, definition) for check in WAREHOUSE_CHECKS]
    return Summary(
        as_of=as_of,
        since=since,
        reporting_currency=reporting_currency,
        mrr=mrr,
        arr=Amount(
            {c: 12 * v for c, v in mrr.by_currency.items()},
            None if mrr.converted is None else 12 * mrr.converted,
        ),
        active_customers=customers,
        active_subscriptions=int(paying["subscription"].nunique()),
        arpu=None if mrr.converted is None or customers == 0 else mrr.converted / customers,
        ltv=lifetime,
        movements=movements,
        customer_churn=customer_churn(con, since, as_of, definition),
        subscriber_churn=stripe_subscriber_churn(con, as_of, definition),
        revenue_churn=revenue_churn,
        involuntary=involuntary_churn(con, since, as_of, definition),
        trials=trial_conversion(con, since, as_of),
        cohorts=tuple(_cohort_rows(cohorts)),
        payments=payments,
        warnings=(*money.finish(), *(warning for warning in checks if warning is not None)),
        degradations=degradations(con, as_of),
    )


def _movements(
    con: duckdb.DuckDBPyConnection,
    since: date,
    money: _Money,
    definition: ChurnSettings,
    flows: MrrChurn | None,
) -> Movements:
    """The start MRR at `since`'s rates, the flows at `as_of`'s, and FX: the start revalued."""
    start = mrr_currency_daily(con, since, since, definition)
    start_major = _major(dict(zip(start["currency"], start["net_mrr_minor"], strict=True)))
    at_start, at_end = money.total(start_major, since), money.total(start_major)
    if flows is None or at_start is None or at_end is None:
        return Movements(None, None, None, None, None, None, None, None, start_major)
    won = flows.new + flows.reactivation + flows.expansion
    return Movements(
        start_mrr=at_start,
        new=flows.new,
        reactivation=flows.reactivation,
        expansion=flows.expansion,
        contraction=flows.contraction,
        churn=flows.churn,
        fx=at_end - at_start,
        end_mrr=at_end + won - flows.contraction - flows.churn,
        start_by_currency=start_major,
    )


def _payments(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, money: _Money
) -> PaymentHealth:
    """Payment health over (since, as_of]."""
    dunning = money.guarded(
        lambda table, reporting: recovery_rates(
            con, since, as_of, rates=table, reporting_currency=reporting
        )
    )
    refunded = refunds_by_currency(con, since, as_of)
    refund_rate = money.guarded(
        lambda table, reporting: (
            refund_summary(con, since, as_of, rates=table, reporting_currency=reporting).rate
        )
    )
    disputes = dispute_summary(con, since, as_of)
    refunds = dict(zip(refunded["currency"], refunded["refunded_minor"], strict=True))
    return PaymentHealth(
        success_rate=payment_success_rate(con, since, as_of),
        success_rate_dedup=payment_success_rate(con, since, as_of, dedup=True),
        dunning=dunning,
        disputes=disputes,
        disputes_at_risk=money.amount(_major(disputes.amount_at_risk_minor)),
        refunds=money.amount(_major(refunds)),
        refund_rate=refund_rate,
        webhooks=webhook_summary(con, since, as_of),
    )


def _cohort_rows(frame: pd.DataFrame) -> list[CohortRow]:
    """`cohort_retention`'s rows with money in major units (NaN revenue retention: None)."""
    rows = []
    for row in frame.to_dict("records"):
        currency = str(row["currency"])
        revenue = float(row["revenue_retention"])
        rows.append(
            CohortRow(
                cohort=row["cohort"],
                currency=currency,
                months_since=int(row["months_since"]),
                customers=int(row["customers"]),
                retained_customers=int(row["retained_customers"]),
                base_mrr=minor_to_major(float(row["base_mrr_minor"]), currency),
                mrr=minor_to_major(float(row["mrr_minor"]), currency),
                customer_retention=float(row["customer_retention"]),
                revenue_retention=None if pd.isna(revenue) else revenue,
            )
        )
    return rows


def _major(minor: Mapping[Any, Any]) -> dict[str, float]:
    """Minor units per currency → major units per currency."""
    return {str(c): minor_to_major(float(v), str(c)) for c, v in minor.items()}


class _Money:
    """Converts per-currency major amounts to the reporting currency, noting each problem once."""

    def __init__(self, reporting: str, as_of: date, rates: Rates) -> None:
        self.reporting = reporting
        self.as_of = as_of
        self.table = rates if isinstance(rates, pd.DataFrame) else None
        self.unreadable = rates if isinstance(rates, FxError) else None
        self.warnings: list[SummaryWarning] = []
        self.unconverted: set[str] = set()  # currencies left unconverted for want of a table

    def amount(self, by_currency: dict[str, float]) -> Amount:
        return Amount(by_currency, self.total(by_currency))

    def total(self, amounts: dict[str, float], on: date | None = None) -> float | None:
        foreign = sorted(c for c, v in amounts.items() if v and c != self.reporting)
        if not foreign:
            return sum(amounts.values(), 0.0)
        if self.unreadable is not None:
            self._warn(FX_RATES_UNREADABLE, str(self.unreadable))
            return None
        if self.table is None:
            self.unconverted.update(foreign)
            return None
        try:
            return convert_total(amounts, self.reporting, self.table, on or self.as_of)
        except FxError as exc:
            self._warn(FX_RATE_MISSING, str(exc), tuple(foreign))
            return None

    def guarded(self, compute: Callable[[pd.DataFrame | None, str], T]) -> T | None:
        """`compute(rates, reporting_currency)`, or None (and a warning) when FX stops it."""
        if self.unreadable is not None:
            self._warn(FX_RATES_UNREADABLE, str(self.unreadable))
            return None
        try:
            return compute(self.table, self.reporting)
        except FxError as exc:
            if self.table is None:
                self.unconverted.add("")  # some currency: the warning lists what MRR shows
            else:
                self._warn(FX_RATE_MISSING, str(exc))
            return None

    def finish(self) -> list[SummaryWarning]:
        """The warnings, with the one about having no rates table naming what it blocks."""
        if self.unconverted:
            named = tuple(sorted(c for c in self.unconverted if c))
            which = ", ".join(c.upper() for c in named) if named else "other currencies"
            message = (
                f"amounts in {which} cannot be converted to {self.reporting.upper()}: "
                "no FX rates file"
            )
            self._warn(FX_NO_RATES, message, named)
        return self.warnings

    def _warn(self, code: str, message: str, affected: tuple[str, ...] = ()) -> None:
        if all(warning.message != message for warning in self.warnings):
            self.warnings.append(SummaryWarning(code, message, affected))
