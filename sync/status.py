"""What `paylens sync status` shows: cursor age, last runs, objects, errors, reads this month,
resources unavailable, what each day's reconciliation found (all on the account's clock).

It is read where no sync runs (the master when no writer holds it, else a published snapshot,
which is taken after its run ended), so a run or backfill recorded as running is one that was
stopped: it shows as interrupted / incomplete, never as running.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from sync.store import BACKFILL, CLOCK, UNAVAILABLE, get_state
from sync.tables import TABLES as OBJECT_TABLES

MONTHLY_READ_FLOOR = 10_000  # Stripe's floor of read requests a month for any account
# the tables whose rows `objects` counts: every object table as declared, then the quarantine
TABLES = (*OBJECT_TABLES, "quarantine")


def sync_status(
    con: duckdb.DuckDBPyConnection, machine_now: datetime, runs: int = 5
) -> dict[str, Any]:
    """A JSON-ready summary of the sync's state now, on the account's clock: the machine's time
    `machine_now` plus the offset from Stripe's clock the last run learned (`sync.clock`)."""
    now = account_now(con, machine_now)
    cursor = get_state(con, "events_cursor")
    backfill = get_state(con, "backfill") or {}
    month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    reads = con.execute(
        "SELECT coalesce(sum(reads), 0) FROM sync_runs WHERE started_at >= ?",
        [month.replace(tzinfo=None)],
    ).fetchall()[0][0]
    pending = con.execute(
        "SELECT resource, count(*) FROM sync_windows WHERE state = 'pending' "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    backfilled = backfill.get("status", "not started")
    return {
        "backfill": "incomplete" if backfilled == "running" else backfilled,
        "windows_left": {resource: count for resource, count in pending},
        # never negative: a cursor dated by Stripe may be ahead of the machine's estimate
        "cursor_age_seconds": (
            None if cursor is None else max(0, int(now.timestamp()) - int(cursor["at"]))
        ),
        "unavailable": {
            name: {"status": entry["status"], "reason": entry["reason"], "since": entry["since"]}
            for name, entry in sorted((get_state(con, UNAVAILABLE) or {}).items())
        },
        "reads_this_month": int(reads),
        "monthly_read_floor": MONTHLY_READ_FLOOR,
        "objects": {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in TABLES
        },
        "runs": _runs(con, runs),
    }


def account_now(con: duckdb.DuckDBPyConnection, machine_now: datetime) -> datetime:
    """Stripe's time by the machine's and the offset the last run learned (none: the machine's)."""
    offset = (get_state(con, CLOCK) or {}).get("offset_seconds", 0.0)
    return machine_now + timedelta(seconds=float(offset))


def last_heard(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Stripe's time at the latest run's last answer: the moment the warehouse is as of."""
    value = con.execute("SELECT max(account_time) FROM sync_runs").fetchall()[0][0]
    return None if value is None else value.replace(tzinfo=UTC)


def account_day(con: duckdb.DuckDBPyConnection) -> date:
    """The account's day: that of Stripe's last answer to a sync, else the machine's (UTC). The
    day the dashboard and `paylens report` default to, so both show the same figures."""
    heard = last_heard(con)
    return (heard or datetime.now(UTC)).date()


def backfill_finished(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the backfill the warehouse holds finished, on the account's clock (None: none has
    finished yet)."""
    finished = (get_state(con, BACKFILL) or {}).get("finished")
    return None if finished is None else datetime.fromtimestamp(finished, UTC)


def _runs(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict[str, Any]]:
    """The latest runs; `reconciled`: what the run's reconciliation found per table (None:
    it made none; a snapshot older than the column has none)."""
    has_reconciled = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'sync_runs' AND column_name = 'reconciled'"
    ).fetchall()[0][0]
    reconciled = "reconciled" if has_reconciled else "NULL"
    rows = con.execute(
        "SELECT run_id, kind, started_at, finished_at, "
        "CASE status WHEN 'running' THEN 'interrupted' ELSE status END, reads, errors, error, "
        f"{reconciled} FROM sync_runs ORDER BY started_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        {
            "kind": kind,
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat() if finished else None,
            "status": status,
            "reads": reads,
            "errors": json.loads(errors) if errors else {},
            "error": error,
            "reconciled": json.loads(found) if found is not None else None,
        }
        for _, kind, started, finished, status, reads, errors, error, found in rows
    ]


def format_status(status: dict[str, Any]) -> str:
    age = status["cursor_age_seconds"]
    lines = [
        f"backfill: {status['backfill']}"
        + (
            f" ({sum(status['windows_left'].values())} windows left; the next run resumes it)"
            if status["windows_left"]
            else ""
        ),
        f"events cursor age: {'never polled' if age is None else _age(age)}",
        *(
            f"unavailable: {name} since {_day(entry['since'])}: {entry['reason']}"
            for name, entry in status.get("unavailable", {}).items()
        ),
        f"reads this month: {status['reads_this_month']:,} of Stripe's floor of "
        f"{status['monthly_read_floor']:,}",
        "objects: " + ", ".join(f"{t} {n:,}" for t, n in status["objects"].items()),
        "last runs:",
    ]
    for run in status["runs"]:
        line = f"  {run['started_at']}  {run['kind']:<11} {run['status']:<9} {run['reads']} reads"
        found = run.get("reconciled")
        if found is not None:
            missed = ", ".join(f"{table} {count:,}" for table, count in found.items())
            line += f"  reconciled: {missed or 'nothing missed'}"
        if run["error"]:
            line += f"  error: {run['error']}"
        lines.append(line)
    return "\n".join(lines)


def _day(unix: int) -> str:
    return datetime.fromtimestamp(int(unix), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"
