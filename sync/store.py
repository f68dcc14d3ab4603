"""The warehouse file: opening it with its schema, transactions, and the sync's own state.

Objects are written by `sync.ingest` (bulk, typed in SQL); this module holds what every writer
shares: the schema, an all-or-nothing transaction, and the small key/value `sync_state`
(events cursor, backfill in progress, last webhook refresh, the account clock's offset).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from sync.ingest import prepare
from sync.schema import schema_sql

BACKFILL_MEMORY = "512MB"  # DuckDB's buffer pool while pages stream in (SPEC: a backfill ≤ 1 GB)
BACKFILL = "backfill"  # the sync_state key of the (re-)backfill: running or done, and when
CLOCK = "account_clock"  # the sync_state key of Stripe's clock minus the machine's (sync.clock)
# the sync_state key of the resources refused with 403/404 (sync.availability; metrics.degraded
# reads it under the same name)
UNAVAILABLE = "unavailable_resources"
WRITE_THREADS = 1  # DuckDB threads while pages stream in (see open_warehouse)
REBUILD_THREADS = 2  # for the history rebuild, which runs alone: its scans are the cost
# for the history rebuild: its joins and window functions cannot all spill; it runs in batches of
# subscriptions (sync.history.BATCH) so that this holds on any account (a batch of 20,000 on
# `large` needed 700 MB; with 700 MB the first sync peaked at 980 MB, too close to 1 GB)
REBUILD_MEMORY = "600MB"
# A flush of more than CHECKPOINT_THRESHOLD is checkpointed straight into the file instead of
# being written to the WAL first and again at the next checkpoint (16 MB by default): ~15% of
# the ingest while the tables are small. But a checkpoint rewrites each changed table's last row
# groups and its id index, so its cost grows with the tables (2 M rows: 100 → 250 ms a flush,
# against ~30 ms into the WAL): once the file passes BULK_FROM_BYTES, a bulk writer
# (`sync.writer`) lets the WAL grow to BULK_CHECKPOINT_THRESHOLD between checkpoints (the data
# waiting in it stays under `memory_limit`: DuckDB spills it; a crash replays the WAL).
CHECKPOINT_THRESHOLD = "1MB"
BULK_CHECKPOINT_THRESHOLD = "1GB"
BULK_FROM_BYTES = 64 * 2**20


@contextmanager
def rebuild_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB use REBUILD_MEMORY (without insertion order, so more operators spill) for the
    duration of a whole-warehouse rebuild; the backfill's limit is restored after."""
    con.execute(f"SET memory_limit = '{REBUILD_MEMORY}'").fetchall()
    con.execute("SET preserve_insertion_order = false").fetchall()
    con.execute(f"SET threads = {REBUILD_THREADS}").fetchall()
    try:
        yield
    finally:
        con.execute(f"SET threads = {WRITE_THREADS}").fetchall()
        con.execute("RESET preserve_insertion_order").fetchall()
        con.execute(f"SET memory_limit = '{BACKFILL_MEMORY}'").fetchall()


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the master file read-write and make sure the schema exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Bound DuckDB's buffer pool (it spills to disk beyond it): a backfill must stay under 1 GB.
    # Set when connecting, so that it holds while a WAL left by a crash is replayed (up to
    # BULK_CHECKPOINT_THRESHOLD: 1 GB replayed in 1.2 GB of RSS without it, 580 MB with it).
    # One thread: at a flush's size DuckDB's parallelism costs more than it saves (the ingest
    # benchmark: ~20% more CPU with 2), and the fetching threads need the other core.
    con = duckdb.connect(
        str(path), config={"memory_limit": BACKFILL_MEMORY, "threads": WRITE_THREADS}
    )
    checkpoint_every(con, CHECKPOINT_THRESHOLD)
    con.execute(schema_sql()).fetchall()
    prepare(con)
    return con


def checkpoint_every(con: duckdb.DuckDBPyConnection, threshold: str) -> None:
    """Checkpoint at the first commit that leaves more than `threshold` in the WAL."""
    con.execute(f"SET checkpoint_threshold = '{threshold}'").fetchall()


def database_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """Bytes in use in the warehouse file (checkpointed data; the WAL not counted)."""
    row = con.execute(
        "SELECT used_blocks * block_size FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Everything inside commits together or not at all (a crash leaves the previous state)."""
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK").fetchall()
        raise
    con.execute("COMMIT").fetchall()


def get_state(con: duckdb.DuckDBPyConnection, key: str) -> Any:
    """The value stored under `key` in sync_state, or None."""
    rows = con.execute("SELECT value FROM sync_state WHERE key = ?", [key]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def set_state(con: duckdb.DuckDBPyConnection, key: str, value: Any, now: datetime) -> None:
    con.execute(
        "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?)", [key, json.dumps(value), now]
    ).fetchall()


def delete_state(con: duckdb.DuckDBPyConnection, key: str) -> None:
    con.execute("DELETE FROM sync_state WHERE key = ?", [key]).fetchall()
