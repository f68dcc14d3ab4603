"""The service's cycle on a big account: idle, busy, and what it keeps on disk (SPEC §9).

SPEC §9: a cycle's cost grows with what changed, not with the account: an idle cycle on `large`
≤ 1 s, a cycle with 1,000 new events ≤ 3 s, a snapshot ≤ 30% of the master's size, a publish
≤ 1 s per 500 MB.

Setup: bench_metrics' warehouse of BENCH_CYCLE_PRESET (default `large`; BENCH_METRICS_KEEP reuses
a kept one) made to hold a finished backfill at the simulation's end (the events cursor, the
day's reconciliation, a backfill run), and the same simulation served by the sandbox over HTTP
on a live clock that this benchmark moves (`wall`): standing still, Stripe has nothing new; moved
on, the business goes on and its events appear. The history and the MRR tables are built
whole first (untimed). Each cycle is the service's own (`app.service.sync_and_publish` on the
open master, with the alert job as its hook), after two warm-up cycles (the first lists what
the setup left unlisted and publishes).

Rows: the idle cycle (median of IDLE_RUNS, with its phases), the busy cycle (the clock moved on
by as much simulated time as held about 1,000 events in a first probe), the snapshot's size
against the master's, a forced publish, and the disk used by the master and the snapshots.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from app.alerting import AlertJob
from app.service import sync_and_publish
from app.settings import Secret, Settings
from metrics.refresh import refresh
from sandbox.api.server import start_server
from sandbox.sim import simulate
from sync import RunResult, current_snapshot, publish
from sync.history import rebuild_history
from sync.incremental import CURSOR, REFRESHED, unix
from sync.reconcile import mark
from sync.store import BACKFILL, set_state, transaction
from tests.benchmarks.bench_metrics import UNTIL, _warehouse
from tests.benchmarks.common import Row, timed

IDLE_RUNS = 5
TARGET_EVENTS = 1_000
SPEED = 3600.0  # simulated seconds per wall second of the served live clock (`Wall` moves it)
PROBE = timedelta(hours=2)  # simulated time of the first busy probe


class Wall:
    """The served live clock's wall time, moved only by the benchmark."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, simulated: timedelta) -> None:
        self.now += simulated.total_seconds() / SPEED


def _preset() -> str:
    return os.environ.get("BENCH_CYCLE_PRESET", "large")


def rows() -> list[Row]:
    preset = _preset()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        kept = os.environ.get("BENCH_METRICS_KEEP")
        master_path = data_dir / "master.duckdb"
        master, now, setup = _warehouse(preset, master_path, Path(kept) if kept else None)
        _as_backfilled(master, now)
        _build_history(master, now)
        sim = simulate(42, UNTIL, preset)
        wall = Wall()
        server = start_server(sim, speed=SPEED, wall_clock=wall)
        try:
            settings = dataclasses.replace(
                Settings(),
                stripe_api_key=Secret(server.api_key),
                stripe_api_base=server.url,
                data_dir=data_dir,
                sync_rate=1000.0,
                sync_endpoint_rate=1000.0,
            )
            alerts = AlertJob(settings)
            cycle = _cycler(settings, master, alerts)
            for _ in range(2):  # the setup's leftovers: the setup lists, the whole history
                cycle()
            idle = [cycle() for _ in range(IDLE_RUNS)]
            wall.advance(PROBE)
            probe = cycle()
            events = max(1, probe.result.objects.get("events", 0))
            wall.advance(PROBE * (TARGET_EVENTS / events))
            busy = cycle()
            found = [Row(f"cycle: warehouse `{preset}`", setup[0], setup[1])]
            found += _cycle_rows(preset, idle, probe, busy)
            found += _disk_rows(master, settings)
        finally:
            server.shutdown()
            master.close()
    return found


@dataclasses.dataclass
class Cycle:
    result: RunResult
    seconds: float
    published: bool


def _cycler(
    settings: Settings, master: duckdb.DuckDBPyConnection, alerts: AlertJob
) -> Callable[[], Cycle]:
    def cycle() -> Cycle:
        before = current_snapshot(settings.snapshot_dir)
        result, seconds = timed(
            lambda: sync_and_publish(settings, con=master, before_publish=[alerts])
        )
        assert result.status == "ok", result.error
        return Cycle(result, seconds, current_snapshot(settings.snapshot_dir) != before)

    return cycle


def _as_backfilled(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """The sync's state after a backfill that finished at `now` (the simulation's end), as a
    real one leaves it: done, the events cursor at `now`, webhooks refreshed, every resource
    reconciled, and the backfill's run recorded (the history's events window starts from it)."""
    at = unix(now)
    with transaction(con):
        set_state(con, BACKFILL, {"status": "done", "started": at - 3600, "finished": at}, now)
        set_state(con, CURSOR, {"at": at}, now)
        set_state(con, REFRESHED, {"at": at}, now)
        mark(con, at, now)
        naive = now.replace(tzinfo=None)
        con.execute(
            "INSERT INTO sync_runs (run_id, kind, started_at, finished_at, status, reads, "
            "account_time) VALUES ('bench-backfill', 'backfill', ?, ?, 'ok', 0, ?)",
            [naive - timedelta(hours=1), naive, naive],
        ).fetchall()


def _build_history(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """The whole history and the MRR tables, as the backfill's first cycle builds them (not
    timed here: `bench_metrics` times them). On a kept copy of `large` the rebuild can stop
    with DuckDB's "Out of Memory" (docs/PERFORMANCE.md); it is tried again, as a service's next
    cycle would."""
    for attempt in range(3):
        try:
            rebuild_history(con, now)
            break
        except duckdb.OutOfMemoryException:
            if attempt == 2:
                raise
    refresh(con)


def _phases(result: RunResult) -> str:
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.seconds.items())


def _cycle_rows(preset: str, idle: list[Cycle], probe: Cycle, busy: Cycle) -> list[Row]:
    middle = sorted(idle, key=lambda c: c.seconds)[len(idle) // 2]
    published = sum(c.published for c in idle)
    rows = [
        Row(
            f"cycle: idle, `{preset}` (median of {len(idle)})",
            f"{statistics.median(c.seconds for c in idle):.2f} s",
            f"{middle.result.reads} read(s); {published} of {len(idle)} published a snapshot; "
            f"phases: {_phases(middle.result)}",
        )
    ]
    for name, cycle in (("probe", probe), ("busy", busy)):
        events = cycle.result.objects.get("events", 0)
        rows.append(
            Row(
                f"cycle: {events:,} new events ({name}), `{preset}`",
                f"{cycle.seconds:.2f} s",
                f"{cycle.result.reads} reads; {cycle.result.history_rebuilt:,} subscriptions' "
                f"history; {'published' if cycle.published else 'not published'}; phases: "
                f"{_phases(cycle.result)}",
            )
        )
    return rows


def _disk_rows(master: duckdb.DuckDBPyConnection, settings: Settings) -> list[Row]:
    snapshot = current_snapshot(settings.snapshot_dir)
    assert snapshot is not None
    master.execute("CHECKPOINT").fetchall()
    master_bytes = settings.master_path.stat().st_size
    snapshot_bytes = snapshot.stat().st_size
    before = time.perf_counter()
    forced = publish(master, settings.master_path, settings.snapshot_dir, datetime.now(UTC))
    seconds = time.perf_counter() - before
    files = [p for p in settings.snapshot_dir.iterdir() if p.is_file()]
    kept = sum(p.name.startswith("snap_") for p in files)
    on_disk = master_bytes + sum(p.stat().st_size for p in files)
    wal = settings.master_path.with_name(settings.master_path.name + ".wal")
    on_disk += wal.stat().st_size if wal.exists() else 0
    per_500 = seconds / (forced.stat().st_size / 500e6)
    return [
        Row(
            "cycle: snapshot size / master",
            f"{snapshot_bytes / master_bytes:.0%}",
            f"{_mb(snapshot_bytes)} of {_mb(master_bytes)} (the object tables without `raw`)",
        ),
        Row(
            "cycle: publish (forced)",
            f"{seconds:.2f} s",
            f"{_mb(forced.stat().st_size)} written: {per_500:.2f} s per 500 MB",
        ),
        Row(
            "cycle: disk, master + snapshots",
            _mb(on_disk),
            f"master {_mb(master_bytes)} + {kept} snapshots kept, CURRENT, STATUS",
        ),
    ]


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"
