"""The daily reconciliation: what the events missed, found by listing recently created objects.

The incremental sync sees the account only through `/v1/events`, and events can be missed: one
that is never listed (the sandbox's `drop_events` fault), a change no event reports, events
that aged out of Stripe's 30 days while the sync was down. So once per account day (Stripe's
clock, UTC), the first incremental run of the day also lists, per resource the backfill lists
by `created`, the objects created since that resource's last reconciliation minus MARGIN_SECONDS
— the backfill's fetch path (`sync.fetch`: pages of 100, `created[gte]`, truncated nested lists
completed), usually one page a resource — and ingests them as the backfill does. An object
stored unchanged changes nothing; the objects new or changed are what the events missed, and
they are counted per table (the run's record and `paylens sync status` show them).

Events (the poll reads them) and webhook endpoints (listed whole every hour) are not
reconciled; nor are resources recorded as unavailable (`sync.availability`). A completed
backfill counts as a reconciliation of every resource, at its start (`mark`). Changes to
objects created before the margin are not seen here: only a backfill would find those.

Steps of `reconcile`:
1. the resources due (`due`): not reconciled on this account day, not unavailable;
2. per resource: every page created since its last reconciliation minus the margin;
3. stage them, digest the stored rows of the staged ids, then write them (history notes too)
   with the resource's reconciliation time in one transaction; count the ids whose row is new
   or differs from its digest. A resource that fails is recorded and tried again next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from sync.availability import unavailable
from sync.client import API_VERSION, AuthError, StripeReader, StripeSyncError
from sync.fetch import RESOURCES, fetch_page
from sync.history import note_changes
from sync.incremental import unix
from sync.ingest import Staging, flush, stage_pages
from sync.scrub import scrub
from sync.store import get_state, set_state, transaction
from sync.tables import TABLES
from sync.undecodable import store_rejected

RECONCILED = "reconciled"  # sync_state: {resource: unix time its last reconciliation began}
MARGIN_SECONDS = 2 * 86_400  # how far before the last reconciliation a listing starts
NOT_RECONCILED = ("events", "webhook_endpoints")  # the poll's own, and listed whole every two hours
RECONCILED_RESOURCES = tuple(
    name for name, r in RESOURCES.items() if r.windowed and name not in NOT_RECONCILED
)


@dataclass
class Reconciled:
    """What one reconciliation did: objects new or changed per table (only tables with some),
    reads spent, resources listed, and the failures per resource."""

    changed: dict[str, int] = field(default_factory=dict)
    reads: int = 0
    resources: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def due(last: dict[str, int], resources: list[str], now: datetime) -> list[str]:
    """The `resources` not reconciled on `now`'s UTC day (`last`: unix time per resource; a
    resource missing from it has never been reconciled)."""
    today = now.astimezone(UTC).date()
    return [
        name
        for name in resources
        if name not in last or datetime.fromtimestamp(int(last[name]), UTC).date() < today
    ]


def mark(con: duckdb.DuckDBPyConnection, at: int, now: datetime) -> None:
    """Every resource reconciled at unix time `at` (a completed backfill listed them all, from
    its start); inside the caller's transaction."""
    set_state(con, RECONCILED, {name: at for name in RECONCILED_RESOURCES}, now)


def reconcile(reader: StripeReader, con: duckdb.DuckDBPyConnection) -> Reconciled | None:
    """Reconcile the resources due on the account's day; None when none is (no read spent).
    Raises AuthError (nothing works without the key); any other failure is per resource."""
    clock = reader.clock
    last = dict(get_state(con, RECONCILED) or {})
    skipped = set(unavailable(con))
    todo = due(last, [r for r in RECONCILED_RESOURCES if r not in skipped], clock())
    if not todo:
        return None
    done = Reconciled(resources=todo)
    before = reader.reads.total
    for name in todo:
        began = unix(clock())
        since = int(last.get(name, began)) - MARGIN_SECONDS
        try:
            changed = _resource(reader, con, name, since, began)
        except AuthError:
            raise
        except StripeSyncError as exc:
            done.errors[name] = scrub(str(exc))
            continue
        for table, count in changed.items():
            done.changed[table] = done.changed.get(table, 0) + count
    done.reads = reader.reads.total - before
    return done


def _resource(
    reader: StripeReader, con: duckdb.DuckDBPyConnection, name: str, since: int, began: int
) -> dict[str, int]:
    """List one resource created since `since` and store it; returns its tables' counts of
    objects new or changed (nonzero only)."""
    resource, pages = RESOURCES[name], []
    cursor: str | None = None
    while True:  # every page first: a failure part-way leaves nothing staged
        page = fetch_page(reader, resource, lo=since, cursor=cursor)
        pages.append(page)
        if not page.has_more or page.last_id is None:
            break
        cursor = page.last_id
    staging, clock = Staging(), reader.clock
    stage_pages(con, staging, name, [page.body for page in pages])
    for table in sorted({table for page in pages for table in page.children}):
        nested = [child for page in pages for child in page.children.get(table, [])]
        stage_pages(con, staging, table, [b for _, b in nested], [p for p, _ in nested])
    with transaction(con):
        tables = _digest(con, staging)
        note_changes(con, staging.objects)
        flush(con, staging, API_VERSION, clock())
        store_rejected(con, reader.take_rejected(), clock())
        changed = _changed(con, tables)
        last = dict(get_state(con, RECONCILED) or {})
        set_state(con, RECONCILED, {**last, name: began}, clock())
    return changed


def _columns(name: str) -> str:
    """The typed row of a stored object (not `raw`: a list and an event render an object
    differently, expanded or not), as a SQL row over alias `t`."""
    table = TABLES[name]
    names = [c.name for c in table.stored] + (["deleted"] if table.deletable else [])
    return "row(" + ", ".join(f't."{column}"' for column in names) + ")"


def _digest(con: duckdb.DuckDBPyConnection, staging: Staging) -> list[str]:
    """Before the flush: per staged table, a digest of the stored row of each valid staged id
    (NULL: not stored). Returns the tables digested."""
    tables = [name for name in TABLES if staging.objects.get(name)]
    for name in tables:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE reconcile_{name} AS "
            f"SELECT s.id, CASE WHEN t.id IS NULL THEN NULL ELSE hash({_columns(name)}) END "
            f"AS digest FROM (SELECT DISTINCT id FROM {staging.stage(name)} "
            f"WHERE _reason IS NULL) AS s LEFT JOIN {name} AS t USING (id)"
        ).fetchall()
    return tables


def _changed(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]:
    """After the flush: per digested table, the ids whose stored row is new or different."""
    changed = {}
    for name in tables:
        count = con.execute(
            f"SELECT count(*) FROM reconcile_{name} AS r LEFT JOIN {name} AS t USING (id) "
            f"WHERE r.digest IS DISTINCT FROM "
            f"CASE WHEN t.id IS NULL THEN NULL ELSE hash({_columns(name)}) END"
        ).fetchall()[0][0]
        con.execute(f"DROP TABLE reconcile_{name}").fetchall()
        if count:
            changed[name] = int(count)
    return changed
