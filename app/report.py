"""The `paylens report` contract: the key numbers at the end of a UTC day, as a plain dict.

JSON keys (the metrics issue extends this): `as_of`, `reporting_currency`, `mrr` (major units of
the reporting currency, or null when a needed FX rate is missing — `warnings` says which),
`mrr_by_currency` (major units, unrounded), `active_subscriptions`, `payment_success_rate`
(a fraction over the 7 days ending `as_of`, null when nothing was attempted), `warnings`.
The dashboard shows the same dict, so the two can never disagree.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from app.settings import Settings
from metrics.fx import FxError, convert_total, load_rates_csv
from metrics.money import format_money, minor_to_major
from metrics.payments import payment_success_rate
from metrics.revenue import mrr_by_currency

SUCCESS_RATE_DAYS = 7


def build_report(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: date) -> dict[str, Any]:
    by_currency = mrr_by_currency(con, as_of)
    mrr_major = {
        currency: minor_to_major(amount, currency)
        for currency, amount in zip(
            by_currency["currency"].tolist(), by_currency["mrr_minor"].tolist(), strict=True
        )
    }
    warnings: list[str] = []
    total: float | None = None
    rates_path = settings.fx_rates_path
    foreign = sorted(c for c, v in mrr_major.items() if v and c != settings.reporting_currency)
    if foreign and rates_path is None:
        warnings.append(
            f"MRR in {', '.join(c.upper() for c in foreign)} cannot be converted to "
            f"{settings.reporting_currency.upper()}: no FX rates file. Put a CSV with columns "
            f"date,currency,rate at {settings.data_dir / 'fx_rates.csv'} or set "
            "PAYLENS_FX_RATES_FILE"
        )
    else:
        try:
            rates = load_rates_csv(rates_path) if rates_path else None
            total = convert_total(mrr_major, settings.reporting_currency, rates, as_of)
        except FxError as exc:
            warnings.append(str(exc))
    since = as_of - timedelta(days=SUCCESS_RATE_DAYS)
    return {
        "as_of": as_of.isoformat(),
        "reporting_currency": settings.reporting_currency,
        "mrr": total,
        "mrr_by_currency": mrr_major,
        # a subscription bills in one currency, so the per-currency counts add up exactly
        "active_subscriptions": int(by_currency["active_subscriptions"].sum()),
        "payment_success_rate": payment_success_rate(con, since, as_of),
        "warnings": warnings,
    }


def format_report(data: dict[str, Any]) -> str:
    """The report as a few aligned lines for a terminal."""
    currency = data["reporting_currency"]
    rate = data["payment_success_rate"]
    lines = [
        f"paylens report as of {data['as_of']} (end of day, UTC)",
        f"  MRR            {_money(data['mrr'], currency)}",
    ]
    lines += [
        f"    {cur.upper():<12} {format_money(value, cur)}"
        for cur, value in sorted(data["mrr_by_currency"].items())
    ]
    lines += [
        f"  ARR            {_money(None if data['mrr'] is None else 12 * data['mrr'], currency)}",
        f"  Subscriptions  {data['active_subscriptions']:,} active",
        f"  Success rate   {'n/a' if rate is None else f'{rate:.2%}'}"
        f" (last {SUCCESS_RATE_DAYS} days)",
    ]
    lines += [f"  warning: {warning}" for warning in data["warnings"]]
    return "\n".join(lines)


def _money(value: float | None, currency: str) -> str:
    return "n/a (see warning)" if value is None else format_money(value, currency)
