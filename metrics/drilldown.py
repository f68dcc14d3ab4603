"""The subscriptions behind the MRR movements: which subscription moved, when, and how its items
changed.

A movement is a customer's (per currency; `metrics.movements`), labelled on the day it happens;
the rows here are the subscription changes that made each of those days' movements, each with
its customer's kind that day, so a finance user can go from "expansion $2,980" to the upgrades
that made it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers
from metrics.movements import CHANGES
from metrics.mrr import DEFAULT_SETTINGS, SEGMENTS, MrrSettings


def movement_subscriptions(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Per change of a subscription's net MRR over (`since`, `as_of`]: `customer`, `currency`,
    `kind` (its customer's movement that day), `subscription`, `start_mrr_minor` and
    `end_mrr_minor` (the subscription's net MRR the day before and that day), `change_minor`
    (signed), `items_before` and `items_after` ("price × quantity, …") and `day`."""
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    params: dict[str, Param] = {"start": since + timedelta(days=1), "since": since}
    params.update({"as_of": as_of, **asdict(settings)})
    frame = run_layers(con, [*SEGMENTS, *CHANGES, "mrr_subscription_changes.sql"], params)
    frame["day"] = as_days(frame["day"])
    return frame
