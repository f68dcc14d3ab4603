"""The `paylens report` contract: state at the end of `as_of` and flows over (since, as_of].

Every key is documented in docs/METRICS.md ("The report contract"). Money is in major units of the
reporting currency, unrounded (`mrr_by_currency`: each currency's own major units); rates are
fractions 0..1 and null where they have no denominator. When an FX rate is missing, the converted
amounts are null and `warnings` says which rate. The dashboard shows the same dict, so the two can
never disagree.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from app.settings import Settings
from metrics.fx import FxError, convert_total, load_rates_csv
from metrics.money import format_money, minor_to_major
from metrics.mrr import MrrSettings, mrr_customer_daily
from metrics.payments import payment_success_rate

DEFAULT_PERIOD_DAYS = 30
SUCCESS_RATE_DAYS = 7  # the Overview page's window


def mrr_settings(settings: Settings) -> MrrSettings:
    """The MRR definition the user configured (SPEC §5; defaults are Stripe's)."""
    return MrrSettings(
        subtract_repeating=settings.mrr_subtract_repeating,
        subtract_once=settings.mrr_subtract_once,
        churn_at_period_end=settings.mrr_churn_at_period_end,
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
    customers = mrr_customer_daily(con, as_of, as_of, mrr_settings(settings))
    paying = customers[customers["net_mrr_minor"] > 0]
    by_currency = {
        str(currency): minor_to_major(float(amount), str(currency))
        for currency, amount in paying.groupby("currency")["net_mrr_minor"].sum().items()
    }
    mrr = money.total(by_currency)
    active_customers = int(paying["customer"].nunique())
    return {
        "as_of": as_of.isoformat(),
        "since": since.isoformat(),
        "reporting_currency": settings.reporting_currency,
        "mrr": mrr,
        "arr": None if mrr is None else 12 * mrr,
        "mrr_by_currency": by_currency,
        "active_customers": active_customers,
        "active_subscriptions": int(paying["subscriptions"].sum()),
        "arpu": None if mrr is None or active_customers == 0 else mrr / active_customers,
        "payment_success_rate": payment_success_rate(con, since, as_of),
        "warnings": warnings,
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
            self._warn(
                f"amounts in {', '.join(c.upper() for c in foreign)} cannot be converted to "
                f"{self.reporting.upper()}: no FX rates file. Put a CSV with columns "
                f"date,currency,rate at {self.settings.data_dir / 'fx_rates.csv'} or set "
                "PAYLENS_FX_RATES_FILE"
            )
            return None
        try:
            return convert_total(amounts, self.reporting, self.rates, on or self.as_of)
        except FxError as exc:
            self._warn(str(exc))
            return None

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def format_report(data: dict[str, Any]) -> str:
    """The report as a few aligned lines for a terminal."""
    currency = data["reporting_currency"]
    rate = data["payment_success_rate"]
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
        f"  Success rate   {_rate(rate)}",
    ]
    lines += [f"  warning: {warning}" for warning in data["warnings"]]
    return "\n".join(lines)


def _money(value: float | None, currency: str) -> str:
    return "n/a (see warning)" if value is None else format_money(value, currency)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
