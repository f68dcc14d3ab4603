"""Deletions end to end: the sandbox deletes customers, products and a coupon while its clock
runs on, and the sync marks exactly those deleted, keeps what it knew of them, and otherwise
ends where a backfill started after the deletions ends. A backfill stores the objects deleted
within its events window too (from their `*.deleted` events, marked deleted), since no list
returns them but their subscriptions and discounts still need them; objects deleted before the
window are gone for good."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import duckdb
import pytest

from app.service import sync_and_publish
from sandbox.api.server import start_server
from sandbox.objects.clock import DAY_SECONDS, day_end
from sandbox.sim import Simulation, simulate
from tests.conftest import settings_for
from tests.sync.warehouse_checks import OBJECT_TABLES, checksum

pytestmark = pytest.mark.slow  # three syncs of `demo` (~25 s)

# a demo business deleting customers (one while subscribed), products and a coupon in the window
SEED = 7
UNTIL = date(2026, 11, 20)
WINDOW_DAYS = 22  # the clock runs this far between the backfill and the next sync (< 29)
EVENTS_DAYS = 30  # how far back Stripe lists events
TABLE_OF = {"customer": "customers", "product": "products", "coupon": "coupons"}
TYPED = {  # typed columns checked against a deleted object's last state
    "customers": ("email", "name", "currency"),
    "products": ("name", "active"),
    "coupons": ("duration", "percent_off", "amount_off"),
}


@dataclass
class Synced:
    sim: Simulation
    start: int  # the sandbox clock at the backfill
    before: dict[str, dict[str, tuple[object, ...]]]  # table -> id -> typed columns then
    incremental: duckdb.DuckDBPyConnection  # backfill, clock forward, incremental sync
    fresh: duckdb.DuckDBPyConnection  # a backfill started after the deletions


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    start = day_end(UNTIL) - WINDOW_DAYS * DAY_SECONDS
    sim = simulate(SEED, UNTIL, "demo", now=start)
    tmp = tmp_path_factory.mktemp("deletions")
    with start_server(sim) as server:
        settings = settings_for(server, tmp / "incremental")
        assert sync_and_publish(settings).kind == "backfill"
    con = duckdb.connect(str(settings.master_path), read_only=True)
    before = {table: _typed(con, table) for table in TYPED}
    con.close()
    sim.advance(day_end(UNTIL))
    with start_server(sim) as server:  # a server serves the state it started with
        settings = settings_for(server, tmp / "incremental")
        result = sync_and_publish(settings)
        assert (result.kind, result.status) == ("incremental", "ok")
        again = settings_for(server, tmp / "fresh")
        assert sync_and_publish(again).kind == "backfill"
    incremental = duckdb.connect(str(settings.master_path), read_only=True)
    fresh = duckdb.connect(str(again.master_path), read_only=True)
    yield Synced(sim, start, before, incremental, fresh)
    incremental.close()
    fresh.close()


def _typed(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, tuple[object, ...]]:
    columns = ", ".join(f'"{c}"' for c in ("created", *TYPED[table]))
    rows = con.execute(f"SELECT id, {columns} FROM {table}").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def _deletable(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The object tables that have a `deleted` column."""
    return [
        table
        for table in OBJECT_TABLES
        if con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = ? AND column_name = 'deleted'",
            [table],
        ).fetchall()[0][0]
    ]


def _deleted_in_window(synced: Synced, since: int | None = None) -> dict[str, set[str]]:
    """Per table, the objects deleted after `since` (default: the backfill)."""
    found: dict[str, set[str]] = {}
    for object_id, deletion in synced.sim.deleted.items():
        if deletion.at > (synced.start if since is None else since):
            found.setdefault(TABLE_OF[deletion.object["object"]], set()).add(object_id)
    return found


def _events_window(moment: int) -> int:
    """The first second whose events a backfill at `moment` can still list, minus one."""
    return moment - EVENTS_DAYS * DAY_SECONDS - 1


def test_the_window_holds_deletions_of_every_kind(synced: Synced) -> None:
    """Guards the fixture: without deletions of each kind the tests below would prove little."""
    deleted = _deleted_in_window(synced)
    assert set(deleted) == {"customers", "products", "coupons"}
    assert len(deleted["customers"]) >= 3
    closed = [  # a customer deleted while subscribed: Stripe canceled its subscription
        c for c in synced.sim.ledger.churn_events if c.customer in deleted["customers"]
    ]
    assert any(c.at == synced.sim.deleted[c.customer].at for c in closed)


def _marked(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    marked = {
        table: {row[0] for row in con.execute(f"SELECT id FROM {table} WHERE deleted").fetchall()}
        for table in _deletable(con)
    }
    return {table: ids for table, ids in marked.items() if ids}


def test_every_object_deleted_in_the_events_window_is_marked_deleted_and_nothing_else(
    synced: Synced,
) -> None:
    # the backfill's window reaches 30 days before it; the incremental sync sees the rest
    assert _marked(synced.incremental) == _deleted_in_window(synced, _events_window(synced.start))
    assert _marked(synced.fresh) == _deleted_in_window(synced, _events_window(synced.sim.now))


def test_objects_deleted_before_the_events_window_were_never_stored(synced: Synced) -> None:
    earlier = {i for i, d in synced.sim.deleted.items() if d.at <= _events_window(synced.start)}
    assert earlier
    for table in TYPED:
        stored = {
            row[0] for row in synced.incremental.execute(f"SELECT id FROM {table}").fetchall()
        }
        assert not stored & earlier, table


def test_a_deleted_object_keeps_the_typed_columns_of_its_last_state(synced: Synced) -> None:
    for table, ids in _deleted_in_window(synced).items():
        stored = _typed(synced.incremental, table)
        for object_id in ids:
            last = synced.sim.deleted[object_id].object
            expected = tuple(last[c] for c in TYPED[table])
            assert stored[object_id][1:] == expected, object_id
            if object_id in synced.before[table]:  # known before: its history is not lost
                assert stored[object_id] == synced.before[table][object_id], object_id


def test_the_subscriptions_of_a_deleted_customer_are_stored_canceled(synced: Synced) -> None:
    customers = sorted(_deleted_in_window(synced)["customers"])
    rows = synced.incremental.execute(
        "SELECT customer, status, count(*) FROM subscriptions "
        "WHERE customer IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL ORDER BY ALL",
        [customers],
    ).fetchall()
    assert rows and {status for _, status, _ in rows} == {"canceled"}


def test_the_objects_not_deleted_are_what_the_sandbox_serves(synced: Synced) -> None:
    for table in TYPED:
        stored = {
            row[0]
            for row in synced.incremental.execute(
                f"SELECT id FROM {table} WHERE NOT deleted"
            ).fetchall()
        }
        assert stored == set(synced.sim.resource(table)), table


def test_a_backfill_after_the_deletions_stores_the_same_objects_not_deleted(
    synced: Synced,
) -> None:
    """Per table, rows and a hash over ids and typed columns, the deleted rows left out (the
    two saw different events windows); events differ by design (older ones were kept)."""
    deletable = set(_deletable(synced.incremental))
    for table in OBJECT_TABLES:
        if table == "events":
            continue
        where = "NOT deleted" if table in deletable else "TRUE"
        ours, theirs = (
            checksum(synced.incremental, table, where),
            checksum(synced.fresh, table, where),
        )
        assert ours == theirs, table
