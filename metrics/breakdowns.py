"""MRR broken down: per plan and product, and as a series by day, ISO week or month.

Both read the MRR segments (`metrics.mrr`), so they add up to the same totals as every other MRR
figure: the plans' net MRR to the currencies' on the same day, a series' points to
`mrr_currency_daily` on the days they stand for.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Literal

import duckdb
import pandas as pd

from metrics._sql import Param, run_layers
from metrics.mrr import DEFAULT_SETTINGS, SEGMENTS, MrrSettings, month_ends, mrr_currency_daily

Grain = Literal["day", "week", "month"]


def mrr_by_plan(
    con: duckdb.DuckDBPyConnection, as_of: date, settings: MrrSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Net and list MRR per plan (price) at the end of `as_of`, largest first.

    Columns: `product`, `product_name`, `price`, `price_nickname`, `currency`, `subscriptions`,
    `customers`, `quantity`, `list_mrr_minor`, `net_mrr_minor` (a subscription's net MRR split
    over its items in proportion to their list MRR).
    """
    params: dict[str, Param] = {"start": as_of, "as_of": as_of, **asdict(settings)}
    return run_layers(con, [*SEGMENTS, "mrr_by_plan.sql"], params)


def mrr_by_product(
    con: duckdb.DuckDBPyConnection, as_of: date, settings: MrrSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """`mrr_by_plan` summed per product and currency: `product`, `product_name`, `currency`,
    `subscriptions`, `customers`, `list_mrr_minor`, `net_mrr_minor` (a subscription with two
    plans of one product counts once)."""
    plans = mrr_by_plan(con, as_of, settings)
    params: dict[str, Param] = {"start": as_of, "as_of": as_of, **asdict(settings)}
    counts = run_layers(
        con,
        SEGMENTS,
        params,
        "SELECT pr.product, i.currency, COUNT(DISTINCT i.subscription) AS subscriptions, "
        "COUNT(DISTINCT i.customer) AS customers FROM mrr_item_segments AS i "
        "LEFT JOIN prices AS pr ON pr.id = i.price "
        "WHERE i.from_day <= CAST($as_of AS DATE) AND CAST($as_of AS DATE) < i.to_day "
        "GROUP BY ALL",
    )
    money = plans.groupby(["product", "product_name", "currency"], dropna=False, as_index=False)[
        ["list_mrr_minor", "net_mrr_minor"]
    ].sum()
    merged = money.merge(counts, on=["product", "currency"], how="left")
    columns = ["product", "product_name", "currency", "subscriptions", "customers"]
    columns += ["list_mrr_minor", "net_mrr_minor"]
    return merged[columns].sort_values("net_mrr_minor", ascending=False, ignore_index=True)


def mrr_series(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    grain: Grain = "day",
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """MRR per currency at the end of each day, ISO week (Sunday) or calendar month in
    [`start`, `as_of`]; the last point is `as_of` itself. Columns as `mrr_currency_daily`, plus
    `period` (the first day of the week or month; the day itself by day)."""
    daily = mrr_currency_daily(con, start, as_of, settings)
    if grain == "day":
        ends = sorted(set(daily["day"]))
    elif grain == "week":
        sunday = start + timedelta(days=6 - start.weekday())
        ends = [sunday + timedelta(weeks=n) for n in range((as_of - sunday).days // 7 + 1)]
        ends = [day for day in ends if day < as_of] + [as_of]
    elif grain == "month":
        ends = month_ends(start, as_of)
    else:
        raise ValueError(f"grain must be day, week or month, got {grain!r}")
    points = daily[daily["day"].isin(ends)].copy()
    points.insert(0, "period", [_period_start(day, grain) for day in points["day"]])
    return points.reset_index(drop=True)


def _period_start(day: date, grain: Grain) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day
