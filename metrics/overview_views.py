"""The Overview page's figures beyond the summary: the MRR change and net new MRR of its
movements, the success rate of the period before the range (its baseline), and the API reads of
a month.

Each is read from `metrics.summary` or the warehouse, never from a clock, so the Overview shows
what `paylens report` shows for the same (since, as_of].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from metrics._sql import run_sql
from metrics.payments import payment_success_rate
from metrics.summary import Movements


def mrr_change(movements: Movements) -> float | None:
    """End MRR − start MRR over the period (net new MRR plus FX), in the reporting currency;
    None when FX stops the movements."""
    if movements.end_mrr is None or movements.start_mrr is None:
        return None
    return movements.end_mrr - movements.start_mrr


def net_new_mrr(movements: Movements) -> float | None:
    """New + reactivation + expansion − contraction − churn over the period (FX excluded);
    None when FX stops the movements."""
    parts = (movements.new, movements.reactivation, movements.expansion)
    lost = (movements.contraction, movements.churn)
    if any(value is None for value in (*parts, *lost)):
        return None
    won = sum(value for value in parts if value is not None)
    return won - sum(value for value in lost if value is not None)


@dataclass(frozen=True)
class SuccessAgainstBaseline:
    """The payment success rate of (since, as_of] (the summary's), that of the equally long
    period just before it (the baseline), and the change from one to the other (0..1 each;
    None without attempts on either side)."""

    rate: float | None
    baseline: float | None
    change: float | None
    baseline_since: date  # the baseline covers (baseline_since, since]


def success_against_baseline(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, *, dedup: bool = False
) -> SuccessAgainstBaseline:
    """Payment success over (`since`, `as_of`] against the days (since − (as_of − since),
    since]: a 30-day range is judged against the 30 days before it, as a 7-day one against the
    week before."""
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    start = since - (as_of - since)
    rate = payment_success_rate(con, since, as_of, dedup=dedup)
    baseline = payment_success_rate(con, start, since, dedup=dedup)
    change = None if rate is None or baseline is None else rate - baseline
    return SuccessAgainstBaseline(rate, baseline, change, start)


def reads_in_month(con: duckdb.DuckDBPyConnection, day: date) -> int:
    """API reads the sync made in `day`'s calendar month (UTC, by the runs' start)."""
    return int(run_sql(con, "overview_view_reads.sql", {"as_of": day})["reads"].iloc[0])
