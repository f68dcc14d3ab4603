"""Disputes: what is open and at risk, what is due soon, and how often disputes come and are won.

SPEC §5 and §7: respond within 7 days of opening; a dispute due within 72 hours without evidence
is critical. Open statuses are Stripe's `warning_needs_response`, `warning_under_review`
(inquiries), `needs_response` and `under_review`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import midnight, run_sql

DUE_SOON_HOURS = 72  # SPEC §7: a dispute due within 72 hours with no evidence is critical
RESPOND_WITHIN = timedelta(days=7)  # SPEC §5: respond within 7 days of opening


@dataclass(frozen=True)
class DisputeSummary:
    """Disputes at the end of `as_of` and over (since, as_of]; rates 0..1 or None."""

    open: int
    amount_at_risk_minor: dict[str, int]
    due_within_72h: int
    past_due: int
    new: int
    succeeded_charges: int
    dispute_rate: float | None
    won: int
    lost: int
    win_rate: float | None


def dispute_list(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Every dispute opened before the end of `as_of`, oldest first (the drill-down).

    Columns: `dispute`, `charge`, `payment_intent`, `created`, `status` (latest synced),
    `reason`, `currency`, `amount_minor`, `is_open` (at the end of `as_of`), `needs_response`
    (open and no evidence submitted), `due_by` (`evidence_details.due_by`), `hours_left` (from
    the end of `as_of` to `due_by`; negative once past) and `respond_by` (opening + 7 days).
    """
    frame = run_sql(con, "dispute_list.sql", {"as_of": as_of})
    return frame.astype({"amount_minor": "int64", "is_open": "bool", "needs_response": "bool"})


def open_disputes(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """The disputes open at the end of `as_of`, soonest deadline first, with `due_within_72h`
    (needs a response and due in the next 72 hours) and `respond_overdue` (needs a response
    and more than 7 days old)."""
    frame = dispute_list(con, as_of)
    frame = frame[frame["is_open"]].sort_values(["due_by", "dispute"], ignore_index=True)
    end = midnight(as_of + timedelta(days=1))
    frame["due_within_72h"] = _due_soon(frame)
    frame["respond_overdue"] = frame["needs_response"] & (frame["respond_by"] < end)
    return frame


def dispute_summary(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> DisputeSummary:
    """The dispute figures of the report: open, amount at risk per currency, due within 72 h
    and past due (needing a response), new in (`since`, `as_of`], dispute rate (new ÷ succeeded
    charges in the window) and win rate (won ÷ won + lost, of the disputes opened in the
    window and closed by the end of `as_of`; None until one of them is)."""
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    opened = open_disputes(con, as_of)
    at_risk = opened.groupby("currency")["amount_minor"].sum()
    listed = dispute_list(con, as_of)
    start = midnight(since + timedelta(days=1))
    new = listed[listed["created"] >= start]
    charges = _succeeded_charges(con, since, as_of)
    closed = new[~new["is_open"]]
    won = int((closed["status"] == "won").sum())
    lost = int((closed["status"] == "lost").sum())
    return DisputeSummary(
        open=len(opened),
        amount_at_risk_minor={str(c): int(v) for c, v in at_risk.items()},
        due_within_72h=int(opened["due_within_72h"].sum()),
        past_due=int((opened["needs_response"] & (opened["hours_left"] < 0)).sum()),
        new=len(new),
        succeeded_charges=charges,
        dispute_rate=len(new) / charges if charges else None,
        won=won,
        lost=lost,
        win_rate=won / (won + lost) if won + lost else None,
    )


def _due_soon(frame: pd.DataFrame) -> pd.Series:
    hours = frame["hours_left"]
    return frame["needs_response"] & (hours >= 0) & (hours <= DUE_SOON_HOURS)


def _succeeded_charges(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> int:
    """Succeeded charges in (since, as_of]: the payments a dispute could come from."""
    frame = run_sql(con, "dispute_charges.sql", {"since": since, "as_of": as_of})
    return int(frame["succeeded_charges"].iloc[0])
