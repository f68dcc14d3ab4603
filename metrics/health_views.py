"""The Webhooks & sync page's figures: webhook delivery per day, the events still pending by age
and type, the endpoints, the sync's runs and reads per month, and what is quarantined.

Delivery follows `metrics.webhooks` (its `webhook_events` layer and grace period), so the days
add up to `webhook_summary`'s figures that the report shows. The sync's own tables (`sync_runs`,
`sync_reads_monthly`, `quarantine`) are read as the warehouse holds them; nothing here reads a
clock: ages are measured from the account's clock at the last sync (or the end of `as_of` when
that is earlier), as on the Disputes page.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers, run_sql
from metrics.webhooks import DEFAULT_GRACE

# The age bands of pending events, in order (Stripe retries a delivery for up to three days).
AGE_BANDS = ("under 1 h", "1–6 h", "6–24 h", "1–3 days", "over 3 days")
PENDING = ["webhook_events.sql", "disputes_view_reference.sql", "health_view_pending.sql"]
RUN_LIMIT = 200


def age_reference(con: duckdb.DuckDBPyConnection, as_of: date) -> datetime:
    """The moment pending events' ages are measured from (naive UTC): the account's clock at the
    last sync, or the end of `as_of` when that is earlier (`sql/disputes_view_reference.sql`)."""
    frame = run_sql(con, "disputes_view_reference.sql", {"as_of": as_of})
    return pd.Timestamp(frame["at"].iloc[0]).to_pydatetime()


def delivery_daily(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, grace: timedelta = DEFAULT_GRACE
) -> pd.DataFrame:
    """Per day in (`since`, `as_of`], every day listed: `day`, `events` created, `judged` (past
    the grace period at the end of `as_of`), `delivered`, `pending` and `delivery_rate`
    (delivered ÷ judged; NaN when nothing is judged)."""
    _check_window(since, as_of)
    params = _params(as_of, grace) | {"since": since}
    frame = run_layers(con, ["webhook_events.sql", "health_view_delivery_daily.sql"], params)
    frame["day"] = as_days(frame["day"])
    counts = ("events", "judged", "delivered", "pending")
    return frame.astype({**dict.fromkeys(counts, "int64"), "delivery_rate": "float64"})


def pending_event_rows(
    con: duckdb.DuckDBPyConnection, as_of: date, grace: timedelta = DEFAULT_GRACE
) -> pd.DataFrame:
    """Events created by the end of `as_of` still awaited by an endpoint, oldest first:
    `event`, `type`, `created`, `pending_webhooks` (endpoints still to acknowledge it),
    `past_grace`, `age_seconds`, `age` (one of AGE_BANDS) and `age_order` (its index)."""
    frame = run_layers(con, PENDING, _params(as_of, grace))
    return frame.astype({"pending_webhooks": "int64", "age_seconds": "int64", "age_order": "int64"})


def pending_by_type_and_age(
    con: duckdb.DuckDBPyConnection, as_of: date, grace: timedelta = DEFAULT_GRACE
) -> pd.DataFrame:
    """Pending events per type and age band, oldest band first: `type`, `age` (one of
    AGE_BANDS), `age_order`, `events`, `oldest` (creation time) and `deliveries_awaited`."""
    frame = run_layers(con, [*PENDING, "health_view_pending_groups.sql"], _params(as_of, grace))
    return frame.astype({"events": "int64", "deliveries_awaited": "int64", "age_order": "int64"})


def webhook_endpoint_rows(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Webhook endpoints listed at the last sync that existed by the end of `as_of`, disabled
    first: `endpoint`, `url` (account text), `status`, `enabled_events` (comma-separated; `*`
    is every event), `endpoint_version`, `created`."""
    return run_sql(con, "health_view_endpoints.sql", {"as_of": as_of})


def sync_run_rows(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, limit: int = RUN_LIMIT
) -> pd.DataFrame:
    """The sync runs started in (`since`, `as_of`], newest first, at most `limit`: `run_id`,
    `kind`, `started_at`, `finished_at`, `duration_seconds` (NaN while unfinished), `status`,
    `reads`, `objects_total`, `objects` and `errors` (JSON text), `error`, `account_time`."""
    _check_window(since, as_of)
    params: dict[str, Param] = {"since": since, "as_of": as_of, "limit": limit}
    frame = run_sql(con, "health_view_sync_runs.sql", params)
    return frame.astype({"reads": "int64", "objects_total": "int64"})


def reads_by_month(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """API reads per calendar month (UTC) up to `as_of`'s month: `month` (its first day),
    `reads` (the sync's `sync_reads_monthly`)."""
    frame = run_sql(con, "health_view_reads_monthly.sql", {"as_of": as_of})
    frame["month"] = as_days(frame["month"])
    return frame.astype({"reads": "int64"})


def quarantine_rows(con: duckdb.DuckDBPyConnection, as_of: date = date.max) -> pd.DataFrame:
    """Objects the sync could not store, first seen by the end of `as_of` (default: all),
    newest first: `table_name`, `object_key`, `reason`, `first_seen`, `last_seen`."""
    return run_sql(con, "health_view_quarantine.sql", {"as_of": as_of})


def _params(as_of: date, grace: timedelta) -> dict[str, Param]:
    return {"as_of": as_of, "grace_seconds": int(grace.total_seconds())}


def _check_window(since: date, as_of: date) -> None:
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")
