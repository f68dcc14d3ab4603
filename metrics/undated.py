"""Changes the API cannot date: where they sit in the history and how much MRR they move.

The sync lists them (`undated_changes`, see docs/SYNC.md "What cannot be known"): a state that a
later source shows — the subscription at the events window's start, the next renewal invoice,
or the object of a subscription that has ended — differs from what the invoices said before,
and nothing records when it changed. The history places the change at the moment it is first
shown, so MRR on the days before may be off by the change's amount; these figures say how much.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import duckdb
import pandas as pd

from metrics._sql import as_days, run_layers
from metrics.mrr import DEFAULT_SETTINGS, SEGMENTS, MrrSettings


@dataclass(frozen=True)
class UndatedExposure:
    """What the undated changes placed by `as_of` put in doubt.

    `subscriptions`: how many subscriptions have one; `latest_day`: the last day one is placed
    on (MRR on the days before it may be off); `mrr_at_stake_minor`: per currency, the sum of
    |MRR after − MRR before| at the placements; `unknown_amount`: subscriptions whose change is
    known only from the object of a subscription that had ended (its amount before the end is
    not known).
    """

    subscriptions: int
    latest_day: date | None
    mrr_at_stake_minor: dict[str, float]
    unknown_amount: int


def undated_changes(
    con: duckdb.DuckDBPyConnection, as_of: date, settings: MrrSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """One row per subscription and day where undated changes were placed on or before `as_of`.

    Columns: `subscription`, `customer`, `currency`, `earliest` (the change happened after it),
    `placed_day`, `shown_by` (`window_start`, `invoice`, `subscription`, comma-separated when
    several), `changes` (item or status changes placed there), `before_mrr_minor`,
    `after_mrr_minor` (the subscription's net MRR at the end of the day before and of the day).
    """
    params = {"as_of": as_of, **asdict(settings)}
    frame = run_layers(con, [*SEGMENTS, "undated_changes.sql"], params)
    frame["placed_day"] = as_days(frame["placed_day"])
    return frame


def undated_exposure(
    con: duckdb.DuckDBPyConnection, as_of: date, settings: MrrSettings = DEFAULT_SETTINGS
) -> UndatedExposure:
    """The totals of `undated_changes` that a warning needs."""
    frame = undated_changes(con, as_of, settings)
    if frame.empty:
        return UndatedExposure(0, None, {}, 0)
    ended = frame["shown_by"] == "subscription"
    moved = (frame["after_mrr_minor"] - frame["before_mrr_minor"]).abs()[~ended]
    at_stake = moved.groupby(frame["currency"][~ended]).sum()
    return UndatedExposure(
        subscriptions=int(frame["subscription"].nunique()),
        latest_day=max(frame["placed_day"]),
        mrr_at_stake_minor={str(c): float(v) for c, v in at_stake.items() if v > 0},
        unknown_amount=int(frame.loc[ended, "subscription"].nunique()),
    )
