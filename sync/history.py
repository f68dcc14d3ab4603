"""History: each subscription's status and each item's price and quantity, over time.

The metrics need the book of business on any past day, and Stripe only serves the present.
After every complete sync, `history_observe.sql` records what this sync sees, and `history.sql`
rebuilds both history tables, per subscription, from what the warehouse holds — invoice lines and
subscription fields for the time before the first sync, the state observed at each sync, and
subscription events (exact transitions within the 30-day window). A subscription's history is a
pure function of its own rows (its items, invoices, lines, observations and events, and its
customer's charges), so:

- after a backfill (or when the events window moved) every subscription is rebuilt, in batches
  of `BATCH` so memory stays bounded whatever the account's size;
- after an events poll only the subscriptions it touched are: `note_changes` lists them in
  `history_pending`, in the poll's own transaction, and the rebuild empties it in its own.

`history.sql` is written over whole tables. To run it for one batch, the tables it reads are
shadowed by temporary tables of the same names that hold only the batch's rows (`_narrowed`);
DuckDB resolves a name to the temporary schema first. All of it happens in one transaction, so
a crash never leaves the tables half done. See docs/SYNC.md for what can and cannot be
reconstructed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from importlib import resources

import duckdb

from sync.store import BACKFILL, get_state, rebuild_memory, set_state, transaction
from sync.tables import TABLES

BATCH = 10_000  # subscriptions per batch: within REBUILD_MEMORY (600 MB) on `large`
STATE = "history_built"  # the backfill and events window the history was last fully built for

_IN_SCOPE = "IN (SELECT subscription FROM history_scope)"
# The tables history.sql reads, each narrowed to the rows of the subscriptions in
# `history_scope`, and whether to copy every column (else all but `raw`, which it does not read).
NARROWED: dict[str, tuple[str, bool]] = {
    "subscriptions": (f"id {_IN_SCOPE}", True),
    "subscription_items": (f"subscription {_IN_SCOPE}", False),
    "invoices": (f"subscription {_IN_SCOPE}", False),
    "invoice_lines": (f"subscription {_IN_SCOPE}", False),
    "subscription_observations": (f"subscription {_IN_SCOPE}", True),  # it has no `raw`
    "events": (f"object_type = 'subscription' AND object_id {_IN_SCOPE}", True),
    # a failed invoice's attempts are its customer's failed charges (the batch's subscriptions
    # are copied first: this reads that copy)
    "charges": ("customer IN (SELECT customer FROM temp.main.subscriptions)", False),
}


def rebuild_history(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Record today's observations and rebuild the history of every subscription that needs it
    (all after a backfill; else those noted since the last rebuild), in one transaction.
    Returns how many subscriptions were rebuilt."""
    with rebuild_memory(con), transaction(con):
        _run(con, "history_observe.sql", now)
        built_for = _built_for(con)
        full = built_for != get_state(con, STATE)
        source = (
            "SELECT id FROM subscriptions" if full else "SELECT subscription FROM history_pending"
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE history_todo AS {source}").fetchall()
        count = _rebuild(con, now)
        con.execute("DELETE FROM history_pending").fetchall()
        if full:
            set_state(con, STATE, built_for, now)
    return count


def note_changes(con: duckdb.DuckDBPyConnection, staged: Iterable[str]) -> None:
    """Add to `history_pending` the subscriptions whose history the staged rows (of the tables
    named in `staged`, not yet flushed) can change. Call it inside the flush's transaction."""
    sources = {
        "subscriptions": "SELECT id FROM stage_subscriptions",
        "subscription_items": f"SELECT {_staged('subscription_items', 'subscription')} "
        "FROM stage_subscription_items",
        "invoices": f"SELECT {_staged('invoices', 'subscription')} FROM stage_invoices",
        "invoice_lines": f"SELECT {_staged('invoice_lines', 'subscription')} "
        "FROM stage_invoice_lines",
        "events": "SELECT object_id FROM stage_events WHERE object_type = 'subscription' "
        "AND id NOT IN (SELECT id FROM events)",
        "charges": "SELECT id FROM subscriptions WHERE customer IN "
        f"(SELECT {_staged('charges', 'customer')} FROM stage_charges)",
    }
    tables = set(staged)
    chosen = [sql for table, sql in sources.items() if table in tables]
    if not chosen:
        return
    con.execute(
        "INSERT INTO history_pending SELECT DISTINCT * FROM ("
        + " UNION ALL ".join(chosen)
        + ") AS t(subscription) WHERE subscription IS NOT NULL ON CONFLICT DO NOTHING"
    ).fetchall()


def _staged(table: str, column: str) -> str:
    """A stored column as the staging table holds it: itself, or the SQL that derives it."""
    found = next(c for c in TABLES[table].columns if c.name == column)
    return found.derived or f'"{column}"'


def _rebuild(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Run history.sql over `history_todo` in batches of BATCH subscriptions."""
    count = int(con.execute("SELECT count(*) FROM history_todo").fetchall()[0][0])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE history_batches AS SELECT subscription, "
        f"(row_number() OVER (ORDER BY subscription) - 1) // {BATCH} AS batch "
        "FROM history_todo AS t(subscription)"
    ).fetchall()
    for batch in range(-(-count // BATCH)):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE history_scope AS "
            "SELECT subscription FROM history_batches WHERE batch = ?",
            [batch],
        ).fetchall()
        with _narrowed(con):
            _run(con, "history.sql", now)
    return count


@contextmanager
def _narrowed(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Shadow the tables history.sql reads with temporary copies of the batch's rows (each
    source scanned once per batch; history.sql reads some of them many times)."""
    name = con.execute("SELECT current_database()").fetchall()[0][0]
    db = '"' + name.replace('"', '""') + '"'
    for table, (condition, whole) in NARROWED.items():
        columns = "*" if whole else "* EXCLUDE (raw)"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT {columns} FROM {db}.main.{table} WHERE {condition}"
        ).fetchall()
    yield  # on an error the transaction rolls back, and the copies with it
    for table in NARROWED:
        con.execute(f"DROP TABLE temp.main.{table}").fetchall()


def _built_for(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """What a full rebuild depends on beyond each subscription's rows: the backfill it follows
    and the events window (set by that backfill's first sync)."""
    since = con.execute("SELECT since FROM events_window").fetchall()[0][0]
    backfill = get_state(con, BACKFILL) or {}
    return {
        "backfill": str(backfill.get("finished")),
        "events_since": None if since is None else since.isoformat(),
    }


def _run(con: duckdb.DuckDBPyConnection, name: str, now: datetime) -> None:
    for statement in _statements(name):
        con.execute(statement, {"now": now} if "$now" in statement else {}).fetchall()


@cache
def _statements(name: str) -> list[str]:
    sql = resources.files("sync").joinpath(name).read_text(encoding="utf-8")
    return [s for s in sql.split(";\n") if s.strip() and not _only_comments(s)]


def _only_comments(statement: str) -> bool:
    return all(line.strip().startswith("--") or not line.strip() for line in statement.splitlines())
