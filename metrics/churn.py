"""Churn: which subscriptions stopped paying and why, and the customer churn rates built on it.

Two grains, on purpose. `churn_events` is per subscription and per cause (voluntary,
payment_failed, unpaid, past_due beyond the grace, disputed), read from the status history and
`cancellation_details.reason` (sql/churn_events.sql): that is what Stripe's API can say about
*why*. Customer churn (`customer_churn`, `stripe_subscriber_churn`, `churn_monthly`) is about
*whether* a customer still pays: its net MRR across all its subscriptions, as paid spells
(sql/customer_spells.sql, merged from the MRR segments). Rates are fractions 0..1, None without
a denominator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import Param, run_layers
from metrics.movements import history_start
from metrics.mrr import SEGMENTS, MrrSettings, month_ends

INVOLUNTARY_CAUSES = ("payment_failed", "unpaid", "past_due")


@dataclass(frozen=True)
class ChurnSettings(MrrSettings):
    """MRR's settings plus the past_due grace: a subscription `past_due` for longer than
    `involuntary_past_due_days` churns involuntarily when the grace runs out (SPEC §5)."""

    involuntary_past_due_days: int = 30


DEFAULT_CHURN = ChurnSettings()


@dataclass(frozen=True)
class CustomerChurn:
    """Customers paying at the start of a period, those of them not paying at its end, and the
    rate (None with no customers at the start)."""

    start_customers: int
    churned_customers: int
    rate: float | None


@dataclass(frozen=True)
class StripeSubscriberChurn:
    """Stripe's variant over the 30 days to `as_of`: churned ÷ (active 30 days ago + new)."""

    active_30_days_ago: int
    new_customers: int
    churned_customers: int
    rate: float | None


@dataclass(frozen=True)
class InvoluntaryChurn:
    """Subscription churn in a period split by kind; the rate is over the paying subscriptions
    at the start (those that joined inside the period excluded), the shares over all churn."""

    start_subscriptions: int
    churned: int
    voluntary: int
    involuntary: int
    disputed: int
    involuntary_rate: float | None
    involuntary_share: float | None
    disputed_share: float | None


def churn_events(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: ChurnSettings = DEFAULT_CHURN,
) -> pd.DataFrame:
    """One row per subscription that stopped paying in (`since`, `as_of`]: the drill-down.

    Columns: `subscription`, `customer`, `day`, `at` (timestamp), `cause` (voluntary,
    payment_failed, unpaid, past_due, disputed), `kind` (voluntary, involuntary, disputed),
    `from_status`, `currency`, `mrr_lost_minor` (net MRR at the end of the day before).
    """
    frame = run_layers(con, [*SEGMENTS, "churn_events.sql"], _params(since, since, as_of, settings))
    frame["day"] = [pd.Timestamp(value).date() for value in frame["day"]]
    return frame


def involuntary_churn(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: ChurnSettings = DEFAULT_CHURN,
) -> InvoluntaryChurn:
    """Involuntary churn over (`since`, `as_of`]: its rate and its share of all churn."""
    events = churn_events(con, since, as_of, settings)
    paying = _paying_subscriptions(con, since, settings)
    kinds = events["kind"].value_counts()
    involuntary = int(kinds.get("involuntary", 0))
    disputed = int(kinds.get("disputed", 0))
    from_start = events[(events["kind"] == "involuntary") & events["subscription"].isin(paying)]
    return InvoluntaryChurn(
        start_subscriptions=len(paying),
        churned=len(events),
        voluntary=int(kinds.get("voluntary", 0)),
        involuntary=involuntary,
        disputed=disputed,
        involuntary_rate=_ratio(from_start["subscription"].nunique(), len(paying)),
        involuntary_share=_ratio(involuntary, len(events)),
        disputed_share=_ratio(disputed, len(events)),
    )


def customer_churn(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_CHURN,
) -> CustomerChurn:
    """Customer churn rate over (`since`, `as_of`]: customers paying at the end of `since` and
    not at the end of `as_of`, ÷ customers paying at the end of `since`."""
    spells = customer_spells(con, since, as_of, settings)
    start = _paying_on(spells, since)
    churned = start - _paying_on(spells, as_of)
    return CustomerChurn(len(start), len(churned), _ratio(len(churned), len(start)))


def stripe_subscriber_churn(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    settings: MrrSettings = DEFAULT_CHURN,
) -> StripeSubscriberChurn:
    """Stripe's subscriber churn rate, for reconciliation with its dashboard: customers who
    stopped paying in the 30 days to `as_of` ÷ (customers paying 30 days ago + customers who
    started paying in those 30 days, new or returning)."""
    since = as_of - timedelta(days=30)
    spells = customer_spells(con, since, as_of, settings)
    active = _paying_on(spells, since)
    new = spells[(spells["first_day"] > since) & (spells["first_day"] <= as_of)]
    left = spells[(spells["last_day"] >= since) & (spells["last_day"] < as_of)]
    churned, joined = left["customer"].nunique(), new["customer"].nunique()
    return StripeSubscriberChurn(
        len(active), joined, churned, _ratio(churned, len(active) + joined)
    )


def customer_spells(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_CHURN,
) -> pd.DataFrame:
    """Each customer's paid spells (runs of days with net MRR above 0) seen from the first day of
    history (or `since`, if earlier) to `as_of`. Columns: `customer`, `first_day`, `last_day`,
    `spell` (1 for the first; above 1 a return)."""
    first = min(history_start(con) or since, since)
    frame = run_layers(
        con, [*SEGMENTS, "customer_spells.sql"], _params(first, since, as_of, settings)
    )
    for column in ("first_day", "last_day"):
        frame[column] = [pd.Timestamp(value).date() for value in frame[column]]
    return frame


def churn_monthly(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    settings: ChurnSettings = DEFAULT_CHURN,
) -> pd.DataFrame:
    """Per calendar month from `start`'s to `as_of`'s (the last one ends at `as_of`): customer
    churn and the subscription churn events by cause, for the dashboard and alerts.

    Columns: `period_start`, `period_end`, `start_customers`, `churned_customers`,
    `customer_churn_rate`, `new_customers`, `reactivated_customers`, `churn_events`, one count
    per cause (`voluntary`, `payment_failed`, `unpaid`, `past_due`, `disputed`), `involuntary`,
    `involuntary_share`.
    """
    before = start - timedelta(days=1)
    spells = customer_spells(con, before, as_of, settings)
    events = churn_events(con, before, as_of, settings)
    rows = []
    for end in month_ends(start, as_of):
        in_month = events[(events["day"] > before) & (events["day"] <= end)]
        joined = spells[(spells["first_day"] > before) & (spells["first_day"] <= end)]
        start_set = _paying_on(spells, before)
        churned = start_set - _paying_on(spells, end)
        causes = in_month["cause"].value_counts()
        involuntary = int(in_month["cause"].isin(INVOLUNTARY_CAUSES).sum())
        rows.append(
            {
                "period_start": before + timedelta(days=1),
                "period_end": end,
                "start_customers": len(start_set),
                "churned_customers": len(churned),
                "customer_churn_rate": _ratio(len(churned), len(start_set)),
                "new_customers": joined.loc[joined["spell"] == 1, "customer"].nunique(),
                "reactivated_customers": joined.loc[joined["spell"] > 1, "customer"].nunique(),
                "churn_events": len(in_month),
                **{cause: int(causes.get(cause, 0)) for cause in _CAUSES},
                "involuntary": involuntary,
                "involuntary_share": _ratio(involuntary, len(in_month)),
            }
        )
        before = end
    return pd.DataFrame(rows)


_CAUSES = ["voluntary", "payment_failed", "unpaid", "past_due", "disputed"]


def _paying_on(spells: pd.DataFrame, day: date) -> set[str]:
    """Customers inside a paid spell at the end of `day`."""
    inside = spells[(spells["first_day"] <= day) & (spells["last_day"] >= day)]
    return set(inside["customer"].astype(str))


def _paying_subscriptions(
    con: duckdb.DuckDBPyConnection, day: date, settings: MrrSettings
) -> set[str]:
    """Subscriptions in MRR (a paying status) at the end of `day`."""
    outer = (
        "SELECT DISTINCT subscription FROM mrr_subscription_segments "
        "WHERE from_day <= CAST($as_of AS DATE) AND CAST($as_of AS DATE) < to_day"
    )
    frame = run_layers(con, SEGMENTS, _params(day, day, day, settings), outer)
    return set(frame["subscription"].astype(str))


def _params(start: date, since: date, as_of: date, settings: MrrSettings) -> dict[str, Param]:
    """Named parameters for the MRR layers (from `start`) and the churn queries over
    (`since`, `as_of`]."""
    if since > as_of:
        raise ValueError(f"since ({since}) is after as_of ({as_of})")
    grace = getattr(settings, "involuntary_past_due_days", DEFAULT_CHURN.involuntary_past_due_days)
    values: dict[str, Param] = {"start": start, "since": since, "as_of": as_of}
    mrr_settings = {k: v for k, v in asdict(settings).items() if isinstance(v, bool)}
    return {**values, **mrr_settings, "involuntary_past_due_days": int(grace)}


def _ratio(numerator: float, denominator: float) -> float | None:
    """A fraction, or None when there is nothing to divide by."""
    return None if denominator == 0 else numerator / denominator
