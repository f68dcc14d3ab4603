"""The incremental sync: one `/v1/events` poll from the cursor, applied as the newest states.

Steps of `poll`:
1. list events created since the cursor minus an overlap (late-listed events are not missed;
   those seen before are recognised by id and not applied again, nor written again unless
   their `pending_webhooks` changed) — one read when idle. The
   first page tells Stripe's time (the reader's `AccountClock`): when the cursor turns out to be
   older than Stripe keeps events, nothing is applied and the poll says so (`stale`);
2. stage them; of the events not stored yet, keep per object the newest, unless a stored event
   about that object is newer still;
3. stage each kept event's `data.object` into its table (`*.deleted` marks it deleted; a
   deletion is the last event of its second), completing truncated nested lists (`items`,
   `lines`) from their own urls. When an object's newest second holds several events (an
   invoice created, finalized and paid at once), which one is last cannot be told from
   `created`, and when the object names a discount not stored yet, only the object expanded
   holds it: the object is retrieved instead (one read; Stripe allows 500 reads per
   transaction). The charge of each new dispute is retrieved too (no event tells its
   `disputed` changed);
4. at most every two hours (`Options.webhook_refresh_seconds`): list webhook endpoints again
   (those gone are marked deleted) and the events still not delivered (the others get
   `pending_webhooks = 0`);
5. write everything and move the cursor to Stripe's time when the poll began (never to a later
   event's `created`: what is listed after the poll must fall after the cursor minus the
   overlap), in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from sync.client import API_VERSION, Page, StripeReader
from sync.fetch import PAGE_SIZE, complete_nested
from sync.history import note_changes
from sync.ingest import Staging, flush, stage_pages, stage_select
from sync.store import get_state, set_state, transaction
from sync.undecodable import store_rejected

Clock = Callable[[], datetime]

# data.object.object -> (table, nested attribute to complete, child table)
APPLIED: dict[str, tuple[str, str | None, str | None]] = {
    "customer": ("customers", None, None),
    "product": ("products", None, None),
    "price": ("prices", None, None),
    "coupon": ("coupons", None, None),
    "discount": ("discounts", None, None),
    "subscription": ("subscriptions", "items", "subscription_items"),
    "invoice": ("invoices", "lines", "invoice_lines"),
    "charge": ("charges", None, None),
    "refund": ("refunds", None, None),
    "dispute": ("disputes", None, None),
}
# Objects that can be retrieved by id (discounts cannot), with the expansions a backfill uses.
RETRIEVE: dict[str, dict[str, str]] = {
    name: {"expand[0]": "discounts"} if name in ("subscription", "invoice") else {}
    for name in APPLIED
    if name != "discount"
}
CURSOR = "events_cursor"
REFRESHED = "webhooks_refreshed_at"


@dataclass
class PollOutcome:
    events: int = 0
    applied: int = 0
    objects: dict[str, int] = field(default_factory=dict)
    stale: bool = False  # the cursor was older than `max_age_seconds`: nothing was applied


def unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())


def poll(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    *,
    overlap_seconds: int,
    refresh_seconds: int,
    max_age_seconds: int | None = None,
) -> PollOutcome:
    """Apply what happened since the last poll; the cursor moves only if all of it is stored.
    With `max_age_seconds`, a cursor older than that by Stripe's clock applies nothing."""
    clock = reader.clock
    asked = time.monotonic()
    cursor = int(get_state(con, CURSOR)["at"])
    staging, outcome = Staging(), PollOutcome()
    params = {"created[gte]": max(0, cursor - overlap_seconds)}
    first = reader.page("/v1/events", {**params, "limit": PAGE_SIZE})
    started = unix(clock.at(asked))  # Stripe's time when the poll began, known from its answer
    if max_age_seconds is not None and unix(clock()) - cursor > max_age_seconds:
        outcome.stale = True
        return outcome
    pages = list_all(reader, "/v1/events", params, first=first)
    stage_pages(con, staging, "events", [body for _, body in pages])
    outcome.events = sum(len(data) for data, _ in pages)
    newest = max((e["created"] for data, _ in pages for e in data), default=cursor)
    chosen = _chosen(con)
    outcome.applied = len(chosen)
    _drop_unchanged_events(con, staging)
    if chosen:
        _stage_objects(reader, con, staging, chosen, pages)
        _stage_disputed_charges(reader, con, staging)
    endpoints = _refresh_due(con, clock, refresh_seconds)
    listed: list[str] = []
    if endpoints:
        listed = _stage_refresh(reader, con, staging)
    with transaction(con):
        note_changes(con, staging.objects)
        outcome.objects = flush(con, staging, API_VERSION, clock())
        store_rejected(con, reader.take_rejected(), clock())
        if endpoints:
            _mark_refreshed(con, listed, clock())
        # Stripe's time when the poll began, once it has told it: an event dated later (a
        # clock ahead of Stripe's answer, a sandbox that dates work ahead) must not move the
        # cursor past events listed after this poll, which would then never be read
        moved = started if clock.observed else max(started, newest)
        set_state(con, CURSOR, {"at": max(cursor, moved)}, clock())
    return outcome


def stage_deleted(con: duckdb.DuckDBPyConnection, staging: Staging) -> None:
    """Stage, after a backfill, the objects deleted within the events window: no list returns
    them any more, but their rows still matter (a deleted customer's canceled subscriptions, a
    deleted coupon that keeps discounting). Each comes from its `*.deleted` event (its last
    state), marked deleted; objects a list did return are left alone."""
    for object_type, (table, _, _) in APPLIED.items():
        if object_type in ("subscription", "discount"):
            continue  # a subscription's "deletion" is its cancellation; a discount's, its end
        stage_select(
            con,
            staging,
            table,
            "SELECT raw->'$.data.object' AS raw, TRUE AS deleted, NULL AS parent FROM events "
            f"WHERE type = ? AND object_id NOT IN (SELECT id FROM {table})",
            [f"{object_type}.deleted"],
        )


def list_all(
    reader: StripeReader, path: str, params: dict[str, Any], *, first: Page | None = None
) -> list[tuple[list[dict[str, Any]], str]]:
    """Every page of a list: (decoded objects, body text); `first`: its first page, if read."""
    pages, cursor = [], None
    while True:
        query = {**params, "limit": PAGE_SIZE}
        if cursor is not None:
            query["starting_after"] = cursor
        page = first if first is not None and cursor is None else reader.page(path, query)
        data = page.data.get("data") or []
        pages.append((data, page.body))
        if not page.data.get("has_more") or not data:
            return pages
        cursor = data[-1]["id"]


@dataclass(frozen=True)
class Chosen:
    event_id: str
    object_type: str
    object_id: str
    tied: bool  # other new events about the object share its second


def _chosen(con: duckdb.DuckDBPyConnection) -> list[Chosen]:
    """The newest new event per object, where no stored event about it is newer."""
    types = ", ".join(f"'{name}'" for name in APPLIED)
    rows = con.execute(
        f"""
        SELECT s.id, s.object_type, s.object_id,
               count(*) OVER (PARTITION BY s.object_id, s.created) > 1 AND s.type NOT LIKE
                   '%.deleted' AS tied
        FROM stage_events AS s
        WHERE s._reason IS NULL AND s.object_type IN ({types})
          AND s.id NOT IN (SELECT id FROM events)
          AND NOT EXISTS (SELECT 1 FROM events AS e
                          WHERE e.object_id = s.object_id AND e.created > s.created)
        QUALIFY row_number() OVER (
            -- a deletion is an object's last word, also when other events share its second
            PARTITION BY s.object_id ORDER BY s.created DESC, s.type LIKE '%.deleted' DESC
        ) = 1
        """
    ).fetchall()
    return [Chosen(*row) for row in rows]


def _drop_unchanged_events(con: duckdb.DuckDBPyConnection, staging: Staging) -> None:
    """Unstage the events listed again (the overlap) that are stored as they are: an event
    changes only in `pending_webhooks`, so writing them again would change nothing, and a poll
    that writes nothing is a cycle readers need no new snapshot for."""
    if not staging.objects.get("events"):
        return
    dropped = con.execute(
        f"DELETE FROM {staging.stage('events')} AS s WHERE s._reason IS NULL AND EXISTS ("
        "SELECT 1 FROM events AS e WHERE e.id = s.id "
        "AND e.pending_webhooks IS NOT DISTINCT FROM s.pending_webhooks)"
    ).fetchall()[0][0]
    staging.objects["events"] -= int(dropped)


def _stage_objects(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    chosen: list[Chosen],
    pages: list[tuple[list[dict[str, Any]], str]],
) -> None:
    """Stage each chosen event's object, or the object retrieved when its event is tied or
    names a discount the warehouse lacks."""
    events = {e.get("id"): e for data, _ in pages for e in data}
    for object_type in sorted({c.object_type for c in chosen}):
        table, attribute, child = APPLIED[object_type]
        group = [c for c in chosen if c.object_type == object_type]
        unknown = _unknown_discounts(con, events, group)
        fetched = [
            c for c in group if (c.tied or c.event_id in unknown) and object_type in RETRIEVE
        ]
        from_events = [c.event_id for c in group if c not in fetched]
        deleted = "FALSE" if object_type == "subscription" else "type LIKE '%.deleted'"
        stage_select(
            con,
            staging,
            table,
            f"SELECT raw->'$.data.object' AS raw, {deleted} AS deleted, NULL AS parent "
            "FROM stage_events WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [from_events],
        )
        objects = [events[i]["data"]["object"] for i in from_events if i in events]
        for item in fetched:
            page = reader.page(f"/v1/{table}/{item.object_id}", RETRIEVE[object_type])
            if page.data.get("deleted") is True:
                continue  # deleted since the events were listed: its deletion comes next poll
            if page.data.get("undecodable") is True:
                continue  # quarantined (sync.undecodable)
            stage_pages(con, staging, table, [f'{{"data":[{page.body}]}}'])
            objects.append(page.data)
        if attribute is not None and child is not None:
            rest = complete_nested(reader, objects, attribute)
            stage_pages(con, staging, child, [b for _, b in rest], [p for p, _ in rest])


def _stage_disputed_charges(
    reader: StripeReader, con: duckdb.DuckDBPyConnection, staging: Staging
) -> None:
    """A new dispute sets its charge's `disputed`, and Stripe sends no charge event for that
    (`charge.updated` is for description and metadata): retrieve each such charge."""
    rows = con.execute(
        "SELECT DISTINCT raw->>'$.data.object.charge' FROM stage_events "
        "WHERE _reason IS NULL AND type = 'charge.dispute.created' "
        "AND id NOT IN (SELECT id FROM events) ORDER BY 1"
    ).fetchall()
    for (charge,) in rows:
        if charge is not None:
            page = reader.page(f"/v1/charges/{charge}", {})
            if page.data.get("undecodable") is True:
                continue  # quarantined (sync.undecodable)
            stage_pages(con, staging, "charges", [f'{{"data":[{page.body}]}}'])


def _unknown_discounts(
    con: duckdb.DuckDBPyConnection, events: dict[Any, dict[str, Any]], group: list[Chosen]
) -> set[str]:
    """The chosen events whose object names a discount not stored yet. Discounts have no
    endpoint of their own and an event's object carries only their ids, so the object is
    retrieved with them expanded (one read, only when a discount is new)."""
    named = {
        c.event_id: {d for d in _discounts(events[c.event_id]) if isinstance(d, str)}
        for c in group
        if c.event_id in events
    }
    ids = sorted(set().union(*named.values())) if named else []
    if not ids:
        return set()
    stored = {
        row[0]
        for row in con.execute(
            "SELECT id FROM discounts WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids]
        ).fetchall()
    }
    return {event for event, discounts in named.items() if discounts - stored}


def _discounts(event: dict[str, Any]) -> list[Any]:
    return list(event["data"]["object"].get("discounts") or [])


def _refresh_due(con: duckdb.DuckDBPyConnection, clock: Clock, refresh_seconds: int) -> bool:
    last = get_state(con, REFRESHED)
    return last is None or unix(clock()) - int(last["at"]) >= refresh_seconds


def _stage_refresh(
    reader: StripeReader, con: duckdb.DuckDBPyConnection, staging: Staging
) -> list[str]:
    """List webhook endpoints and undelivered events again; returns the endpoint ids listed."""
    endpoints = list_all(reader, "/v1/webhook_endpoints", {})
    stage_pages(con, staging, "webhook_endpoints", [body for _, body in endpoints])
    pending = list_all(reader, "/v1/events", {"delivery_success": "false"})
    stage_pages(con, staging, "events", [body for _, body in pending])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE still_pending AS SELECT unnest(?::VARCHAR[]) AS id",
        [[e["id"] for data, _ in pending for e in data]],
    ).fetchall()
    return [e["id"] for data, _ in endpoints for e in data]


def _mark_refreshed(con: duckdb.DuckDBPyConnection, listed: list[str], now: datetime) -> None:
    con.execute(
        "UPDATE webhook_endpoints SET deleted = TRUE WHERE id NOT IN (SELECT unnest(?::VARCHAR[]))",
        [listed],
    ).fetchall()
    con.execute(
        "UPDATE events SET pending_webhooks = 0 WHERE pending_webhooks > 0 "
        "AND id NOT IN (SELECT id FROM still_pending)"
    ).fetchall()
    set_state(con, REFRESHED, {"at": unix(now)}, now)
