"""The warehouse file: opening it with its schema, transactions, and the sync's own state.

Objects are written by `sync.ingest` (bulk, typed in SQL); this module holds what every writer
shares: the schema, an all-or-nothing transaction, and the small key/value `sync_state`
(events cursor, backfill in progress, last webhook refresh).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from sync.ingest import prepare


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the master file read-write and make sure the schema exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    # bound DuckDB's buffer pool (it spills to disk beyond it): a backfill must stay under 1 GB
    con.execute("SET memory_limit = '512MB'").fetchall()
    con.execute(resources.files("sync").joinpath("schema.sql").read_text(encoding="utf-8"))
    con.fetchall()
    prepare(con)
    return con


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
