"""A sync run: backfill when needed, else one events poll; history; the run's record.

"Now" is the account's: every time here is read from the reader's `AccountClock` (Stripe's
`Date` header, `sync.clock`), never the machine's.

Steps of `sync`:
1. assume the clock offset the previous run learned; decide: no backfill yet → start one
   (recording the events cursor first); a backfill in progress → resume its pending windows;
   otherwise → incremental;
2. a backfill run first hears Stripe's time (one cheap read); record the run as `running` (a
   crash leaves a visible trace, and its reads still count);
3. backfill: every pending window in parallel (`sync.backfill`); once complete, poll the events
   that happened meanwhile;
4. incremental: one events poll (`sync.incremental`); when its first page shows, by Stripe's
   clock, a cursor too old to poll (Stripe keeps 30 days of events), the run becomes a backfill;
   the first incremental run of an account day then reconciles (`sync.reconcile`: it lists
   what was created lately and stores what the events missed);
5. rebuild the history tables (`sync.history`), then record the run's end on the account's
   clock, its reads, and the offset between Stripe's clock and the machine's.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from sync.account_setup import mark_listed, note_key_kind, refresh_setup
from sync.availability import describe, record, retry, unavailable
from sync.backfill import Backfill, Options, Progress
from sync.client import API_VERSION, AuthError, StripeReader, StripeSyncError
from sync.clock import AccountClock
from sync.fetch import RESOURCES
from sync.history import rebuild_history
from sync.incremental import CURSOR, REFRESHED, poll, stage_deleted, unix
from sync.ingest import Staging, flush
from sync.reconcile import mark, reconcile
from sync.scrub import scrub, scrub_values
from sync.store import BACKFILL, CLOCK, delete_state, get_state, set_state, transaction
from sync.undecodable import store_rejected
from sync.windows import initial, load, save

log = logging.getLogger("paylens.sync")


@dataclass
class RunResult:
    run_id: str
    kind: str
    status: str  # ok | degraded | partial | failed | abandoned
    reads: int
    objects: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    exception: StripeSyncError | None = field(default=None, repr=False)
    complete: bool = True  # the warehouse holds a finished backfill (safe to publish)
    seconds: dict[str, float] = field(default_factory=dict)  # per phase: backfill, poll, history
    history_rebuilt: int = 0  # subscriptions whose history was rebuilt (all after a backfill)
    # Stripe's time at the run's last answer (the machine's time plus the assumed offset when
    # Stripe never answered): the moment its data is as of, at which alerts are evaluated
    account_time: datetime | None = None
    # why a run that completed is `degraded`: resources unavailable, objects quarantined by it
    degraded: list[str] = field(default_factory=list)
    # the day's reconciliation (`sync.reconcile`), if this run made it: objects new or changed
    # per table, i.e. what the events missed ({} none); None when the run made none
    reconciled: dict[str, int] | None = None


def sync(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    options: Options | None = None,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunResult:
    """One run; never raises for a Stripe error (it is recorded and returned)."""
    options = options or Options()
    clock = reader.clock
    assumed = _assume_offset(con, clock)
    kind = _kind(con)
    result = RunResult(uuid.uuid4().hex, kind, "ok", 0)
    reads_before = reader.reads.total
    begun = time.monotonic()
    if kind == "incremental" and retry(reader, con, clock()):
        kind = result.kind = "backfill"  # a resource refused before answers: backfill it
    unheard = _hear_the_time(reader) if kind == "backfill" else None
    guessed = not clock.observed
    _record_start(con, result, clock.at(begun), clock.last_seen())
    note_key_kind(con, reader, clock())  # test or live, restricted or not: never the key
    # what was quarantined before the run (by key: a still sandbox clock cannot date it)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE quarantined_before AS "
        "SELECT table_name, object_key FROM quarantine"
    ).fetchall()

    def save_reads() -> None:  # inside each flush of the backfill
        _record_reads(con, result.run_id, reader.reads.total - reads_before)
        store_rejected(con, reader.take_rejected(), clock())

    try:
        if unheard is not None:
            raise unheard
        if kind == "incremental" and not _poll(reader, con, options, result, fresh=True):
            result.kind = "backfill"  # the cursor is too old by Stripe's clock
            _record_kind(con, result, clock.at(begun), clock.last_seen())
            guessed = False
        if result.kind == "backfill":
            _backfill(reader, con, options, result, progress, should_stop, save_reads)
        else:
            _reconcile(reader, con, result)
    except StripeSyncError as exc:
        result.status, result.error, result.exception = "failed", scrub(str(exc)), exc
    leftover = reader.take_rejected()  # left out of pages no flush wrote
    if leftover:
        with transaction(con):
            store_rejected(con, leftover, clock())
    result.reads = reader.reads.total - reads_before
    result.complete = (get_state(con, BACKFILL) or {}).get("status") == "done"
    if result.complete:
        started = time.monotonic()
        # what the run observed is as of Stripe's last answer (a still sandbox stays on its day)
        result.history_rebuilt = rebuild_history(con, clock.last_seen() or clock())
        result.seconds["history"] = time.monotonic() - started
    _judge(con, result)
    _record_end(con, result, clock, clock.at(begun) if guessed else None, assumed)
    return result


def _kind(con: duckdb.DuckDBPyConnection) -> str:
    """What the warehouse asks for; an incremental run checks the cursor's age once Stripe has
    told it the time (`_poll`)."""
    backfill = get_state(con, BACKFILL)
    if backfill is None or backfill.get("status") != "done" or get_state(con, CURSOR) is None:
        return "backfill"
    return "incremental"


def _assume_offset(con: duckdb.DuckDBPyConnection, clock: AccountClock) -> float:
    """Until Stripe answers, its clock is the machine's plus the offset the last run learned
    (none: the machine's). Returns the offset assumed."""
    offset = float((get_state(con, CLOCK) or {}).get("offset_seconds", 0.0))
    if not clock.observed:
        clock.assume_offset(offset)
    return offset


def _hear_the_time(reader: StripeReader) -> StripeSyncError | None:
    """Hear Stripe's time before a backfill run is recorded: the events cursor it records and
    the events window (from the latest backfill run's start) must not be a guess ahead of
    Stripe. One cheap read; any answer carries a `Date` (an error too). Returns what stops the
    run: a refused key, or no answer at all."""
    if reader.clock.observed:
        return None
    try:
        reader.page("/v1/events", {"limit": 1})
    except AuthError as exc:
        return exc
    except StripeSyncError as exc:
        return None if reader.clock.observed else exc
    return None


def _backfill(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    options: Options,
    result: RunResult,
    progress: Progress | None,
    should_stop: Callable[[], bool],
    on_flush: Callable[[], None],
) -> None:
    """Start (Stripe's time, then the cursor) or resume the windows, then catch up with the
    events meanwhile."""
    clock = reader.clock
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
    with transaction(con):
        record(con, outcome.unavailable, clock())
    result.objects, result.errors = outcome.objects, scrub_values(outcome.errors)
    if outcome.abandoned:
        result.status = "abandoned"
        return
    if not outcome.complete:
        result.status = "partial" if outcome.objects else "failed"
        return
    staging = Staging()
    stage_deleted(con, staging)
    began = int((get_state(con, BACKFILL) or {}).get("started", unix(clock())))
    with transaction(con):
        for table, count in flush(con, staging, API_VERSION, clock()).items():
            result.objects[table] = result.objects.get(table, 0) + count
        set_state(con, BACKFILL, {"status": "done", "finished": unix(clock())}, clock())
        mark(con, began, clock())  # the backfill listed everything: reconciled from its start
        set_state(con, REFRESHED, {"at": unix(clock())}, clock())
        mark_listed(con, clock())  # the integration setup too (sync.account_setup)
    _poll(reader, con, options, result)
    if set(outcome.errors) - set(outcome.unavailable):
        result.status = "partial"


def _reconcile(reader: StripeReader, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
    """The day's reconciliation, when due: what it found is added to the run's objects and
    kept as `reconciled`; a resource that failed makes the run `partial`."""
    started = time.monotonic()
    done = reconcile(reader, con)
    if done is None:
        return
    result.seconds["reconcile"] = time.monotonic() - started
    result.reconciled = done.changed
    for table, count in done.changed.items():
        result.objects[table] = result.objects.get(table, 0) + count
    result.errors.update(done.errors)
    if done.errors:
        result.status = "partial"
    found = ", ".join(f"{table} {count}" for table, count in done.changed.items())
    log.info(
        "reconciliation of %d resources: %d reads; missed by the events: %s",
        len(done.resources),
        done.reads,
        found or "none",
    )


def _judge(con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
    """A run that completed but leaves the warehouse short is `degraded`, not `ok`: resources
    unavailable (403/404, `sync.availability`), or objects quarantined during the run. Its
    `degraded` says why (its record's `error` too)."""
    if result.status != "ok":
        return
    rows = con.execute(
        "SELECT table_name, count(*) FROM (FROM quarantine SELECT table_name, object_key "
        "EXCEPT FROM quarantined_before) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    result.degraded = describe(unavailable(con))
    if rows:
        total = sum(count for _, count in rows)
        tables = ", ".join(f"{table} {count}" for table, count in rows)
        noun = "object" if total == 1 else "objects"
        result.degraded.append(f"{total} {noun} quarantined by this run ({tables})")
    if result.degraded:
        result.status = "degraded"
        result.error = "; ".join(result.degraded)


def _poll(
    reader: StripeReader,
    con: duckdb.DuckDBPyConnection,
    options: Options,
    result: RunResult,
    *,
    fresh: bool = False,
) -> bool:
    """One events poll; with `fresh`, False (nothing applied) when the cursor is too old."""
    started = time.monotonic()
    outcome = poll(
        reader,
        con,
        overlap_seconds=options.events_overlap_seconds,
        refresh_seconds=options.webhook_refresh_seconds,
        max_age_seconds=options.cursor_max_age_seconds if fresh else None,
    )
    if not outcome.stale:  # the integration setup, every few days (sync.account_setup)
        setup = refresh_setup(reader, con, options.setup_refresh_seconds)
        outcome.objects = {**outcome.objects, **setup.objects}
        result.errors.update(setup.errors)
        result.status = "partial" if setup.errors else result.status
    for table, count in outcome.objects.items():
        result.objects[table] = result.objects.get(table, 0) + count
    result.seconds["poll"] = time.monotonic() - started
    return not outcome.stale


def _record_start(
    con: duckdb.DuckDBPyConnection, result: RunResult, now: datetime, seen: datetime | None
) -> None:
    """The run as `running`. Its start is a guess when Stripe has not answered yet (`seen`
    None, an incremental run), corrected when the run ends. A run still recorded as running
    was stopped (only one process writes the warehouse): it is marked `interrupted`."""
    con.execute("UPDATE sync_runs SET status = 'interrupted' WHERE status = 'running'").fetchall()
    con.execute(
        "INSERT INTO sync_runs (run_id, kind, started_at, status, account_time) "
        "VALUES (?, ?, ?, 'running', ?)",
        [result.run_id, result.kind, _naive(now), None if seen is None else _naive(seen)],
    ).fetchall()


def _record_kind(
    con: duckdb.DuckDBPyConnection, result: RunResult, started: datetime, seen: datetime | None
) -> None:
    """An incremental run turned backfill, with its start on Stripe's clock (see
    `_hear_the_time`)."""
    con.execute(
        "UPDATE sync_runs SET kind = ?, started_at = ?, account_time = ? WHERE run_id = ?",
        [result.kind, _naive(started), None if seen is None else _naive(seen), result.run_id],
    ).fetchall()


def _record_reads(con: duckdb.DuckDBPyConnection, run_id: str, reads: int) -> None:
    """Reads so far, so a run that is killed still counts what it spent (inside a flush)."""
    con.execute("UPDATE sync_runs SET reads = ? WHERE run_id = ?", [reads, run_id]).fetchall()


def _record_end(
    con: duckdb.DuckDBPyConnection,
    result: RunResult,
    clock: AccountClock,
    started: datetime | None,
    assumed: float,
) -> None:
    """The run's end on Stripe's clock (and its start, when that was a guess), Stripe's time at
    its last answer (`account_time`), and the offset the next run assumes until Stripe answers;
    the runs since the last one that heard Stripe, dated by the offset they assumed, are dated
    again by the one learned."""
    if isinstance(result.exception, AuthError):
        result.errors = {}
    seen = clock.last_seen()
    result.account_time = seen or clock()
    with transaction(con):
        if clock.observed:
            _redate_unheard(con, result.run_id, clock.offset() - assumed)
        if started is not None:
            con.execute(
                "UPDATE sync_runs SET started_at = ? WHERE run_id = ?",
                [_naive(started), result.run_id],
            ).fetchall()
        con.execute(
            "UPDATE sync_runs SET finished_at = ?, status = ?, reads = ?, objects = ?, "
            "error = ?, errors = ?, account_time = ?, reconciled = ? WHERE run_id = ?",
            [
                _naive(clock()),
                result.status,
                result.reads,
                json.dumps(result.objects),
                result.error or ("; ".join(result.errors.values()) or None),
                json.dumps(result.errors) if result.errors else None,
                None if seen is None else _naive(seen),
                None if result.reconciled is None else json.dumps(result.reconciled),
                result.run_id,
            ],
        ).fetchall()
        if clock.observed:
            set_state(con, CLOCK, {"offset_seconds": round(clock.offset(), 3)}, clock())


def _redate_unheard(con: duckdb.DuckDBPyConnection, run_id: str, shift: float) -> None:
    """Runs that never heard from Stripe (no `account_time`: failed, or killed before its
    answer) since the last that did were dated by the machine plus the offset this run
    assumed: move them by what it was off."""
    con.execute(
        "UPDATE sync_runs SET started_at = started_at + to_microseconds(?), "
        "finished_at = finished_at + to_microseconds(?) "
        "WHERE account_time IS NULL AND run_id <> ? AND started_at > coalesce("
        "(SELECT max(finished_at) FROM sync_runs WHERE account_time IS NOT NULL), "
        "TIMESTAMP '1970-01-01')",
        [round(shift * 1e6), round(shift * 1e6), run_id],
    ).fetchall()


def _naive(moment: datetime) -> datetime:
    """UTC without a zone: DuckDB would store an aware time converted to its session zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)
