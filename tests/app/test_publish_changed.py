"""A cycle publishes a snapshot only when readers would see a change (SPEC §2, §9); every cycle
writes the status file beside CURRENT, through which readers see the runs, the sync's state and
the alert states move on (`sync.freshness`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from alerts.store import ensure_schema
from app.service import open_master, sync_and_publish
from app.settings import Settings
from sandbox.scenario import load_scenario, simulate_scenario
from sync import SnapshotReader, current_snapshot, latest_runs
from sync.freshness import STATUS, read_status
from tests.conftest import settings_for
from tests.sandbox.test_sandbox_scenario_live import LIVE_OPS, Served, _at


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("scenario") / "live_ops.toml"
    path.write_text(LIVE_OPS, encoding="utf-8")
    served = Served(simulate_scenario(load_scenario(path)))
    yield served
    served.server.shutdown()


def _snapshots(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.snapshot_dir.glob("snap_*.duckdb"))


def _cycle(settings: Settings, con: duckdb.DuckDBPyConnection) -> str | None:
    """One cycle on the service's open master; the snapshot CURRENT names after it."""
    result = sync_and_publish(settings, con=con)
    assert result.status == "ok", result.error
    current = current_snapshot(settings.snapshot_dir)
    return None if current is None else current.name


def test_an_idle_cycle_publishes_nothing_and_readers_still_see_its_run(
    served: Served, tmp_path: Path
) -> None:
    settings = settings_for(served.server, tmp_path)
    con = open_master(settings)
    try:
        first = _cycle(settings, con)  # the backfill publishes
        assert first is not None and _snapshots(settings) == [first]
        stamp = read_status(settings.snapshot_dir)
        assert stamp is not None and stamp.snapshot == first

        assert _cycle(settings, con) == first  # nothing happened in Stripe: no new copy
        assert _snapshots(settings) == [first]
        status = read_status(settings.snapshot_dir)
        assert status is not None and status.snapshot == first and status.stamp != stamp.stamp

        reader = SnapshotReader(settings.snapshot_dir)
        seen = reader.connection()
        assert seen is not None
        master_runs = con.execute("SELECT run_id, status FROM sync_runs ORDER BY ALL").fetchall()
        assert len(master_runs) == 2
        assert seen.execute("SELECT run_id, status FROM sync_runs ORDER BY ALL").fetchall() == (
            master_runs
        )
        assert list(latest_runs(seen, 5)["run_id"]) == list(latest_runs(con, 5)["run_id"])
        # the cursor the idle poll moved, as the master has it, through the overlay
        cursor = "SELECT value FROM sync_state WHERE key = 'events_cursor'"
        assert seen.execute(cursor).fetchall() == con.execute(cursor).fetchall()
        # the file itself, read without the overlay, still holds one run
        plain = duckdb.connect(str(settings.snapshot_dir / first), read_only=True)
        assert plain.execute("SELECT count(*) FROM sync_runs").fetchall() == [(1,)]
        plain.close()

        served.go(_at("2025-04-01", "00:04:30"))  # bob subscribes, ann changes her quantity
        second = _cycle(settings, con)
        assert second is not None and second != first
        assert _snapshots(settings) == [first, second]
        assert reader.connection() is not seen  # CURRENT moved on: a new file
        now = reader.connection()
        assert now is not None
        assert now.execute("SELECT count(*) FROM sync_runs").fetchall() == [(3,)]
        assert now.execute("SELECT count(*) FROM customers").fetchall() == [(3,)]
        reader.close()
        assert _cycle(settings, con) == second  # and idle again
    finally:
        con.close()


def test_a_change_of_a_watched_table_between_cycles_publishes(
    served: Served, tmp_path: Path
) -> None:
    settings = settings_for(served.server, tmp_path)
    con = open_master(settings)
    try:
        ensure_schema(con)  # the alert job's tables, as the service has them
        first = _cycle(settings, con)
        assert _cycle(settings, con) == first
        # what the alert delivery job does between cycles: an outbox row changes
        con.execute(
            "INSERT INTO alert_outbox (key, created, recorded, channel, payload, summary, status, "
            "next_attempt) VALUES ('k', now()::TIMESTAMP, now()::TIMESTAMP, 'slack', '{}', 's', "
            "'sent', now()::TIMESTAMP)"
        ).fetchall()
        second = _cycle(settings, con)
        assert second not in (None, first)
        assert _cycle(settings, con) == second
    finally:
        con.close()


def test_a_publish_cut_short_before_its_status_file_is_published_again(
    served: Served, tmp_path: Path
) -> None:
    settings = settings_for(served.server, tmp_path)
    con = open_master(settings)
    try:
        first = _cycle(settings, con)
        (settings.snapshot_dir / STATUS).unlink()  # as if killed between the two
        second = _cycle(settings, con)
        assert second not in (None, first)
        status = read_status(settings.snapshot_dir)
        assert status is not None and status.snapshot == second
    finally:
        con.close()


def test_a_reader_of_another_snapshot_sees_it_as_it_is(served: Served, tmp_path: Path) -> None:
    """The status file is about the snapshot it names: a reader still holding an older one, or
    a file naming one that is gone, changes nothing."""
    settings = settings_for(served.server, tmp_path)
    con = open_master(settings)
    try:
        first = _cycle(settings, con)
        assert first is not None
        text = (settings.snapshot_dir / STATUS).read_text(encoding="utf-8")
        data = json.loads(text)
        data["snapshot"] = "snap_20990101T000000000000Z.duckdb"
        (settings.snapshot_dir / STATUS).write_text(json.dumps(data), encoding="utf-8")
        _cycle(settings, con)  # the file names no current snapshot: this cycle publishes
        reader = SnapshotReader(settings.snapshot_dir)
        seen = reader.connection()
        assert seen is not None and reader.name != first
        plain = duckdb.connect(str(settings.snapshot_dir / first), read_only=True)
        assert plain.execute("SELECT count(*) FROM sync_runs").fetchall() == [(1,)]
        plain.close()
        reader.close()
    finally:
        con.close()
