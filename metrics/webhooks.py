"""Webhook delivery, derived from `event.pending_webhooks` (Stripe has no per-attempt API).

An event whose every endpoint has acknowledged it has `pending_webhooks = 0`. Events younger
than a grace period are not judged yet: Stripe's first retries come within the hour, and the
sync refreshes pending counts at most hourly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import duckdb
import pandas as pd

from metrics._sql import Param, run_layers, run_sql

DEFAULT_GRACE = timedelta(hours=1)
HEALTHY_AT = 0.995  # SPEC §5: healthy ≥ 99.5 %
CRITICAL_BELOW = 0.99  # critical < 99 %; warning in between


@dataclass(frozen=True)
class WebhookSummary:
    """Webhook delivery at the end of `as_of`: events of the window past the grace period, the
    share delivered, events still pending, disabled endpoints."""

    judged: int
    delivered: int
    delivery_rate: float | None
    pending_events: int
    oldest_pending: datetime | None
    disabled_endpoints: int


def webhook_events(
    con: duckdb.DuckDBPyConnection, as_of: date, grace: timedelta = DEFAULT_GRACE
) -> pd.DataFrame:
    """Every stored event created before the end of `as_of` (the drill-down).

    Columns: `event`, `type`, `created`, `pending_webhooks`, `delivered` (pending 0),
    `past_grace` (created more than `grace` before the end of `as_of`), `age_hours`.
    """
    params: dict[str, Param] = {"as_of": as_of, "grace_seconds": int(grace.total_seconds())}
    frame = run_sql(con, "webhook_events.sql", params)
    return frame.astype({"pending_webhooks": "int64", "delivered": "bool", "past_grace": "bool"})


def webhook_delivery_rate(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, grace: timedelta = DEFAULT_GRACE
) -> float | None:
    """Share (0..1) of the events created in the days (`since`, `as_of`] and older than
    `grace` at the end of `as_of` with `pending_webhooks = 0`; None when there are none."""
    return webhook_summary(con, since, as_of, grace).delivery_rate


def pending_events(
    con: duckdb.DuckDBPyConnection, as_of: date, grace: timedelta = DEFAULT_GRACE
) -> pd.DataFrame:
    """Events created before the end of `as_of` still waiting for an endpoint, oldest first."""
    frame = webhook_events(con, as_of, grace)
    return frame[~frame["delivered"]].reset_index(drop=True)


def disabled_endpoints(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Webhook endpoints that exist (still listed, created before the end of `as_of`) with
    status `disabled`: columns `endpoint`, `url`, `created`."""
    return run_sql(con, "webhook_disabled_endpoints.sql", {"as_of": as_of})


def webhook_summary(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, grace: timedelta = DEFAULT_GRACE
) -> WebhookSummary:
    """The webhook figures of the report; `pending_events` counts every pending event, young
    or old, and `oldest_pending` is the creation time of the oldest."""
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
    params: dict[str, Param] = {
        "since": since,
        "as_of": as_of,
        "grace_seconds": int(grace.total_seconds()),
    }
    row = run_layers(con, ["webhook_events.sql", "webhook_summary.sql"], params).iloc[0]
    judged, delivered = int(row["judged"]), int(row["delivered"])
    oldest = row["oldest_pending"]
    return WebhookSummary(
        judged=judged,
        delivered=delivered,
        delivery_rate=delivered / judged if judged else None,
        pending_events=int(row["pending_events"]),
        oldest_pending=None if pd.isna(oldest) else pd.Timestamp(oldest).to_pydatetime(),
        disabled_endpoints=len(disabled_endpoints(con, as_of)),
    )


def webhook_health(rate: float | None) -> Literal["healthy", "warning", "critical"] | None:
    """SPEC §5's band for a delivery rate: healthy ≥ 99.5 %, warning 99–99.5 %, critical < 99 %;
    None without events."""
    if rate is None:
        return None
    if rate >= HEALTHY_AT:
        return "healthy"
    return "warning" if rate >= CRITICAL_BELOW else "critical"
