"""MRR movements per customer per period: new, reactivation, expansion, contraction, churn, FX.

Built on the MRR segments (`sql/mrr_period_changes.sql`): a customer's net MRR at the end of the
day before a period is its start, at the period's last day its end, and the difference is one
movement of one kind, classified in SQL. So `end = start + new + reactivation + expansion −
contraction − churn` holds per currency by construction, and in a reporting currency with `fx`
added (`movements_summary`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import cast

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers
from metrics.fx import convert_total
from metrics.money import minor_to_major
from metrics.mrr import DEFAULT_SETTINGS, SEGMENTS, MrrSettings

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
    frame = period_changes(con, start, as_of, settings, single_period=False, outer=CLASSIFIED)
    if frame.empty:
        return pd.DataFrame([], columns=_COLUMNS)
    return frame


def period_changes(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings,
    single_period: bool,
    outer: str,
    *,
    with_starts: bool = False,
) -> pd.DataFrame:
    """`outer` over `sql/mrr_period_changes.sql` (named `mrr_period_changes`): the net MRR per
    currency at both ends of each month from `start`'s to `as_of`'s, or of the single period
    [`start`, `as_of`], of each customer whose MRR may have changed in it; the shared input of
    the movements and of revenue churn. `with_starts` adds `mrr_period_starts`: the MRR per
    currency at each period's start, everyone's."""
    params: dict[str, Param] = {"start": start, "as_of": as_of, **asdict(settings)}
    params["single_period"] = single_period
    layers = [*SEGMENTS, "mrr_periods.sql", "mrr_period_changes.sql"]
    if with_starts:
        layers.append("mrr_period_starts.sql")
    frame = run_layers(con, layers, params, outer)
    for column in ("period_start", "period_end"):
        if column in frame.columns:
            frame[column] = as_days(frame[column])
    return frame


_COLUMNS = ["period_start", "period_end", "customer", "currency"]
_COLUMNS += ["start_mrr_minor", "end_mrr_minor", "kind", "amount_minor"]

# First time above 0 is new, a return (in the same currency) is reactivation. Shared with the
# drill-down (`metrics.drilldown`), so a subscription row carries its customer's kind.
CLASSIFIED = """
SELECT period_start, period_end, customer, currency, start_mrr_minor, end_mrr_minor,
    CASE WHEN start_mrr_minor = 0 THEN (CASE WHEN paid_before THEN 'reactivation' ELSE 'new' END)
         WHEN end_mrr_minor = 0 THEN 'churn'
         WHEN end_mrr_minor > start_mrr_minor THEN 'expansion'
         ELSE 'contraction' END AS kind,
    abs(end_mrr_minor - start_mrr_minor) AS amount_minor
FROM mrr_period_changes
WHERE start_mrr_minor <> end_mrr_minor
ORDER BY period_end, customer, currency
"""


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
