"""Customers: who pays on a day, ARPU, ARR, LTV, subscriber counts by plan, trial conversion.

A customer or subscription is *active* on a day when its net MRR at the end of that day is above
0 (the rule of `metrics.mrr.mrr_currency_daily`): a customer with several subscriptions counts
once; trials, free plans and subscriptions fully discounted are not subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers, run_sql
from metrics.churn import customer_churn
from metrics.fx import convert_total
from metrics.money import minor_to_major
from metrics.mrr import (
    DEFAULT_SETTINGS,
    ITEM_LAYERS,
    MrrSettings,
    mrr_currency_daily,
    mrr_subscription_daily,
)


@dataclass(frozen=True)
class CustomerTotals:
    """Active customers and subscriptions, MRR, ARR and ARPU on one day, money in major units of
    the reporting currency (ARPU None without customers)."""

    active_customers: int
    active_subscriptions: int
    mrr: float
    arr: float
    arpu: float | None


@dataclass(frozen=True)
class TrialConversion:
    """Trial conversion over a period, two ways (docs/METRICS.md "trial_conversion").

    paylens: `converted` of the `ended` trials went on to a paying status; `rate` ≤ 1. Stripe:
    `stripe_converted` trials became active (first invoice paid) in the period, whenever they
    ended, ÷ the trials that ended in it: `stripe_rate` can exceed 1. Rates None when no trial
    ended.
    """

    ended: int
    converted: int
    rate: float | None
    stripe_converted: int
    stripe_rate: float | None


def customers_by_currency(
    con: duckdb.DuckDBPyConnection, as_of: date, settings: MrrSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Per currency at the end of `as_of`: `active_customers`, `active_subscriptions`,
    `mrr_minor`, `arr_minor` (12 × MRR) and `arpu_minor` (MRR ÷ active customers, NaN without
    customers), all in minor units of that currency."""
    daily = mrr_currency_daily(con, as_of, as_of, settings)
    frame = pd.DataFrame(
        {
            "currency": daily["currency"].astype(str),
            "active_customers": daily["active_customers"].astype("int64"),
            "active_subscriptions": daily["active_subscriptions"].astype("int64"),
            "mrr_minor": daily["net_mrr_minor"].astype("float64"),
        }
    )
    frame["arr_minor"] = 12 * frame["mrr_minor"]
    frame["arpu_minor"] = frame["mrr_minor"] / frame["active_customers"].where(
        frame["active_customers"] > 0
    )
    return frame.reset_index(drop=True)


def customer_totals(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> CustomerTotals:
    """Active customers (each once, whatever its currencies) and subscriptions, MRR, ARR and
    ARPU at the end of `as_of`, converted at `as_of`'s rate."""
    subscriptions = mrr_subscription_daily(con, as_of, as_of, settings)
    paid = subscriptions[subscriptions["net_mrr_minor"] > 0]
    per_currency = paid.groupby("currency")["net_mrr_minor"].sum()
    major = {str(c): minor_to_major(float(a), str(c)) for c, a in per_currency.items()}
    mrr = convert_total(major, reporting_currency, rates, as_of)
    customers = int(paid["customer"].nunique())
    return CustomerTotals(
        active_customers=customers,
        active_subscriptions=int(paid["subscription"].nunique()),
        mrr=mrr,
        arr=12 * mrr,
        arpu=None if customers == 0 else mrr / customers,
    )


def ltv(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> float | None:
    """Customer lifetime value = ARPU at `as_of` ÷ the customer churn rate of the month to
    `as_of` (same day a month earlier, exclusive). None when either is missing or churn is 0."""
    arpu = customer_totals(con, as_of, reporting_currency, rates, settings).arpu
    month_ago = (pd.Timestamp(as_of) - pd.DateOffset(months=1)).date()
    rate = customer_churn(con, month_ago, as_of, settings).rate
    if arpu is None or not rate:
        return None
    return arpu / rate


def subscriber_counts(
    con: duckdb.DuckDBPyConnection, as_of: date, settings: MrrSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Subscribers by plan at the end of `as_of`: one row per (`product`, `price`, `currency`)
    with `subscriptions`, `customers`, `quantity` and `list_mrr_minor` (that price's items,
    before discounts). A subscription with two prices counts under both."""
    # only what the item layer reads: discounts are taken off per subscription, not per price
    params: dict[str, Param] = {
        "start": as_of,
        "as_of": as_of,
        "churn_at_period_end": settings.churn_at_period_end,
    }
    outer = (
        "SELECT p.product, r.price, r.currency, COUNT(DISTINCT r.subscription) AS subscriptions, "
        "COUNT(DISTINCT r.customer) AS customers, SUM(r.quantity) AS quantity, "
        "SUM(r.list_mrr_minor) AS list_mrr_minor "
        "FROM mrr_item_daily AS r LEFT JOIN prices AS p ON p.id = r.price "
        "WHERE r.list_mrr_minor > 0 GROUP BY ALL ORDER BY p.product, r.price"
    )
    return run_layers(con, ITEM_LAYERS, params, outer)


def trial_outcomes(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> pd.DataFrame:
    """Every trial that ended in (`since`, `as_of`] or converted in it (Stripe's sense), for
    drill-down: `subscription`, `customer`, `currency`, `trial_start`, `trial_end`, `day` (the
    trial's last day), `next_status`, `ended`, `converted` (paylens), `converted_at`,
    `stripe_converted`."""
    frame = run_sql(con, "trial_outcomes.sql", {"since": since, "as_of": as_of})
    frame["day"] = as_days(frame["day"])
    return frame


def trial_conversion(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> TrialConversion:
    """Trial conversion over (`since`, `as_of`]: paylens' rate (trials that ended then and went on
    to a paying status ÷ trials that ended then) and Stripe's (trials that converted then ÷
    trials that ended then)."""
    outcomes = trial_outcomes(con, since, as_of)
    ended = int(outcomes["ended"].sum())
    converted = int(outcomes["converted"].sum())
    stripe_converted = int(outcomes["stripe_converted"].sum())
    return TrialConversion(
        ended=ended,
        converted=converted,
        rate=None if ended == 0 else converted / ended,
        stripe_converted=stripe_converted,
        stripe_rate=None if ended == 0 else stripe_converted / ended,
    )
