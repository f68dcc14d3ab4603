"""The Revenue page's figures: MRR and movements per day, ISO week or month, MRR by plan, product
and currency, churn per month, the cohort grid, and the rows behind a movement or a cohort cell.

Each reads the functions the rest of paylens reads (`metrics.breakdowns`, `metrics.movements`,
`metrics.retention`, `metrics.churn`, `metrics.drilldown`) and the changes layer they share
(`sql/revenue_movements.sql` and `sql/revenue_cohort_customers.sql` sum and list it), so the page
and `paylens report` can never disagree. Every function shows either every currency converted to
the reporting one (`currency=None`; at the rate of the day each amount stands for, as
`movements_summary` values movements, so FX moves are `fx`, never churn) or one native currency
unconverted. Money is in major units where converted, in minor units (`*_minor`) where it stays in
its row's currency.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Literal

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers
from metrics.breakdowns import mrr_by_plan, mrr_by_product, mrr_series
from metrics.churn import DEFAULT_CHURN, ChurnSettings, churn_events, churn_monthly
from metrics.customers import customers_by_currency, trial_outcomes
from metrics.drilldown import movement_subscriptions
from metrics.fx import FxError, convert_total
from metrics.money import minor_to_major
from metrics.movements import CHANGES, KINDS, history_start, movements_summary
from metrics.mrr import DEFAULT_SETTINGS, MrrSettings, month_ends, mrr_currency_daily
from metrics.retention import cohort_retention, mrr_churn_monthly

Grain = Literal["day", "week", "month", "range"]  # "range": the whole of [start, as_of]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")


def revenue_currencies(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The currencies the account's subscriptions bill in, sorted (what the currency picker
    offers)."""
    rows = con.execute("SELECT DISTINCT currency FROM subscriptions ORDER BY 1").fetchall()
    return [str(row[0]) for row in rows if row[0]]


def periods(start: date, as_of: date, grain: Grain) -> list[tuple[date, date]]:
    """(first day, last day) of every period of `grain` in [`start`, `as_of`], the first starting
    on `start` and the last ending on `as_of` (the calendar spine: quiet periods included)."""
    if start > as_of:
        raise ValueError(f"start ({start}) is after as_of ({as_of})")
    if grain == "range":
        return [(start, as_of)]
    if grain == "day":
        ends = [start + timedelta(days=n) for n in range((as_of - start).days + 1)]
    elif grain == "week":  # ISO weeks end on Sunday
        sunday = start + timedelta(days=6 - start.weekday())
        ends = [sunday + timedelta(weeks=n) for n in range((as_of - sunday).days // 7 + 1)]
        ends = [day for day in ends if day < as_of] + [as_of]
    elif grain == "month":
        ends = month_ends(start, as_of)
    else:
        raise ValueError(f"grain must be day, week, month or range, got {grain!r}")
    firsts = [start, *(end + timedelta(days=1) for end in ends[:-1])]
    return list(zip(firsts, ends, strict=True))


def movement_rows(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    grain: Grain,
    currency: str | None = None,
    kind: str | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """One row per (period, customer, currency, kind) with a movement in [`start`, `as_of`]
    (`sql/revenue_movements.sql`): `period_start`, `period_end`, `customer`, `name`, `email`,
    `currency`, `kind`, `amount_minor` (positive), `changes`, `first_day`, and the customer's MRR
    in the currency before and after the period's changes (`start_mrr_minor`, `end_mrr_minor`)."""
    params: dict[str, Param] = {"start": start, "as_of": as_of, "grain": grain, **asdict(settings)}
    params.update({"currency": currency or "", "kind": kind or ""})
    frame = run_layers(con, [*CHANGES, "revenue_movements.sql"], params)
    for column in ("period_start", "period_end", "first_day"):
        frame[column] = as_days(frame[column])
    return frame


def movement_periods(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    grain: Grain,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    currency: str | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Per period of `grain` (every one, quiet ones with zeros): `period_start`, `period_end`,
    `start_mrr`, the movements of KINDS, `fx`, `end_mrr` and `net_new` (new + reactivation +
    expansion − contraction − churn), in major units; `end_mrr = start_mrr + net_new + fx`.

    Values as `movements_summary`'s: movements at the period end's rate, `fx` the start MRR
    revalued from the start's rate to the end's. With `currency`, that currency alone (fx 0).
    Raises FxError when a rate it needs is missing.
    """
    target, rates = _target(currency, reporting_currency, rates)
    sums = movement_rows(con, start, as_of, grain, currency, None, settings)
    spine = pd.DataFrame(periods(start, as_of, grain), columns=["period_start", "period_end"])
    # a zero movement in the target currency per period, so quiet periods get their row (and fx)
    spine = spine.assign(currency=target, kind=KINDS[0], amount_minor=0.0)
    movements = pd.concat([spine, sums[[*spine.columns]]], ignore_index=True)
    before = start - timedelta(days=1)
    opening = mrr_currency_daily(con, before, before, settings)
    if currency:
        opening = opening[opening["currency"] == currency]
    pairs = zip(opening["currency"], opening["net_mrr_minor"], strict=True)
    level = {str(c): float(v) for c, v in pairs}
    table = movements_summary(movements, level, target, rates)
    table["net_new"] = table["new"] + table["reactivation"] + table["expansion"]
    table["net_new"] -= table["contraction"] + table["churn"]
    return table


def signed_movements(table: pd.DataFrame) -> pd.DataFrame:
    """`movement_periods`' table in long form for a chart: `period_start`, `period_end`, `kind`
    (KINDS and fx), `amount` (contraction and churn negative)."""
    long = table.melt(["period_start", "period_end"], [*KINDS, "fx"], "kind", "amount")
    long.loc[long["kind"].isin(["contraction", "churn"]), "amount"] *= -1
    return long


def mrr_over_time(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    grain: Grain,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    currency: str | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """MRR and ARR at the end of every period of `grain` in [`start`, `as_of`] (`mrr_series`'s
    points, converted at each point's rate): `period_start`, `period_end`, `mrr`, `arr`, and
    `active_subscriptions` (paid ones, every currency's)."""
    series = mrr_series(con, start, as_of, "day" if grain == "range" else grain, settings)
    if currency:
        series = series[series["currency"] == currency]
    target, rates = _target(currency, reporting_currency, rates)
    rows = []
    for first, end in periods(start, as_of, grain):
        point = series[series["day"] == end]
        mrr = _convert(
            dict(zip(point["currency"], point["net_mrr_minor"], strict=True)), target, rates, end
        )
        subscriptions = int(point["active_subscriptions"].sum())
        rows.append((first, end, mrr, 12 * mrr, subscriptions))
    columns = ["period_start", "period_end", "mrr", "arr", "active_subscriptions"]
    return pd.DataFrame(rows, columns=columns)


def plan_mrr(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    currency: str | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
    by: Literal["plan", "product"] = "plan",
) -> pd.DataFrame:
    """`mrr_by_plan` (or `mrr_by_product`) at the end of `as_of`, with `net_mrr` converted to the
    target currency (`mrr`) and each row's `share` of the total, largest first."""
    frame = (mrr_by_plan if by == "plan" else mrr_by_product)(con, as_of, settings)
    return _with_share(frame, currency, reporting_currency, rates, as_of)


def currency_mrr(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    currency: str | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """`customers_by_currency` at the end of `as_of` (customers, subscriptions, MRR, ARR, ARPU in
    minor units of each currency) with `mrr` converted and its `share` of the total."""
    frame = customers_by_currency(con, as_of, settings).rename(
        columns={"mrr_minor": "net_mrr_minor"}
    )
    return _with_share(frame, currency, reporting_currency, rates, as_of)


def churn_by_month(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    settings: ChurnSettings = DEFAULT_CHURN,
) -> pd.DataFrame:
    """Per calendar month from `start`'s to `as_of`'s, every currency: `churn_monthly`'s customer
    churn and causes beside `mrr_churn_monthly`'s `start_mrr`, `gross_mrr_churn_rate`,
    `net_mrr_churn_rate`, `nrr` and `grr` (these None when a rate they need is missing)."""
    customers = churn_monthly(con, start, as_of, settings)
    revenue = ["start_mrr", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr"]
    try:
        flows = mrr_churn_monthly(con, start, as_of, reporting_currency, rates, settings)
    except FxError:
        return customers.assign(**dict.fromkeys(revenue, None))
    return customers.merge(flows[["period_end", *revenue]], on="period_end", how="left")


def cohort_grid(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    currency: str | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """`cohort_retention` per (`cohort`, `months_since`), its currencies added up: `customers`,
    `retained_customers`, `base_mrr` and `mrr` (major units, converted at `as_of`'s rate: constant
    currency, so FX never reads as churn), `customer_retention`, `revenue_retention` (NaN
    without base MRR). A customer belongs to one cohort (its first currency), so counts add up."""
    frame = cohort_retention(con, as_of, settings)
    if currency:
        frame = frame[frame["currency"] == currency]
    target, rates = _target(currency, reporting_currency, rates)
    converted = {
        column: [
            _convert({str(c): float(v)}, target, rates, as_of)
            for c, v in zip(frame["currency"], frame[f"{column}_minor"], strict=True)
        ]
        for column in ("base_mrr", "mrr")
    }
    keys = ["cohort", "months_since"]
    counts = ["customers", "retained_customers", "base_mrr", "mrr"]
    grid = frame.assign(**converted).groupby(keys, as_index=False)[counts].sum()
    grid["customer_retention"] = grid["retained_customers"] / grid["customers"]
    grid["revenue_retention"] = grid["mrr"] / grid["base_mrr"].where(grid["base_mrr"] > 0)
    return grid.sort_values(keys, ignore_index=True)


def cohort_customers(
    con: duckdb.DuckDBPyConnection,
    cohort: date,
    months_since: int,
    as_of: date,
    currency: str | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """The customers behind one cohort cell (`sql/revenue_cohort_customers.sql`): `customer`,
    `name`, `email`, `currency`, `signup_day`, `month_end`, `base_mrr_minor`, `mrr_minor` (at
    `month_end`, in the signup currency), `retained`, `last_change`."""
    first = min(history_start(con) or as_of, as_of)
    params: dict[str, Param] = {"start": first, "as_of": as_of, "cohort": cohort}
    params.update({"months_since": months_since, "currency": currency or "", **asdict(settings)})
    frame = run_layers(con, [*CHANGES, "revenue_cohort_customers.sql"], params)
    for column in ("signup_day", "month_end", "last_change"):
        frame[column] = as_days(frame[column])
    return frame


def movement_changes(
    con: duckdb.DuckDBPyConnection,
    period_start: date,
    period_end: date,
    kind: str | None = None,
    currency: str | None = None,
    customers: tuple[str, ...] | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """`movement_subscriptions` over [`period_start`, `period_end`] with the customer's `name`
    and `email`, kept to one movement kind, one currency and the given customers when asked."""
    frame = movement_subscriptions(con, period_start - timedelta(days=1), period_end, settings)
    keep = pd.Series(True, index=frame.index)
    if kind:
        keep &= frame["kind"] == kind
    if currency:
        keep &= frame["currency"] == currency
    if customers is not None:
        keep &= frame["customer"].isin(customers)
    return _named(con, frame[keep].reset_index(drop=True))


def trial_list(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> pd.DataFrame:
    """`trial_outcomes` over (`since`, `as_of`] with the customer's `name` and `email`."""
    return _named(con, trial_outcomes(con, since, as_of))


def churn_list(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: ChurnSettings = DEFAULT_CHURN,
) -> pd.DataFrame:
    """`churn_events` over (`since`, `as_of`] with the customer's `name` and `email`."""
    return _named(con, churn_events(con, since, as_of, settings))


def _named(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its customers' `name` and `email` after `customer` (a new frame)."""
    people = con.execute("SELECT id AS customer, name, email FROM customers").df()
    named = frame.merge(people, on="customer", how="left")
    order = list(frame.columns)
    at = order.index("customer") + 1
    return named[[*order[:at], "name", "email", *order[at:]]]


def _with_share(
    frame: pd.DataFrame,
    currency: str | None,
    reporting_currency: str,
    rates: pd.DataFrame | None,
    as_of: date,
) -> pd.DataFrame:
    """Rows of one currency (or all), with `mrr` (net MRR in the target currency, major units)
    and `share` (of the rows' total; None when it is 0)."""
    if currency:
        frame = frame[frame["currency"] == currency]
    target, rates = _target(currency, reporting_currency, rates)
    frame = frame.reset_index(drop=True)
    frame["mrr"] = [
        _convert({str(c): float(v)}, target, rates, as_of)
        for c, v in zip(frame["currency"], frame["net_mrr_minor"], strict=True)
    ]
    total = float(frame["mrr"].sum())
    frame["share"] = [None if total == 0 else value / total for value in frame["mrr"]]
    return frame.sort_values("mrr", ascending=False, ignore_index=True)


def _target(
    currency: str | None, reporting_currency: str, rates: pd.DataFrame | None
) -> tuple[str, pd.DataFrame | None]:
    """The currency amounts are shown in, and the rates to get there: none for one currency
    (its amounts stay as they are, whatever the table says about the reporting currency)."""
    return (currency, None) if currency else (reporting_currency, rates)


def _convert(minor: dict[str, float], target: str, rates: pd.DataFrame | None, on: date) -> float:
    """Minor units per currency → one amount in major units of `target` at `on`'s rate."""
    major = {str(c): minor_to_major(float(v), str(c)) for c, v in minor.items()}
    return convert_total(major, target, rates, on)
