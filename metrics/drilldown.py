"""The subscriptions behind the MRR movements: which subscription moved, and how its items changed.

A movement is a customer's (per currency; `metrics.movements`); the rows here are the
subscriptions whose net MRR differs between the two ends of the period, each with the customer's
movement kind, so a finance user can go from "expansion $2,980" to the upgrades that made it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import Param, run_layers
from metrics.movements import CLASSIFIED, period_changes
from metrics.mrr import DEFAULT_SETTINGS, SEGMENTS, MrrSettings


def movement_subscriptions(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Per subscription whose net MRR changed over (`since`, `as_of`]: `customer`, `currency`,
    `kind` (its customer's movement), `subscription`, `start_mrr_minor`, `end_mrr_minor`,
    `change_minor` (signed), `items_before` and `items_after` ("price × quantity, …")."""
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    params: dict[str, Param] = {"start": since, "since": since, "as_of": as_of}
    changes = run_layers(
        con, [*SEGMENTS, "mrr_subscription_changes.sql"], {**params, **asdict(settings)}
    )
    kinds = period_changes(con, since + timedelta(days=1), as_of, settings, True, CLASSIFIED)[
        ["customer", "currency", "kind"]
    ]
    merged = changes.merge(kinds, on=["customer", "currency"], how="left")
    merged["change_minor"] = merged["end_mrr_minor"] - merged["start_mrr_minor"]
    columns = ["customer", "currency", "kind", "subscription", "start_mrr_minor"]
    columns += ["end_mrr_minor", "change_minor", "items_before", "items_after"]
    return merged[columns]
