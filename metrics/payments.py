"""Payment success rate: succeeded ÷ attempted charges.

Raw for now (one attempt per charge). The deduplicated-per-PaymentIntent variant SPEC §5 asks for
will be a sibling SQL file that swaps the `attempts` CTE of `sql/payment_success_daily.sql`.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import run_sql


def payment_success_daily(con: duckdb.DuckDBPyConnection, start: date, as_of: date) -> pd.DataFrame:
    """Raw payment success per UTC day, one row for every day in [`start`, `as_of`].

    Columns: `day` (datetime.date), `attempted`, `succeeded`, `failed` (int) and `success_rate`
    (float 0..1, NaN on a day with no attempts). Attempted = charges that succeeded or failed;
    pending charges are not counted.
    """
    if start > as_of:
        raise ValueError(f"start ({start}) is after as_of ({as_of})")
    daily = run_sql(con, "payment_success_daily.sql", {"start": start, "as_of": as_of})
    daily["day"] = [timestamp.date() for timestamp in daily["day"]]
    return daily.astype(
        {"attempted": "int64", "succeeded": "int64", "failed": "int64", "success_rate": "float64"}
    )


def payment_success_rate(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> float | None:
    """Raw success rate (0..1) of charges created after the end of `since` through the end of
    `as_of`, i.e. on the days (`since`, `as_of`]; None when nothing was attempted.

    Half-open so that consecutive windows (last week, this week) never count a day twice. Built on
    the daily query so the two can never disagree.
    """
    if since > as_of:
        raise ValueError(f"since ({since}) is after as_of ({as_of})")
    if since == as_of:
        return None
    daily = payment_success_daily(con, since + timedelta(days=1), as_of)
    attempted = int(daily["attempted"].sum())
    if attempted == 0:
        return None
    return int(daily["succeeded"].sum()) / attempted
