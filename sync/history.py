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
  `history_pending`, in the poll's own transaction, and the rebuild empties it in its own. Only
  they are observed too (no other subscription's status or items can differ from its last
  observation), so a run with nothing pending and no full rebuild due reads no subscription.

The rebuild lists the subscriptions it rebuilt in `mrr_pending` (every one after a full rebuild),
in its transaction, for the metrics refresh (`metrics.refresh.refresh_pending`) to redo; the poll
adds there the subscriptions whose MRR changes through what the MRR reads beside the history (a
price, coupon or discount, or an invoice line carrying one).

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


ALL = "SELECT id FROM subscriptions"
PENDING = "SELECT subscription FROM history_pending"


def rebuild_history(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Record today's observations and rebuild the history of every subscription that needs it
    (all after a backfill; else those noted since the last rebuild), in one transaction, and list
    them in `mrr_pending`. Returns how many subscriptions were rebuilt.

    Steps: observe the pending subscriptions (and the events window); a full rebuild is due when
    the backfill or the window moved: then observe every subscription; rebuild; hand over."""
    with rebuild_memory(con), transaction(con):
        _observe(con, now, PENDING)
        built_for = _built_for(con)
        full = built_for != get_state(con, STATE)
        if full:
            _observe(con, now, ALL)  # the pending ones again: nothing new for them
            built_for = _built_for(con)
        source = ALL if full else PENDING
        con.execute(f"CREATE OR REPLACE TEMP TABLE history_todo AS {source}").fetchall()
        count = _rebuild(con, now)  # nothing pending, no full rebuild: 0, no batch
        con.execute(
            "INSERT INTO mrr_pending SELECT * FROM history_todo ON CONFLICT DO NOTHING"
        ).fetchall()
        con.execute("DELETE FROM history_pending").fetchall()
        if full:
            set_state(con, STATE, built_for, now)
    return count


def _observe(con: duckdb.DuckDBPyConnection, now: datetime, source: str) -> None:
    """Observe the subscriptions `source` selects and compute the events window."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE history_observing AS FROM ({source}) AS t(subscription)"
    ).fetchall()
    _run(con, "history_observe.sql", now)


# What the MRR reads beside the history (metrics/sql/mrr_*_pieces.sql), per staged table: the
# discounts it can change (by id, and by the subscription or customer they apply to).
_DISCOUNTS = "SELECT id, subscription, customer FROM discounts"
_STAGED_DISCOUNTS = "SELECT id, subscription, customer FROM stage_discounts"


def note_changes(con: duckdb.DuckDBPyConnection, staged: Iterable[str]) -> None:
    """Add to `history_pending` the subscriptions whose history the staged rows (of the tables
    named in `staged`, not yet flushed) can change, and to `mrr_pending` those whose MRR they can
    change otherwise. Call it inside the flush's transaction."""
    tables = set(staged)
    _note(con, "history_pending", [sql for t, sql in _history_sources().items() if t in tables])
    _note(con, "mrr_pending", [sql for t, sql in _mrr_sources().items() if t in tables])


def _history_sources() -> dict[str, str]:
    return {
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


def _mrr_sources() -> dict[str, str]:
    """The subscriptions of the discounts each staged table can change: a discount staged (as it
    was and as it is), those of a staged coupon, those a staged invoice line carries (a once
    coupon lasts the period of the line carrying it) or a staged invoice's stored lines did; and
    the subscriptions whose history holds a staged price."""
    line_discounts = f"unnest(CAST({_staged('invoice_lines', 'discounts')} AS VARCHAR[]))"
    staged_lines = f"SELECT {line_discounts} FROM stage_invoice_lines"
    stored_lines = (
        "SELECT unnest(CAST(discounts AS VARCHAR[])) FROM invoice_lines "
        f"WHERE invoice IN (SELECT {_staged('invoices', 'id')} FROM stage_invoices)"
    )
    known = f"{_DISCOUNTS} UNION ALL {_STAGED_DISCOUNTS}"
    return {
        "prices": "SELECT subscription FROM subscription_item_history "
        "WHERE price IN (SELECT id FROM stage_prices)",
        "coupons": _applied_to(
            f"SELECT * FROM ({known}) WHERE id IN (SELECT id FROM discounts WHERE coupon IN "
            "(SELECT id FROM stage_coupons) UNION ALL SELECT id FROM stage_discounts "
            "WHERE coupon IN (SELECT id FROM stage_coupons))"
        ),
        "discounts": _applied_to(
            f"SELECT * FROM ({known}) WHERE id IN (SELECT id FROM stage_discounts)"
        ),
        "invoice_lines": _applied_to(f"SELECT * FROM ({known}) WHERE id IN ({staged_lines})"),
        "invoices": _applied_to(f"SELECT * FROM ({known}) WHERE id IN ({stored_lines})"),
    }


def _applied_to(discounts: str) -> str:
    """The subscriptions the selected discounts apply to: their own, or every one of their
    customer's when they belong to no subscription (metrics/sql/mrr_subscription_pieces.sql)."""
    return (
        f"SELECT coalesce(d.subscription, s.id) FROM ({discounts}) AS d "
        "LEFT JOIN subscriptions AS s ON d.subscription IS NULL AND s.customer = d.customer"
    )


def _note(con: duckdb.DuckDBPyConnection, table: str, chosen: list[str]) -> None:
    if not chosen:
        return
    con.execute(
        f"INSERT INTO {table} SELECT DISTINCT * FROM ("
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
