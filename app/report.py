"""The `paylens report` contract: state at the end of `as_of` and flows over (since, as_of].

Every key is documented in docs/METRICS.md ("The report contract"). Money is in major units of the
reporting currency, unrounded (`mrr_by_currency`: each currency's own major units); rates are
fractions 0..1 and null where they have no denominator. When an FX rate is missing, the converted
amounts are null and `warnings` says which rate. The dashboard shows the same dict, so the two can
never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import duckdb
import pandas as pd

from app.settings import Settings
from metrics.churn import (
    ChurnSettings,
    customer_churn,
    involuntary_churn,
    stripe_subscriber_churn,
)
from metrics.customers import trial_conversion
from metrics.disputes import dispute_summary
from metrics.dunning import recovery_rates
from metrics.fx import FxError, convert_total, load_rates_csv
from metrics.money import format_money, minor_to_major
from metrics.mrr import mrr_currency_daily, mrr_customer_daily
from metrics.payments import payment_success_rate
from metrics.refunds import refund_summary, refunds_by_currency
from metrics.retention import mrr_churn
from metrics.webhooks import webhook_summary

DEFAULT_PERIOD_DAYS = 30
SUCCESS_RATE_DAYS = 7  # the Overview page's window
T = TypeVar("T")
MOVEMENTS = ["start_mrr", "new", "reactivation", "expansion", "contraction", "churn", "fx"]
MOVEMENTS += ["end_mrr"]


def churn_settings(settings: Settings) -> ChurnSettings:
    """The MRR and churn definitions the user configured (SPEC §5; defaults are Stripe's)."""
    return ChurnSettings(
        subtract_repeating=settings.mrr_subtract_repeating,
        subtract_once=settings.mrr_subtract_once,
        churn_at_period_end=settings.mrr_churn_at_period_end,
        involuntary_past_due_days=settings.involuntary_past_due_days,
    )


def build_report(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    since: date | None = None,
) -> dict[str, Any]:
    """The report for the end of `as_of`; flows over (since, as_of], by default 30 days."""
    since = as_of - timedelta(days=DEFAULT_PERIOD_DAYS) if since is None else since
    if since >= as_of:
        raise ValueError(f"--since ({since}) must be before --as-of ({as_of})")
    warnings: list[str] = []
    money = _Converter(settings, as_of, warnings)
    definition = churn_settings(settings)
    customers = mrr_customer_daily(con, as_of, as_of, definition)
    paying = customers[customers["net_mrr_minor"] > 0]
    by_currency = {
        str(currency): minor_to_major(float(amount), str(currency))
        for currency, amount in paying.groupby("currency")["net_mrr_minor"].sum().items()
    }
    mrr = money.total(by_currency)
    active_customers = int(paying["customer"].nunique())
    report = {
        "as_of": as_of.isoformat(),
        "since": since.isoformat(),
        "reporting_currency": settings.reporting_currency,
        "mrr": mrr,
        "arr": None if mrr is None else 12 * mrr,
        "mrr_by_currency": by_currency,
        "active_customers": active_customers,
        "active_subscriptions": int(paying["subscriptions"].sum()),
        "arpu": None if mrr is None or active_customers == 0 else mrr / active_customers,
        **_revenue(con, since, as_of, money, definition),
        **_payments(con, since, as_of, money),
        "warnings": warnings,
    }
    money.finish()
    return report


def _revenue(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    money: _Converter,
    definition: ChurnSettings,
) -> dict[str, Any]:
    """Flows over (since, as_of]: movements with FX, churn and retention rates, trials."""
    flows = money.guarded(
        lambda rates, reporting: mrr_churn(con, since, as_of, reporting, rates, definition)
    )
    start = mrr_currency_daily(con, since, since, definition)
    start_major = {
        str(c): minor_to_major(float(v), str(c))
        for c, v in zip(start["currency"], start["net_mrr_minor"], strict=True)
    }
    at_start, at_end = money.total(start_major, since), money.total(start_major, as_of)
    movements: dict[str, float | None] = dict.fromkeys(MOVEMENTS)
    if flows is not None and at_start is not None and at_end is not None:
        movements.update(
            start_mrr=at_start,
            new=flows.new,
            reactivation=flows.reactivation,
            expansion=flows.expansion,
            contraction=flows.contraction,
            churn=flows.churn,
            fx=at_end - at_start,
        )
        movements["end_mrr"] = (
            at_end
            + flows.new
            + flows.reactivation
            + flows.expansion
            - flows.contraction
            - flows.churn
        )
    customers = customer_churn(con, since, as_of, definition)
    involuntary = involuntary_churn(con, since, as_of, definition)
    return {
        "movements": movements,
        "customer_churn_rate": customers.rate,
        "stripe_subscriber_churn_rate": stripe_subscriber_churn(con, as_of, definition).rate,
        "gross_mrr_churn_rate": None if flows is None else flows.gross_mrr_churn_rate,
        "net_mrr_churn_rate": None if flows is None else flows.net_mrr_churn_rate,
        "nrr": None if flows is None else flows.nrr,
        "grr": None if flows is None else flows.grr,
        "involuntary_churn_rate": involuntary.involuntary_rate,
        "involuntary_share": involuntary.involuntary_share,
        "trial_conversion_rate": trial_conversion(con, since, as_of).rate,
    }


def _payments(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, money: _Converter
) -> dict[str, Any]:
    """Payment health over (since, as_of]: success, dunning, disputes, webhooks, refunds."""
    dunning = money.guarded(
        lambda rates, reporting: recovery_rates(
            con, since, as_of, rates=rates, reporting_currency=reporting
        )
    )
    refunded = refunds_by_currency(con, since, as_of)
    refund_rate = money.guarded(
        lambda rates, reporting: (
            refund_summary(con, since, as_of, rates=rates, reporting_currency=reporting).rate
        )
    )
    disputes = dispute_summary(con, since, as_of)
    webhooks = webhook_summary(con, since, as_of)
    return {
        "payment_success_rate": payment_success_rate(con, since, as_of),
        "payment_success_rate_dedup": payment_success_rate(con, since, as_of, dedup=True),
        "failure_rate": None if dunning is None else dunning.failure_rate,
        "recovery_rate": None if dunning is None else dunning.recovery_rate,
        "disputes": {
            "open": disputes.open,
            "amount_at_risk": money.total_minor(disputes.amount_at_risk_minor),
            "due_within_72h": disputes.due_within_72h,
            "new": disputes.new,
            "dispute_rate": disputes.dispute_rate,
            "win_rate": disputes.win_rate,
        },
        "webhook_delivery_rate": webhooks.delivery_rate,
        "pending_events": webhooks.pending_events,
        "refunds": {
            "amount": money.total_minor(
                dict(zip(refunded["currency"], refunded["refunded_minor"], strict=True))
            ),
            "rate": refund_rate,
        },
    }


class _Converter:
    """Converts per-currency major amounts to the reporting currency, noting each problem once."""

    def __init__(self, settings: Settings, as_of: date, warnings: list[str]) -> None:
        self.reporting = settings.reporting_currency
        self.as_of = as_of
        self.warnings = warnings
        self.settings = settings
        self.rates: pd.DataFrame | None = None
        self.error: str | None = None
        self.unconverted: set[str] = set()  # currencies left unconverted for want of a file
        path = settings.fx_rates_path
        if path is not None:
            try:
                self.rates = load_rates_csv(path)
            except FxError as exc:
                self.error = str(exc)

    def total(self, amounts: dict[str, float], on: date | None = None) -> float | None:
        foreign = sorted(c for c, v in amounts.items() if v and c != self.reporting)
        if not foreign:
            return sum(amounts.values(), 0.0)
        if self.error is not None:
            self._warn(self.error)
            return None
        if self.rates is None:
            self.unconverted.update(foreign)
            return None
        try:
            return convert_total(amounts, self.reporting, self.rates, on or self.as_of)
        except FxError as exc:
            self._warn(str(exc))
            return None

    def total_minor(self, amounts: dict[str, int]) -> float | None:
        """Like `total`, from minor units per currency."""
        return self.total({c: minor_to_major(float(v), c) for c, v in amounts.items()})

    def guarded(self, compute: Callable[[pd.DataFrame | None, str], T]) -> T | None:
        """`compute(rates, reporting_currency)`, or None (and a warning) when FX stops it."""
        if self.error is not None:
            self._warn(self.error)
            return None
        try:
            return compute(self.rates, self.reporting)
        except FxError as exc:
            if self.rates is None:
                self.unconverted.add("")  # some currency: the warning lists what MRR shows
            else:
                self._warn(str(exc))
            return None

    def finish(self) -> None:
        """Add the one warning about a missing rates file, naming the currencies it blocks."""
        if not self.unconverted:
            return
        named = sorted(c.upper() for c in self.unconverted if c)
        which = ", ".join(named) if named else "other currencies"
        self._warn(
            f"amounts in {which} cannot be converted to {self.reporting.upper()}: no FX rates "
            f"file. Put a CSV with columns date,currency,rate at "
            f"{self.settings.data_dir / 'fx_rates.csv'} or set PAYLENS_FX_RATES_FILE"
        )

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def format_report(data: dict[str, Any]) -> str:
    """The report as a few aligned lines for a terminal."""
    currency = data["reporting_currency"]
    moves, disputes, refunds = data["movements"], data["disputes"], data["refunds"]
    lines = [
        f"paylens report as of {data['as_of']} (end of day, UTC); flows since {data['since']}",
        f"  MRR            {_money(data['mrr'], currency)}",
    ]
    lines += [
        f"    {cur.upper():<12} {format_money(value, cur)}"
        for cur, value in sorted(data["mrr_by_currency"].items())
    ]
    lines += [
        f"  ARR            {_money(data['arr'], currency)}",
        f"  Customers      {data['active_customers']:,} active, "
        f"ARPU {_money(data['arpu'], currency)}",
        f"  Subscriptions  {data['active_subscriptions']:,} active",
        f"  Movements      {_money(moves['start_mrr'], currency)} → "
        f"{_money(moves['end_mrr'], currency)}: "
        + ", ".join(f"{kind} {_money(moves[kind], currency)}" for kind in MOVEMENTS[1:-1]),
        f"  Churn          customers {_rate(data['customer_churn_rate'])} "
        f"(Stripe's 30-day {_rate(data['stripe_subscriber_churn_rate'])}), "
        f"gross MRR {_rate(data['gross_mrr_churn_rate'])}, "
        f"net MRR {_rate(data['net_mrr_churn_rate'])}",
        f"  Retention      NRR {_rate(data['nrr'])}, GRR {_rate(data['grr'])}, "
        f"trial conversion {_rate(data['trial_conversion_rate'])}",
        f"  Involuntary    {_rate(data['involuntary_churn_rate'])} of subscriptions, "
        f"{_rate(data['involuntary_share'])} of churn",
        f"  Payments       success {_rate(data['payment_success_rate'])} "
        f"(per PaymentIntent {_rate(data['payment_success_rate_dedup'])}), "
        f"failure {_rate(data['failure_rate'])}, recovered {_rate(data['recovery_rate'])}",
        f"  Disputes       {disputes['open']} open ({_money(disputes['amount_at_risk'], currency)} "
        f"at risk, {disputes['due_within_72h']} due within 72 h), {disputes['new']} new, "
        f"rate {_rate(disputes['dispute_rate'])}, won {_rate(disputes['win_rate'])}",
        f"  Refunds        {_money(refunds['amount'], currency)} ({_rate(refunds['rate'])})",
        f"  Webhooks       delivered {_rate(data['webhook_delivery_rate'])}, "
        f"{data['pending_events']:,} events pending",
    ]
    lines += [f"  warning: {warning}" for warning in data["warnings"]]
    return "\n".join(lines)


def _money(value: float | None, currency: str) -> str:
    return "n/a" if value is None else format_money(value, currency)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
