"""Payment success rate: succeeded ÷ attempted charges, raw or deduplicated per PaymentIntent.

Every query reads one layer, `sql/payment_attempts.sql` (one row per attempt), so the daily and
weekly series, the window rate and the breakdowns count attempts the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

import duckdb
import pandas as pd

from metrics._sql import Param, run_layers
from metrics.money import THREE_DECIMAL, ZERO_DECIMAL

Health = Literal["healthy", "warning", "critical"]
HEALTHY_AT = 0.95  # SPEC §5: healthy ≥ 95 %
CRITICAL_BELOW = 0.90  # critical < 90 %; warning in between
DIMENSIONS = (
    "card_brand",
    "card_country",
    "outcome_type",
    "outcome_reason",
    "failure_code",
    "network_decline_code",
    "amount_band",
)
_COUNTS = {"attempted": "int64", "succeeded": "int64", "failed": "int64"}


def payment_success_daily(
    con: duckdb.DuckDBPyConnection, start: date, as_of: date, *, dedup: bool = False
) -> pd.DataFrame:
    """Payment success per UTC day, one row for every day in [`start`, `as_of`].

    Columns: `day` (datetime.date), `attempted`, `succeeded`, `failed` (int) and `success_rate`
    (float 0..1, NaN on a day with no attempts). Attempted = charges that succeeded or failed;
    pending charges are not counted. With `dedup`, one attempt per PaymentIntent on the day of
    its first charge, with the outcome of its last charge by the end of `as_of`.
    """
    if start > as_of:
        raise ValueError(f"start ({start}) is after as_of ({as_of})")
    daily = _run(con, "payment_success_daily.sql", start, as_of, dedup)
    daily["day"] = [timestamp.date() for timestamp in daily["day"]]
    return daily.astype({**_COUNTS, "success_rate": "float64"})


def payment_success_weekly(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, *, dedup: bool = False
) -> pd.DataFrame:
    """Payment success per ISO week (Monday to Sunday) over the days (`since`, `as_of`].

    Columns: `week` (the Monday, datetime.date), `days` (days of the week inside the window: the
    first and last weeks may be partial), `attempted`, `succeeded`, `failed`, `success_rate`
    (NaN without attempts). The sums of `payment_success_daily`, so the two cannot disagree.
    """
    daily = _window_daily(con, since, as_of, dedup)
    daily["week"] = [day - timedelta(days=day.weekday()) for day in daily["day"]]
    weekly = daily.groupby("week", as_index=False).agg(
        days=("day", "size"),
        attempted=("attempted", "sum"),
        succeeded=("succeeded", "sum"),
        failed=("failed", "sum"),
    )
    weekly["success_rate"] = weekly["succeeded"] / weekly["attempted"].where(
        weekly["attempted"] > 0
    )
    return weekly.astype({**_COUNTS, "days": "int64", "success_rate": "float64"})


def payment_success_rate(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, *, dedup: bool = False
) -> float | None:
    """Success rate (0..1) of charges created after the end of `since` through the end of
    `as_of`, i.e. on the days (`since`, `as_of`]; None when nothing was attempted.

    Half-open so that consecutive windows (last week, this week) never count a day twice. Built on
    the daily query so the two can never disagree.
    """
    if since > as_of:
        raise ValueError(f"since ({since}) is after as_of ({as_of})")
    if since == as_of:
        return None
    daily = payment_success_daily(con, since + timedelta(days=1), as_of, dedup=dedup)
    attempted = int(daily["attempted"].sum())
    if attempted == 0:
        return None
    return int(daily["succeeded"].sum()) / attempted


def payment_success_breakdown(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    by: Sequence[str] = DIMENSIONS,
    *,
    dedup: bool = False,
) -> pd.DataFrame:
    """Success over (`since`, `as_of`] per value of each dimension in `by` (see DIMENSIONS).

    Columns: `dimension`, `currency` (only for `amount_band`, whose bands are in each currency's
    major unit), `value` (None where the charge has no value, e.g. no failure code),
    `attempted`, `succeeded`, `failed`, `success_rate` and `failure_share` (the value's share of
    all failures in the window; NaN without failures). Sorted by dimension, then most attempts.
    """
    unknown = sorted(set(by) - set(DIMENSIONS))
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {list(DIMENSIONS)}")
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    frame = _run(con, "payment_success_breakdown.sql", since + timedelta(days=1), as_of, dedup)
    frame = frame[frame["dimension"].isin(list(by))].reset_index(drop=True)
    for column in ("value", "currency"):
        frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
    return frame.astype({**_COUNTS, "success_rate": "float64", "failure_share": "float64"})


def payment_attempts(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, *, dedup: bool = False
) -> pd.DataFrame:
    """The attempts behind every figure above over (`since`, `as_of`]: the drill-down rows.

    One row per charge (raw) or per PaymentIntent (`dedup`; `charge` is then its last charge),
    in order of `created` (the first charge's time): `charge`, `attempt_key` (the PaymentIntent,
    or the charge without one), `created`, `day`, `succeeded`,
    `amount` (minor units), `currency`, card and decline fields and `amount_band`.
    """
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    frame = _run(con, None, since + timedelta(days=1), as_of, dedup)
    frame["day"] = [timestamp.date() for timestamp in frame["day"]]
    frame = frame.sort_values(["created", "charge"], ignore_index=True)
    return (
        frame.astype("object")
        .where(frame.notna(), None)
        .astype({"amount": "int64", "succeeded": "bool"})
    )


def payment_health(rate: float | None) -> Health | None:
    """SPEC §5's band for a success rate: healthy ≥ 95 %, warning 90–95 %, critical < 90 %.

    None (no attempts) has no band: "no data" must neither page anyone nor look healthy.
    """
    if rate is None:
        return None
    if rate >= HEALTHY_AT:
        return "healthy"
    return "warning" if rate >= CRITICAL_BELOW else "critical"


def _window_daily(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, dedup: bool
) -> pd.DataFrame:
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    return payment_success_daily(con, since + timedelta(days=1), as_of, dedup=dedup)


def _run(
    con: duckdb.DuckDBPyConnection, query: str | None, start: date, as_of: date, dedup: bool
) -> pd.DataFrame:
    """`query` over the attempts layer (or the layer itself when `query` is None), in the order
    its file states (a CTE's ORDER BY does not carry to the outer SELECT)."""
    params: dict[str, Param] = {
        "start": start,
        "as_of": as_of,
        "dedup": dedup,
        "zero_decimal": ",".join(sorted(ZERO_DECIMAL)),
        "three_decimal": ",".join(sorted(THREE_DECIMAL)),
    }
    if query is None:
        return run_layers(con, ["payment_attempts.sql"], params, "SELECT * FROM payment_attempts")
    layer = query.removesuffix(".sql")
    outer = f"SELECT * FROM {layer} ORDER BY {_ORDER[layer]}"
    return run_layers(con, ["payment_attempts.sql", query], params, outer)


_ORDER = {
    "payment_success_daily": "day",
    "payment_success_breakdown": (
        "dimension, currency NULLS FIRST, attempted DESC, value NULLS LAST"
    ),
}
