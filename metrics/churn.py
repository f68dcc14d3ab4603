"""Churn: which subscriptions stopped paying and why, and the customer churn rates built on it.

Two grains, on purpose. `churn_events` is per subscription and per cause (voluntary,
payment_failed, unpaid, past_due beyond the grace, disputed), read from the status history and
`cancellation_details.reason` (sql/churn_ends.sql; sql/churn_events.sql adds the MRR lost): that
is what Stripe's API can say about *why*. Customer churn (`customer_churn`,
`stripe_subscriber_churn`, `churn_monthly`) is about *whether* a customer still pays: its net MRR
across all its subscriptions, as paid spells (sql/customer_spells.sql, cut from the spells
`metrics.refresh` merges from the MRR segments). Rates are fractions 0..1, None without a
denominator.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers
from metrics.movements import history_start
from metrics.mrr import SEGMENTS, MrrSettings, month_ends

INVOLUNTARY_CAUSES = ("payment_failed", "unpaid", "past_due")
EVENTS = [*SEGMENTS, "churn_ends.sql", "churn_events.sql"]  # the drill-down's layers
SPELLS = ["customer_spells.sql"]  # over the stored spells (`metrics.refresh`), not the segments


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
    """Subscriber churn over the 30 days to `as_of`, two ways (docs/METRICS.md).

    `rate` (paylens' variant): customers who stopped paying ÷ (paying 30 days ago + customers who
    started paying in the 30 days, new or returning, each once). `stripe_rate` (as Stripe states
    it): churns, a customer who left twice counting twice, ÷ (paying 30 days ago + new
    subscribers, reactivated ones left out). Both None without a denominator.
    """

    active_30_days_ago: int
    joined_customers: int
    new_customers: int
    reactivated_customers: int
    churned_customers: int
    churns: int
    rate: float | None
    stripe_rate: float | None


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
    frame = run_layers(con, EVENTS, _params(since, since, as_of, settings))
    frame["day"] = as_days(frame["day"])
    return frame


def involuntary_churn(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: ChurnSettings = DEFAULT_CHURN,
) -> InvoluntaryChurn:
    """Involuntary churn over (`since`, `as_of`]: its rate and its share of all churn."""
    events = churn_events(con, since, as_of, settings)
    involuntary_ids = events.loc[events["kind"] == "involuntary", "subscription"]
    paying, from_start = _paying_subscriptions(con, since, settings, involuntary_ids.tolist())
    kinds = events["kind"].value_counts()
    involuntary = int(kinds.get("involuntary", 0))
    disputed = int(kinds.get("disputed", 0))
    return InvoluntaryChurn(
        start_subscriptions=paying,
        churned=len(events),
        voluntary=int(kinds.get("voluntary", 0)),
        involuntary=involuntary,
        disputed=disputed,
        involuntary_rate=_ratio(from_start, paying),
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
    # paying on a day = a segment with net MRR above 0 contains it (what the spells merge)
    outer = """
    SELECT COUNT(*) FILTER (WHERE at_start) AS start_customers,
        COUNT(*) FILTER (WHERE at_start AND NOT at_end) AS churned_customers
    FROM (
        SELECT customer,
            bool_or(from_day <= CAST($since AS DATE) AND CAST($since AS DATE) < to_day) AS at_start,
            bool_or(from_day <= CAST($as_of AS DATE) AND CAST($as_of AS DATE) < to_day) AS at_end
        FROM mrr_subscription_segments
        WHERE net_mrr_minor > 0
        GROUP BY customer
    )
    """
    row = run_layers(con, SEGMENTS, _params(since, since, as_of, settings), outer).iloc[0]
    start, churned = int(row["start_customers"]), int(row["churned_customers"])
    return CustomerChurn(start, churned, _ratio(churned, start))


def stripe_subscriber_churn(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    settings: MrrSettings = DEFAULT_CHURN,
) -> StripeSubscriberChurn:
    """Subscriber churn over the 30 days to `as_of`, for reconciliation with Stripe's dashboard:
    paylens' variant (`rate`, returning customers in the denominator) and Stripe's as it states
    it (`stripe_rate`, reactivated customers left out of "new subscribers")."""
    since = as_of - timedelta(days=30)
    # spells from the first day of history, so a spell's number tells a new subscriber (1) from
    # a returning one; one that started or ended inside the 30 days did so whatever came before
    outer = """
    SELECT
        COUNT(DISTINCT customer) FILTER (
            WHERE first_day <= CAST($since AS DATE) AND last_day >= CAST($since AS DATE)) AS active,
        COUNT(DISTINCT customer) FILTER (WHERE started) AS joined,
        COUNT(DISTINCT customer) FILTER (WHERE started AND spell = 1) AS new,
        COUNT(DISTINCT customer) FILTER (WHERE started AND spell > 1) AS reactivated,
        COUNT(DISTINCT customer) FILTER (WHERE ended) AS churned,
        COUNT(*) FILTER (WHERE ended) AS churns
    FROM (
        SELECT *,
            first_day > CAST($since AS DATE) AND first_day <= CAST($as_of AS DATE) AS started,
            last_day >= CAST($since AS DATE) AND last_day < CAST($as_of AS DATE) AS ended
        FROM customer_spells
    )
    """
    first = min(history_start(con) or since, since)
    params = _params(first, since, as_of, settings)
    row = run_layers(con, SPELLS, params, outer).iloc[0]
    counts = {key: int(row[key]) for key in ("active", "joined", "new", "reactivated")}
    churned, churns = int(row["churned"]), int(row["churns"])
    return StripeSubscriberChurn(
        active_30_days_ago=counts["active"],
        joined_customers=counts["joined"],
        new_customers=counts["new"],
        reactivated_customers=counts["reactivated"],
        churned_customers=churned,
        churns=churns,
        rate=_ratio(churned, counts["active"] + counts["joined"]),
        stripe_rate=_ratio(churns, counts["active"] + counts["new"]),
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
    frame = run_layers(con, SPELLS, _params(first, since, as_of, settings))
    for column in ("first_day", "last_day"):
        frame[column] = as_days(frame[column])
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
    ends = month_ends(start, as_of)
    first = min(history_start(con) or before, before)
    params: dict[str, Param] = {**_params(first, before, as_of, settings), "ends": ends}
    # the two queries are independent: the causes run on a second cursor meanwhile
    with con.cursor() as second, ThreadPoolExecutor(max_workers=1) as pool:
        causes_ahead = pool.submit(
            run_layers,
            second,
            ["churn_ends.sql"],
            _params(before, before, as_of, settings),
            _BY_CAUSE,
        )
        counts = run_layers(con, SPELLS, params, _MONTHLY)
        by_cause = causes_ahead.result()
    counts["period_end"] = as_days(counts["period_end"])
    by_end = counts.set_index("period_end").to_dict("index")
    none = dict.fromkeys(counts.columns, 0)
    events = {
        (day, str(cause)): int(n)
        for day, cause, n in zip(
            as_days(by_cause["period_end"]), by_cause["cause"], by_cause["events"], strict=True
        )
    }
    rows = []
    for end in ends:
        found = by_end.get(end, none)
        start_customers, churned = int(found["start_customers"]), int(found["churned_customers"])
        causes = {cause: events.get((end, cause), 0) for cause in _CAUSES}
        involuntary = sum(n for cause, n in causes.items() if cause in INVOLUNTARY_CAUSES)
        in_month = sum(causes.values())
        rows.append(
            {
                "period_start": before + timedelta(days=1),
                "period_end": end,
                "start_customers": start_customers,
                "churned_customers": churned,
                "customer_churn_rate": _ratio(churned, start_customers),
                "new_customers": int(found["new_customers"]),
                "reactivated_customers": int(found["reactivated_customers"]),
                "churn_events": in_month,
                **causes,
                "involuntary": involuntary,
                "involuntary_share": _ratio(involuntary, in_month),
            }
        )
        before = end
    return pd.DataFrame(rows)


# Per month (the day before it and its last day, from the list $ends): customers paying at the
# start, of them those not paying at the end, and customers whose first (new) or a later
# (returning) paid spell began in the month; from the paid spells seen since history began.
# A customer's spells never overlap, so spells are counted, not customers. Each spell is placed
# by the month its first day falls in (`bf`) and the month of the first day after it (`be`; 0
# before the first month, 1,000,000 after the last): paying at the start of month i is
# bf < i <= be, and it ended in the month when be = i. Those not paying at the end are the latter
# less the customers who came back within the month and still paid at its end (`back`).
_MONTHLY = """
WITH periods AS (
    SELECT row_number() OVER (ORDER BY day) AS i,
        lag(day, 1, CAST($since AS DATE)) OVER (ORDER BY day) AS before, day AS period_end
    FROM (SELECT DISTINCT CAST(unnest($ends) AS DATE) AS day)
),
placed AS (
    SELECT s.customer, s.spell, COALESCE(f.i, 0) AS bf,
        COALESCE(e.i, CASE WHEN s.last_day < CAST($since AS DATE) THEN 0 ELSE 1000000 END) AS be
    FROM customer_spells AS s
    LEFT JOIN periods AS f ON s.first_day > f.before AND s.first_day <= f.period_end
    LEFT JOIN periods AS e ON s.last_day >= e.before AND s.last_day < e.period_end
)
SELECT p.period_end,
    COALESCE(c.start_customers, 0) AS start_customers,
    COALESCE(c.ended, 0) - COALESCE(b.back, 0) AS churned_customers,
    COALESCE(c.new_customers, 0) AS new_customers,
    COALESCE(r.returned, 0) AS reactivated_customers
FROM periods AS p
LEFT JOIN (
    SELECT p.i,
        SUM(k.n) FILTER (WHERE k.bf < p.i AND k.be >= p.i) AS start_customers,
        SUM(k.n) FILTER (WHERE k.bf < p.i AND k.be = p.i) AS ended,
        SUM(k.n) FILTER (WHERE k.bf = p.i AND k.spell = 1) AS new_customers
    FROM periods AS p
    CROSS JOIN (SELECT bf, be, spell = 1 AS spell, COUNT(*) AS n FROM placed GROUP BY ALL) AS k
    GROUP BY p.i
) AS c ON c.i = p.i
LEFT JOIN (
    SELECT l.be AS i, COUNT(DISTINCT l.customer) AS back
    FROM (SELECT customer, be FROM placed WHERE bf < be) AS l
    JOIN (SELECT customer, bf FROM placed WHERE bf < be AND bf > 0) AS r
      ON r.customer = l.customer AND r.bf = l.be
    GROUP BY l.be
) AS b ON b.i = p.i
LEFT JOIN (  -- customers with a later spell starting in the month (two count once)
    SELECT bf AS i, COUNT(DISTINCT customer) AS returned FROM placed WHERE spell > 1 GROUP BY bf
) AS r ON r.i = p.i
"""


_CAUSES = ["voluntary", "payment_failed", "unpaid", "past_due", "disputed"]

# Churn events per month (ending at its last day, the last at $as_of) and cause.
_BY_CAUSE = """
SELECT LEAST(CAST(last_day(day) AS DATE), CAST($as_of AS DATE)) AS period_end, cause,
    COUNT(*) AS events
FROM churn_ends
GROUP BY ALL
"""


def _paying_subscriptions(
    con: duckdb.DuckDBPyConnection, day: date, settings: MrrSettings, among: list[str]
) -> tuple[int, int]:
    """How many subscriptions were in MRR (a paying status) at the end of `day`, and how many
    of `among` were."""
    outer = """
    SELECT COUNT(DISTINCT subscription) AS paying,
        COUNT(DISTINCT subscription) FILTER (
            WHERE subscription IN (SELECT unnest(CAST($among AS VARCHAR[])))) AS among
    FROM mrr_subscription_segments
    WHERE from_day <= CAST($as_of AS DATE) AND CAST($as_of AS DATE) < to_day
    """
    params: dict[str, Param] = {**_params(day, day, day, settings), "among": among}
    row = run_layers(con, SEGMENTS, params, outer).iloc[0]
    return int(row["paying"]), int(row["among"])


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
