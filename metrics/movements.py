"""MRR movements per customer per period: new, reactivation, expansion, contraction, churn, FX.

Each change of a customer's net MRR in a currency is labelled on the day it happens, against the
MRR just before it, once per sync for the whole history (`metrics.refresh`, the table
`mrr_labelled_changes`); the queries read the changes of their days and settings
(`sql/mrr_customer_changes.sql`) and sum them per period (`sql/mrr_period_movements.sql`). A
period's movements are therefore the sum of its days' changes, so `end = start + new +
reactivation + expansion − contraction − churn` holds per currency exactly, and in a reporting
currency with `fx` added (`movements_summary`). Revenue churn, NRR/GRR, cohorts and the
drill-down read the same layer (`CHANGES`).
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
    """One row per (month, customer, currency, kind) with a change of that kind in the month.

    Months run from `start`'s through `as_of`'s (the last one ends at `as_of`; the first starts
    at the end of the day before `start`). Columns: `period_start` (first day), `period_end`,
    `customer`, `currency`, `start_mrr_minor` and `end_mrr_minor` (the customer's MRR in the
    currency at the month's two ends), `kind` (one of KINDS), `amount_minor` (positive; contraction
    and churn are subtracted), `changes` (how many days' changes of that kind it sums) and
    `first_day` (the first of them). A customer who starts a plan and adds a second one in the
    same month has two rows: new and expansion.
    """
    frame = period_movements(con, start, as_of, settings, single_period=False, outer=_ROWS)
    if frame.empty:
        return pd.DataFrame([], columns=_COLUMNS)
    return frame


def period_movements(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings,
    single_period: bool,
    outer: str,
    *,
    with_starts: bool = False,
) -> pd.DataFrame:
    """`outer` over `sql/mrr_period_movements.sql` (named `mrr_period_movements`): the labelled
    changes summed per (period, customer, currency, kind) for each month from `start`'s to
    `as_of`'s, or for the single period [`start`, `as_of`]; the shared input of the movements and
    of revenue churn. `with_starts` adds `mrr_period_starts` (`mrr_periods.sql` under it): the MRR
    per currency at each period's start, everyone's."""
    params: dict[str, Param] = {"start": start, "as_of": as_of, **asdict(settings)}
    params["single_period"] = single_period
    layers = [*CHANGES, "mrr_period_movements.sql"]
    if with_starts:
        layers += [*SEGMENTS, "mrr_periods.sql", "mrr_period_starts.sql"]
    frame = run_layers(con, layers, params, outer)
    for column in ("period_start", "period_end", "first_day"):
        if column in frame.columns:
            frame[column] = as_days(frame[column])
    return frame


def customer_changes(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Every labelled change in [`start`, `as_of`] (`sql/mrr_customer_changes.sql`): one row per
    (customer, currency, day) whose net MRR differs from the day before. Columns: `customer`,
    `currency`, `day`, `before_mrr_minor`, `after_mrr_minor`, `change_minor` (signed),
    `amount_minor`, `kind`, `customer_paying_before` (paying in any currency the day before)."""
    params: dict[str, Param] = {"start": start, "as_of": as_of, **asdict(settings)}
    outer = "SELECT * FROM mrr_customer_changes ORDER BY day, customer, currency"
    frame = run_layers(con, CHANGES, params, outer)
    frame["day"] = as_days(frame["day"])
    return frame


# The layer of the labelled changes, for every reader of the movements (it reads the stored
# `mrr_labelled_changes`, not the segments: a reader that needs those adds `SEGMENTS`).
CHANGES = ["mrr_customer_changes.sql"]

_COLUMNS = ["period_start", "period_end", "customer", "currency", "start_mrr_minor"]
_COLUMNS += ["end_mrr_minor", "kind", "amount_minor", "changes", "first_day", "in_cohort"]

_ROWS = f"""
SELECT {", ".join(_COLUMNS)}
FROM mrr_period_movements
ORDER BY period_end, customer, currency, first_day, kind
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
