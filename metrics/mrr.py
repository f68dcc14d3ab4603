"""MRR over history: per item, subscription, customer and currency, for every day of a window.

Rebuilt from the sync's history tables (`subscription_item_history`, `subscription_status_history`)
as *segments*, day ranges `[from_day, to_day)` over which MRR is constant, stored once per sync by
`metrics.refresh` (settings-independent) and read through `sql/mrr_item_segments.sql` (list MRR
per item) and `sql/mrr_subscription_segments.sql` (discounts taken off per subscription), which
apply the settings. A day's MRR is the segments containing it; the daily functions here
read segments day by day, the series (`sql/mrr_currency_daily.sql`) filters them by range, and
the labelled changes (`sql/mrr_labelled_changes.sql`, stored by `metrics.refresh` for every
settings combination) run over them whole, so every MRR figure has one definition.
Amounts are unrounded minor units of the row's own currency; currencies are never added together
here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers

ITEM_SEGMENTS = ["mrr_item_segments.sql"]
SEGMENTS = [*ITEM_SEGMENTS, "mrr_subscription_segments.sql"]  # both layers, for any reader
ITEM_LAYERS = [*ITEM_SEGMENTS, "mrr_item_daily.sql"]
SUBSCRIPTION_LAYERS = [*SEGMENTS, "mrr_subscription_daily.sql"]


@dataclass(frozen=True)
class MrrSettings:
    """The definitional choices SPEC §5 leaves to the user; the defaults are Stripe's.

    `subtract_repeating` / `subtract_once`: take repeating / once coupons off net MRR (forever
    coupons always are). `churn_at_period_end`: a cancellation at period end leaves MRR when the
    period ends (ChartMogul) instead of when it is requested (Stripe).
    """

    subtract_repeating: bool = True
    subtract_once: bool = False
    churn_at_period_end: bool = False


DEFAULT_SETTINGS = MrrSettings()


def mrr_item_daily(con: duckdb.DuckDBPyConnection, start: date, as_of: date) -> pd.DataFrame:
    """List MRR per subscription item per day in [`start`, `as_of`]: the drill-down rows.

    Columns: `day`, `subscription`, `customer`, `subscription_item`, `price`, `currency`,
    `quantity`, `period_amount_minor`, `list_mrr_minor`, `months_factor`. Cancellations follow
    Stripe's rule here; `mrr_subscription_daily` applies the settings.
    """
    return _days(run_layers(con, ITEM_LAYERS, _params(start, as_of, DEFAULT_SETTINGS)))


def mrr_subscription_daily(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """List and net MRR per subscription per day in [`start`, `as_of`].

    Columns: `day`, `subscription`, `customer`, `currency`, `items`, `list_mrr_minor`,
    `net_mrr_minor`. Only subscriptions in MRR that day have a row.
    """
    return _days(run_layers(con, SUBSCRIPTION_LAYERS, _params(start, as_of, settings)))


def mrr_customer_daily(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Net and list MRR per customer and currency per day; a customer with two subscriptions is
    one row. Columns: `day`, `customer`, `currency`, `subscriptions`, `list_mrr_minor`,
    `net_mrr_minor`."""
    outer = (
        "SELECT day, customer, currency, COUNT(*) AS subscriptions, "
        "fsum(list_mrr_minor) AS list_mrr_minor, fsum(net_mrr_minor) AS net_mrr_minor "
        "FROM mrr_subscription_daily GROUP BY ALL ORDER BY day, customer, currency"
    )
    params = _params(start, as_of, settings)
    return _days(run_layers(con, SUBSCRIPTION_LAYERS, params, outer))


def mrr_currency_daily(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """MRR per currency per day, one row for every day and currency with MRR on that day.

    Columns: `day`, `currency`, `list_mrr_minor`, `net_mrr_minor`, `active_subscriptions` (paid:
    net MRR above 0), `active_customers`. Running sums over segment boundaries
    (`sql/mrr_currency_daily.sql`), so a long window costs its boundaries, not its days.
    """
    layers = [*SEGMENTS, "mrr_currency_daily.sql"]
    return _days(run_layers(con, layers, _params(start, as_of, settings)))


def mrr_currency_monthly(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """MRR per currency at the end of each calendar month in [`start`, `as_of`] (the last month
    ends at `as_of`). Columns as `mrr_currency_daily`, plus `month` (first day of the month)."""
    daily = mrr_currency_daily(con, start, as_of, settings)
    ends = month_ends(start, as_of)
    month_end = daily[daily["day"].isin(ends)].copy()
    month_end.insert(0, "month", [day.replace(day=1) for day in month_end["day"]])
    return month_end.reset_index(drop=True)


def month_ends(start: date, as_of: date) -> list[date]:
    """The last day of every calendar month from `start`'s through `as_of`'s (that one: `as_of`)."""
    ends = [
        period.end_time.date()
        for period in pd.period_range(start, as_of, freq="M")
        if period.end_time.date() < as_of
    ]
    return [*ends, as_of]


def _params(start: date, as_of: date, settings: MrrSettings) -> dict[str, Param]:
    """The named parameters every MRR layer may read."""
    if start > as_of:
        raise ValueError(f"start ({start}) is after as_of ({as_of})")
    return {"start": start, "as_of": as_of, **asdict(settings)}


def _days(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as datetime.date, matching the rest of paylens' day columns."""
    if "day" in frame.columns:
        frame["day"] = as_days(frame["day"])
    return frame
