"""A sync run: backfill when needed, else one events poll; history; the run's record.

Steps of `sync`:
1. record the run as `running` (a crash leaves a visible trace, and its reads still count);
2. decide: no backfill yet, or an events cursor too old to poll (Stripe keeps 30 days of
   events) → start a backfill, recording the events cursor first; a backfill in progress →
   resume its pending windows; otherwise → incremental;
3. backfill: every pending window in parallel (`sync.backfill`); once complete, poll the events
   that happened meanwhile;
4. incremental: one events poll (`sync.incremental`);
5. rebuild the history tables (`sync.history`), then record the run's end, its reads and the
   month's reads.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from sync.backfill import Backfill, Clock, Options, Progress
from sync.client import API_VERSION, AuthError, StripeReader, StripeSyncError
from sync.fetch import RESOURCES
from sync.history import rebuild_history
from sync.incremental import CURSOR, REFRESHED, poll, stage_deleted, unix
from sync.ingest import Staging, flush
from sync.store import BACKFILL, delete_state, get_state, set_state, transaction
from sync.windows import initial, load, save


@dataclass
class RunResult:
    run_id: str
    kind: str
    status: str  # ok | partial | failed | abandoned
    reads: int
    objects: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    exception: StripeSyncError | None = field(default=None, repr=False)
    complete: bool = True  # the warehouse holds a finished backfill (safe to publish)
    seconds: dict[str, float] = field(default_factory=dict)  # per phase: backfill, poll, history
    history_rebuilt: int = 0  # subscriptions whose history was rebuilt (all after a backfill)


def sync(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    clock: Clock,
    options: Options | None = None,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunResult:
    """One run; never raises for a Stripe error (it is recorded and returned)."""
    options = options or Options()
    kind = _kind(con, clock, options)
    result = RunResult(uuid.uuid4().hex, kind, "ok", 0)
    reads_before = reader.reads.total
    _record_start(con, result, clock())

    def save_reads() -> None:
        _record_reads(con, result.run_id, reader.reads.total - reads_before, clock())

    try:
        if kind == "backfill":
            _backfill(reader, con, clock, options, result, progress, should_stop, save_reads)
        else:
            _poll(reader, con, clock, options, result)
    except StripeSyncError as exc:
        result.status, result.error, result.exception = "failed", str(exc), exc
    result.reads = reader.reads.total - reads_before
    result.complete = (get_state(con, BACKFILL) or {}).get("status") == "done"
    if result.complete:
        started = time.monotonic()
        result.history_rebuilt = rebuild_history(con, clock())
        result.seconds["history"] = time.monotonic() - started
    _record_end(con, result, clock())
    return result


def _kind(con: duckdb.DuckDBPyConnection, clock: Clock, options: Options) -> str:
    backfill = get_state(con, BACKFILL)
    if backfill is None or backfill.get("status") != "done":
        return "backfill"
    cursor = get_state(con, CURSOR)
    if cursor is None or unix(clock()) - int(cursor["at"]) > options.cursor_max_age_seconds:
        return "backfill"
    return "incremental"


def _backfill(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    clock: Clock,
    options: Options,
    result: RunResult,
    progress: Progress | None,
    should_stop: Callable[[], bool],
    on_flush: Callable[[], None],
) -> None:
    """Start (cursor first) or resume the windows, then catch up with the events meanwhile."""
    if (get_state(con, BACKFILL) or {}).get("status") != "running":
        with transaction(con):
            set_state(con, CURSOR, {"at": unix(clock())}, clock())
            set_state(con, BACKFILL, {"status": "running", "started": unix(clock())}, clock())
            delete_state(con, REFRESHED)
            save(con, initial(list(RESOURCES)))
    started = time.monotonic()
    run = Backfill(
        reader,
        con,
        clock,
        options,
        progress=progress,
        should_stop=should_stop,
        on_flush=on_flush,
    )
    outcome = run.run(load(con))
    result.seconds["backfill"] = time.monotonic() - started
    result.objects, result.errors = outcome.objects, outcome.errors
    if outcome.abandoned:
        result.status = "abandoned"
        return
    if not outcome.complete:
        result.status = "partial" if outcome.objects else "failed"
        return
    staging = Staging()
    stage_deleted(con, staging)
    with transaction(con):
        for table, count in flush(con, staging, API_VERSION, clock()).items():
            result.objects[table] = result.objects.get(table, 0) + count
        set_state(con, BACKFILL, {"status": "done", "finished": unix(clock())}, clock())
        set_state(con, REFRESHED, {"at": unix(clock())}, clock())
    _poll(reader, con, clock, options, result)
    if outcome.errors:
        result.status = "partial"


def _poll(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    clock: Clock,
    options: Options,
    result: RunResult,
) -> None:
    started = time.monotonic()
    outcome = poll(
        reader,
        con,
        clock,
        overlap_seconds=options.events_overlap_seconds,
        refresh_seconds=options.webhook_refresh_seconds,
    )
    for table, count in outcome.objects.items():
        result.objects[table] = result.objects.get(table, 0) + count
    result.seconds["poll"] = time.monotonic() - started


def _record_start(con: duckdb.DuckDBPyConnection, result: RunResult, now: datetime) -> None:
    con.execute(
        "INSERT INTO sync_runs (run_id, kind, started_at, status) VALUES (?, ?, ?, 'running')",
        [result.run_id, result.kind, now],
    ).fetchall()


def _record_reads(con: duckdb.DuckDBPyConnection, run_id: str, reads: int, now: datetime) -> None:
    """Reads so far, so a run that is killed still counts what it spent (inside a flush)."""
    con.execute("UPDATE sync_runs SET reads = ? WHERE run_id = ?", [reads, run_id]).fetchall()


def _record_end(con: duckdb.DuckDBPyConnection, result: RunResult, now: datetime) -> None:
    if isinstance(result.exception, AuthError):
        result.errors = {}
    with transaction(con):
        con.execute(
            "UPDATE sync_runs SET finished_at = ?, status = ?, reads = ?, objects = ?, error = ?, "
            "errors = ? WHERE run_id = ?",
            [
                now,
                result.status,
                result.reads,
                json.dumps(result.objects),
                result.error or ("; ".join(result.errors.values()) or None),
                json.dumps(result.errors) if result.errors else None,
                result.run_id,
            ],
        ).fetchall()
