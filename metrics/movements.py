"""MRR movements per customer per period: new, reactivation, expansion, contraction, churn, FX.

Built on `metrics.mrr.mrr_customer_daily`: a customer's net MRR at the end of the day before a
period is its start, at the period's last day its end, and the difference is one movement of one
kind. So `end = start + new + reactivation + expansion − contraction − churn` holds per currency by
construction, and in a reporting currency with `fx` added (`movements_summary`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

import duckdb
import pandas as pd

from metrics.fx import convert_total
from metrics.money import minor_to_major
from metrics.mrr import DEFAULT_SETTINGS, MrrSettings, month_ends, mrr_customer_daily

KINDS = ["new", "reactivation", "expansion", "contraction", "churn"]


def history_start(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first day any subscription item is known, where "ever paid before" starts counting."""
    row = con.execute("SELECT MIN(valid_from) FROM subscription_item_history").fetchone()
    return None if row is None or row[0] is None else row[0].date()


def mrr_movements(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """One row per (month, customer, currency) whose net MRR changed in the month.

    Months run from `start`'s through `as_of`'s (the last one ends at `as_of`; the first starts
    at the end of the day before `start`). Columns: `period_start` (first day), `period_end`,
    `customer`, `currency`, `start_mrr_minor`, `end_mrr_minor`, `kind` (one of KINDS) and
    `amount_minor` (positive; contraction and churn are subtracted).
    """
    first = min(history_start(con) or start, start - timedelta(days=1))
    daily = mrr_customer_daily(con, first, as_of, settings)
    paid = daily[daily["net_mrr_minor"] > 0]
    value: dict[date, dict[tuple[str, str], float]] = {}
    for day, customer, currency, amount in paid[
        ["day", "customer", "currency", "net_mrr_minor"]
    ].itertuples(index=False):
        value.setdefault(day, {})[(str(customer), str(currency))] = float(amount)
    rows: list[dict[str, object]] = []
    before = start - timedelta(days=1)
    for end in month_ends(start, as_of):
        rows += _period_rows(paid, value, before, end)
        before = end
    return pd.DataFrame(rows, columns=_COLUMNS)


_COLUMNS = ["period_start", "period_end", "customer", "currency"]
_COLUMNS += ["start_mrr_minor", "end_mrr_minor", "kind", "amount_minor"]


def _period_rows(
    paid: pd.DataFrame, value: dict[date, dict[tuple[str, str], float]], before: date, end: date
) -> list[dict[str, object]]:
    """The movements of one period (before, end]: compare each customer's two boundary values."""
    start_values = value.get(before, {})
    end_values = value.get(end, {})
    earlier = set(map(tuple, paid.loc[paid["day"] <= before, ["customer", "currency"]].to_numpy()))
    rows = []
    for key in sorted(set(start_values) | set(end_values)):
        old, new = float(start_values.get(key, 0.0)), float(end_values.get(key, 0.0))
        if old == new:
            continue
        kind = _kind(old, new, key in earlier)
        rows.append(
            {
                "period_start": before + timedelta(days=1),
                "period_end": end,
                "customer": key[0],
                "currency": key[1],
                "start_mrr_minor": old,
                "end_mrr_minor": new,
                "kind": kind,
                "amount_minor": abs(new - old),
            }
        )
    return rows


def _kind(old: float, new: float, paid_before: bool) -> str:
    """Classify one customer's change: first time above 0 is new, a return is reactivation."""
    if old == 0:
        return "reactivation" if paid_before else "new"
    if new == 0:
        return "churn"
    return "expansion" if new > old else "contraction"


def movements_summary(
    movements: pd.DataFrame,
    start_by_currency: dict[str, float],
    reporting_currency: str,
    rates: pd.DataFrame | None,
) -> pd.DataFrame:
    """Per period, the movements in major units of the reporting currency, with `fx`.

    `start_by_currency`: MRR in minor units per currency at the end of the day before the first
    period. Each movement is valued at the period end's rate; `fx` revalues the period's start
    MRR from the start rate to the end rate, so `end_mrr = start_mrr + new + reactivation +
    expansion − contraction − churn + fx` holds in the reporting currency too.
    """
    rows = []
    level = dict(start_by_currency)
    for keys, period in movements.groupby(["period_start", "period_end"], sort=True):
        first, end = cast(tuple[date, date], keys)
        before = first - timedelta(days=1)
        row: dict[str, object] = {"period_start": first, "period_end": end}
        row["start_mrr"] = _value(level, reporting_currency, rates, before)
        fx = _value(level, reporting_currency, rates, end) - float(row["start_mrr"])  # type: ignore[arg-type]
        for kind in KINDS:
            part = period[period["kind"] == kind].groupby("currency")["amount_minor"].sum()
            row[kind] = _value(
                {str(c): float(a) for c, a in part.items()}, reporting_currency, rates, end
            )
            sign = -1 if kind in ("contraction", "churn") else 1
            for currency, amount in part.items():
                level[str(currency)] = level.get(str(currency), 0.0) + sign * float(amount)
        row["fx"] = fx
        row["end_mrr"] = _value(level, reporting_currency, rates, end)
        rows.append(row)
    return pd.DataFrame(rows)


def _value(minor: dict[str, float], reporting: str, rates: pd.DataFrame | None, on: date) -> float:
    """Minor units per currency → one amount in major units of the reporting currency."""
    major = {currency: minor_to_major(amount, currency) for currency, amount in minor.items()}
    return convert_total(major, reporting, rates, on)
