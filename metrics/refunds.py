"""Refunds: the money given back over a window, and its share of what customers paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from metrics._sql import run_sql
from metrics._volume import volume_ratio


@dataclass(frozen=True)
class RefundSummary:
    """Refunds over (since, as_of]: amounts per currency in minor units, the rate 0..1."""

    count: int
    amount_minor: dict[str, int]
    charged_minor: dict[str, int]
    rate: float | None


def refunds_by_currency(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> pd.DataFrame:
    """Refunds created in the days (`since`, `as_of`], one row per currency.

    Columns: `currency`, `refunds` (count), `refunded_minor`, `succeeded_charges` (count),
    `charged_minor` (succeeded charge volume in the same window) and `refund_rate`
    (refunded ÷ charged, NaN without charges). Pending refunds count; failed/canceled do not.
    """
    _check_window(since, as_of)
    frame = run_sql(con, "refund_totals.sql", {"since": since, "as_of": as_of})
    counts = ("refunds", "refunded_minor", "succeeded_charges", "charged_minor")
    return frame.astype({**dict.fromkeys(counts, "int64"), "refund_rate": "float64"})


def refund_summary(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    rates: pd.DataFrame | None = None,
    reporting_currency: str | None = None,
) -> RefundSummary:
    """Refund count and amount per currency over (`since`, `as_of`], and the refund rate
    (refunded volume ÷ succeeded charge volume; None without charges).

    Across currencies the rate converts both volumes with `rates` (the FX table) at `as_of`;
    within one currency it needs none.
    """
    frame = refunds_by_currency(con, since, as_of)
    refunded = _by_currency(frame, "refunded_minor")
    charged = _by_currency(frame, "charged_minor")
    rate = volume_ratio(
        refunded, charged, on=as_of, rates=rates, reporting_currency=reporting_currency
    )
    return RefundSummary(int(frame["refunds"].sum()), refunded, charged, rate)


def _by_currency(frame: pd.DataFrame, column: str) -> dict[str, int]:
    return {str(c): int(v) for c, v in zip(frame["currency"], frame[column], strict=True) if v}


def _check_window(since: date, as_of: date) -> None:
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
