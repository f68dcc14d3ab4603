"""A sync run: list every resource, save each page, record the run.

Steps of `backfill`:
1. record the run as `running` (so a crash leaves a visible trace);
2. for each resource, fetch its pages and save each page (with its nested lists completed) in one
   transaction;
3. record the run as `ok`, or `failed` with the error, and the reads and objects it made.

A later issue turns this into windowed, parallel, resumable backfill plus incremental event polls;
the fetch/save split stays.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from sync.client import API_VERSION, StripeReader, StripeSyncError
from sync.fetch import LIST_ENDPOINTS, complete_nested, fetch_pages
from sync.objects import NESTED, ROW_BUILDERS
from sync.store import upsert

Clock = Callable[[], datetime]
Progress = Callable[[str, int], None]


@dataclass
class RunResult:
    run_id: str
    status: str
    reads: int
    objects: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    exception: StripeSyncError | None = field(default=None, repr=False)


def backfill(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    clock: Clock,
    progress: Progress | None = None,
) -> RunResult:
    """List every resource into the warehouse; never raises for a Stripe error (it is recorded)."""
    run_id = uuid.uuid4().hex
    reads_before = reader.reads.total
    con.execute(
        "INSERT INTO sync_runs (run_id, kind, started_at, status) "
        "VALUES (?, 'backfill', ?, 'running')",
        [run_id, clock()],
    )
    result = RunResult(run_id=run_id, status="ok", reads=0)
    try:
        for table, (path, params) in LIST_ENDPOINTS.items():
            for page in fetch_pages(reader, path, params):
                for written_table, count in save_page(reader, con, table, page, clock()).items():
                    result.objects[written_table] = result.objects.get(written_table, 0) + count
            if progress is not None:
                progress(table, result.objects.get(table, 0))
    except StripeSyncError as exc:
        result.status, result.error, result.exception = "failed", str(exc), exc
    result.reads = reader.reads.total - reads_before
    con.execute(
        "UPDATE sync_runs SET finished_at = ?, status = ?, reads = ?, objects = ?, error = ? "
        "WHERE run_id = ?",
        [clock(), result.status, result.reads, json.dumps(result.objects), result.error, run_id],
    )
    return result


def save_page(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    table: str,
    page: list[dict[str, Any]],
    synced_at: datetime,
) -> dict[str, int]:
    """Save one page and its completed nested lists atomically; returns rows written per table."""
    nested = NESTED.get(table)
    children: list[dict[str, Any]] = []
    if nested is not None:
        attribute = nested[0]
        for parent in page:
            children.extend(complete_nested(reader, parent, attribute))
    con.execute("BEGIN TRANSACTION")
    try:
        written = {table: _save(con, table, page, synced_at)}
        if nested is not None:
            _, child_table, parent_column = nested
            _drop_removed_children(con, child_table, parent_column, page, children)
            written[child_table] = _save(con, child_table, children, synced_at)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return written


def _save(
    con: duckdb.DuckDBPyConnection, table: str, objects: list[dict[str, Any]], synced_at: datetime
) -> int:
    rows = [ROW_BUILDERS[table](obj) for obj in objects]
    return upsert(con, table, rows, raws=objects, api_version=API_VERSION, synced_at=synced_at)


def _drop_removed_children(
    con: duckdb.DuckDBPyConnection,
    child_table: str,
    parent_column: str,
    parents: list[dict[str, Any]],
    children: list[dict[str, Any]],
) -> None:
    """Children a parent no longer lists (an item replaced on a plan change) leave the table."""
    parent_ids = [parent["id"] for parent in parents]
    keep = [child["id"] for child in children] or [""]
    con.execute(
        f"DELETE FROM {child_table} WHERE {parent_column} IN (SELECT unnest(?)) "
        "AND id NOT IN (SELECT unnest(?))",
        [parent_ids, keep],
    )
