"""Monthly recurring revenue (MRR), per native currency.

The definition lives in `sql/mrr_by_subscription.sql` (one row per subscription item); the
functions here only aggregate those rows. MRR is never summed across currencies here: convert with
`metrics.fx.convert_total` for a single reporting-currency figure.

Skeleton limit: computed from the subscriptions' current state, so exact only for `as_of` on or
after the last sync (see docs/METRICS.md).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from metrics._sql import run_sql

MRR_BY_CURRENCY_COLUMNS = ["currency", "mrr_minor", "active_subscriptions", "unpriced_items"]


def mrr_items(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """The subscription items that make up MRR at the end of `as_of`, for drill-down.

    One row per item: `subscription_item`, `subscription`, `customer`, `subscription_status`,
    `currency`, `price`, `billing_scheme`, `interval`, `interval_count`, `quantity`,
    `unit_amount`, `period_amount_minor` (unit_amount × quantity, per billing period) and
    `mrr_minor` (normalised to a month, unrounded minor units; NaN for a tiered price, which this
    skeleton does not price yet).
    """
    return run_sql(con, "mrr_by_subscription.sql", {"as_of": as_of})


def mrr_by_currency(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """MRR at the end of `as_of`, one row per native currency, ordered by currency.

    Columns: `currency`, `mrr_minor` (float, unrounded minor units), `active_subscriptions` (int:
    paid subscriptions, as in `active_subscriptions`) and `unpriced_items` (int: counted items
    whose MRR is unknown, i.e. tiered prices; when above 0, `mrr_minor` is understated).
    """
    items = mrr_items(con, as_of)
    if items.empty:
        return _empty_mrr_by_currency()
    flagged = items.assign(
        unpriced_items=items["mrr_minor"].isna(),
        paid_subscription=items["subscription"].where(_is_paid(items["mrr_minor"])),
    )
    result = flagged.groupby("currency", sort=True).agg(
        mrr_minor=("mrr_minor", "sum"),
        active_subscriptions=("paid_subscription", "nunique"),
        unpriced_items=("unpriced_items", "sum"),
    )
    result = result.astype(
        {"mrr_minor": "float64", "active_subscriptions": "int64", "unpriced_items": "int64"}
    )
    return result.reset_index()[MRR_BY_CURRENCY_COLUMNS]


def active_subscriptions(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Paid subscriptions counted in MRR at the end of `as_of`, across all currencies.

    A subscription counts when it is active or past_due and at least one of its licensed recurring
    items is worth more than 0 a month (or is tiered, whose worth this skeleton cannot tell yet).
    Free plans are left out, as in Stripe's "active subscribers".
    """
    items = mrr_items(con, as_of)
    return int(items.loc[_is_paid(items["mrr_minor"]), "subscription"].nunique())


def _is_paid(mrr_minor: pd.Series) -> pd.Series:
    """Items that make their subscription a paid one: positive MRR, or unknown (tiered) MRR."""
    return mrr_minor.isna() | (mrr_minor > 0)


def _empty_mrr_by_currency() -> pd.DataFrame:
    """The no-subscriptions result, with the same columns and dtypes as a non-empty one."""
    return pd.DataFrame(
        {
            "currency": pd.Series([], dtype="str"),
            "mrr_minor": pd.Series([], dtype="float64"),
            "active_subscriptions": pd.Series([], dtype="int64"),
            "unpriced_items": pd.Series([], dtype="int64"),
        }
    )
