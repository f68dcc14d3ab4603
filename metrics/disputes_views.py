"""The Disputes page's figures: the disputes to act on, with the charge and customer behind each
and the time left to respond, and the window's counts and rates, for every currency or one.

Definitions are `metrics.disputes`' (open statuses, "needs a response", win rate, the dispute
rate by dispute date), read through its own `dispute_list` layer, so the page and `paylens
report` agree. Two things differ, on purpose: the countdown runs from the account's clock at the
last sync (or the end of `as_of` when that is earlier), not from the end of `as_of`; and the
dispute rate has a second variant, by charge date (`sql/disputes_view_figures.sql` says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from metrics._sql import Param, run_layers, run_sql
from metrics.disputes import DUE_SOON_HOURS

ROWS = ["dispute_list.sql", "disputes_view_reference.sql", "disputes_view_rows.sql"]


@dataclass(frozen=True)
class DisputeFigures:
    """Disputes of one currency (or all) at the reference time `at` and over (since, as_of].

    `amount_at_risk_minor`: the open disputes' amounts per currency; `dispute_rate`: new ÷
    succeeded charges of the window (by dispute date); `charge_dispute_rate`: disputes on the
    window's charges ÷ those charges (by charge date); `win_rate`: won ÷ (won + lost) of the
    window's disputes closed by the end of `as_of`. Rates are 0..1 or None without a
    denominator. `due_soon_until` is `at` + 72 hours.
    """

    at: datetime
    due_soon_until: datetime
    open: int
    amount_at_risk_minor: dict[str, int]
    due_within_72h: int
    past_due: int
    new: int
    succeeded_charges: int
    dispute_rate: float | None
    charge_disputes: int
    charge_dispute_rate: float | None
    won: int
    lost: int
    win_rate: float | None


def dispute_currencies(con: duckdb.DuckDBPyConnection, as_of: date = date.max) -> list[str]:
    """The currencies of the charges created by the end of `as_of`, sorted (what the currency
    picker offers; by default every charge's)."""
    frame = run_sql(con, "disputes_view_currencies.sql", {"as_of": as_of})
    return [str(code) for code in frame["currency"]]


def dispute_rows(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, currency: str | None = None
) -> pd.DataFrame:
    """Every dispute open at the reference time or opened in (`since`, `as_of`], open ones first
    by deadline (`sql/disputes_view_rows.sql`).

    Columns: `dispute`, `charge`, `charge_created`, `customer`, `customer_name` (raw account
    text), `created`, `status` (the latest synced, as `dispute_list`'s), `reason`, `currency`,
    `amount_minor`, `is_open`, `opened_in_range`, `has_evidence` (latest synced), `needs_response`,
    `due_by`, `seconds_left` (from the reference time; negative once past), `due_within_72h`,
    `past_due` (needs a response and the deadline has passed), `respond_by` (opening + 7 days),
    `respond_overdue` and `reference_at`.
    """
    _check_window(since, as_of)
    frame = run_layers(con, ROWS, _params(since, as_of, currency))
    flags = ["is_open", "opened_in_range", "has_evidence", "needs_response", "due_within_72h"]
    flags += ["past_due", "respond_overdue"]
    return frame.astype({"amount_minor": "int64", **dict.fromkeys(flags, "bool")})


def open_dispute_rows(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, currency: str | None = None
) -> pd.DataFrame:
    """`dispute_rows`' open disputes, soonest deadline first."""
    frame = dispute_rows(con, since, as_of, currency)
    return frame[frame["is_open"]].reset_index(drop=True)


def range_dispute_rows(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, currency: str | None = None
) -> pd.DataFrame:
    """`dispute_rows`' disputes opened in (`since`, `as_of`], newest first."""
    frame = dispute_rows(con, since, as_of, currency)
    frame = frame[frame["opened_in_range"]]
    return frame.sort_values(["created", "dispute"], ascending=False, ignore_index=True)


def dispute_figures(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, currency: str | None = None
) -> DisputeFigures:
    """The counts and rates of `DisputeFigures` for every currency (`currency` None) or one."""
    _check_window(since, as_of)
    params = _params(since, as_of, currency)
    row = run_layers(con, [*ROWS, "disputes_view_figures.sql"], params).iloc[0]
    at_risk = run_layers(con, [*ROWS, "disputes_view_at_risk.sql"], params)
    at = pd.Timestamp(row["reference_at"]).to_pydatetime()
    charges, new = int(row["succeeded_charges"]), int(row["new"])
    on_charges, won, lost = int(row["charge_disputes"]), int(row["won"]), int(row["lost"])
    return DisputeFigures(
        at=at,
        due_soon_until=at + timedelta(hours=DUE_SOON_HOURS),
        open=int(row["open"]),
        amount_at_risk_minor=dict(
            zip(at_risk["currency"].astype(str), at_risk["amount_minor"].astype(int), strict=True)
        ),
        due_within_72h=int(row["due_within_72h"]),
        past_due=int(row["past_due"]),
        new=new,
        succeeded_charges=charges,
        dispute_rate=new / charges if charges else None,
        charge_disputes=on_charges,
        charge_dispute_rate=on_charges / charges if charges else None,
        won=won,
        lost=lost,
        win_rate=won / (won + lost) if won + lost else None,
    )


def _params(since: date, as_of: date, currency: str | None) -> dict[str, Param]:
    return {"since": since, "as_of": as_of, "currency": currency or ""}


def _check_window(since: date, as_of: date) -> None:
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
