"""The alert engine's signals besides payment success: webhook delivery, disputes, disabled
endpoints and the sync's own health, each over (start, end] in aware UTC datetimes.

Definitions are those of `metrics.webhooks` and `metrics.disputes`, with timestamp bounds
instead of days (the engine evaluates at the account's clock after every sync). The queries are
`sql/signal_*.sql`; none reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from metrics.signals_query import as_utc, aware_utc, naive_utc, positive, rows
from metrics.webhooks import DEFAULT_GRACE


@dataclass(frozen=True)
class DeliveryWindow:
    """Webhook delivery over (start, end]: `judged` events created in the window and older than
    the grace period at `end`, `delivered` those with `pending_webhooks` 0, `rate` delivered ÷
    judged (None when nothing is judged); `pending` counts every event created by `end` still
    awaited, of any age, and `oldest_pending` is the creation time of the oldest."""

    start: datetime
    end: datetime
    judged: int
    delivered: int
    rate: float | None
    pending: int
    oldest_pending: datetime | None = None


@dataclass(frozen=True)
class DisputeSignal:
    """A dispute as the alerts show it. `customer` is its charge's customer, `customer_name`
    that customer's name (raw account text: escape it where it is rendered); `amount` in minor
    units of `currency`; `due_by` is `evidence_details.due_by`; status and evidence as last
    synced."""

    dispute: str
    charge: str | None
    customer: str | None
    customer_name: str | None
    amount: int
    currency: str
    reason: str | None
    status: str
    created: datetime
    due_by: datetime | None
    has_evidence: bool


@dataclass(frozen=True)
class EndpointSignal:
    """A webhook endpoint: its id, URL and status (as last synced)."""

    endpoint: str
    url: str | None
    status: str


@dataclass(frozen=True)
class SyncHealth:
    """The sync at `end`: when the last good run heard Stripe (`last_ok`, its `account_time`,
    else its `finished_at`), how long ago (`age`), the failed or partial runs since
    (`consecutive_failures`, abandoned runs not counted) and the latest one's `last_error`,
    how many runs are recorded by `end` (`runs`) and the latest one's status (`last_status`)."""

    last_ok: datetime | None
    age: timedelta | None
    consecutive_failures: int
    last_error: str | None
    runs: int
    last_status: str | None = None


def webhook_delivery_window(
    con: duckdb.DuckDBPyConnection,
    *,
    end: datetime,
    window: timedelta,
    grace: timedelta = DEFAULT_GRACE,
) -> DeliveryWindow:
    """Webhook delivery over (end − window, end], with `metrics.webhooks`' grace semantics: an
    event is judged once it is more than `grace` old at `end` (created < end − grace), so the
    newest `grace` of the window is not judged yet."""
    positive(window, "window")
    if grace < timedelta(0):
        raise ValueError(f"grace must not be negative, got {grace}")
    params = {
        "since": naive_utc(end - window, "end"),
        "as_of": naive_utc(end, "end"),
        "grace_seconds": int(grace.total_seconds()),
    }
    judged, delivered, pending, oldest = rows(con, ["signal_webhook_delivery.sql"], params)[0]
    return DeliveryWindow(
        start=as_utc(end - window),
        end=as_utc(end),
        judged=int(judged),
        delivered=int(delivered),
        rate=delivered / judged if judged else None,
        pending=int(pending),
        oldest_pending=aware_utc(oldest),
    )


def new_disputes(
    con: duckdb.DuckDBPyConnection, *, since: datetime, end: datetime
) -> tuple[DisputeSignal, ...]:
    """Disputes opened in (since, end], oldest first (SPEC §7: a new dispute alerts at once)."""
    params = {"since": naive_utc(since, "since"), "as_of": naive_utc(end, "end")}
    found = rows(con, ["signal_disputes.sql", "signal_disputes_new.sql"], params)
    return tuple(_dispute(row) for row in found)


def disputes_due(
    con: duckdb.DuckDBPyConnection, *, end: datetime, within: timedelta
) -> tuple[DisputeSignal, ...]:
    """Open disputes awaiting a response (needs_response, warning_needs_response) due in
    (end, end + within] without evidence, soonest first (SPEC §7: due within 72 hours with no
    evidence is critical). A deadline already past is not listed: nothing can be done."""
    positive(within, "within")
    params = {"as_of": naive_utc(end, "end"), "due_until": naive_utc(end + within, "end")}
    found = rows(con, ["signal_disputes.sql", "signal_disputes_due.sql"], params)
    return tuple(_dispute(row) for row in found)


def disabled_endpoints_at(
    con: duckdb.DuckDBPyConnection, *, end: datetime
) -> tuple[EndpointSignal, ...]:
    """Webhook endpoints disabled at the last sync, still listed and created by `end`."""
    found = rows(con, ["signal_endpoints_disabled.sql"], {"as_of": naive_utc(end, "end")})
    return tuple(EndpointSignal(endpoint=e, url=url, status=status) for e, url, status in found)


def sync_health(con: duckdb.DuckDBPyConnection, *, end: datetime) -> SyncHealth:
    """The sync's health at `end` (the account's clock) from `sync_runs`: only runs whose time
    (account_time, else finished_at, else started_at) is at or before `end` are known then."""
    params = {"as_of": naive_utc(end, "end")}
    last_ok, failures, error, runs, status = rows(con, ["signal_sync_health.sql"], params)[0]
    ok = aware_utc(last_ok)
    return SyncHealth(
        last_ok=ok,
        age=None if ok is None else as_utc(end) - ok,
        consecutive_failures=int(failures),
        last_error=error,
        runs=int(runs),
        last_status=status,
    )


def _dispute(row: tuple[Any, ...]) -> DisputeSignal:
    dispute, charge, customer, name, amount, currency, reason, status, created, due, evidence = row
    return DisputeSignal(
        dispute=dispute,
        charge=charge,
        customer=customer,
        customer_name=name,
        amount=int(amount),
        currency=currency,
        reason=reason,
        status=status,
        created=created.replace(tzinfo=UTC),
        due_by=aware_utc(due),
        has_evidence=bool(evidence),
    )
