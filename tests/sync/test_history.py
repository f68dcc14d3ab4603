"""The history tables kept up to date per subscription equal a rebuild of every subscription.

After a backfill every subscription's history is built, in batches; after an events poll only
the subscriptions the poll touched are rebuilt (`sync.history`). Both shortcuts must give
exactly what one pass over the whole warehouse gives.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

import sync.history
from app.service import sync_and_publish
from sandbox.api.server import start_server
from sandbox.sim import simulate
from sync.history import STATE, rebuild_history
from sync.store import delete_state, open_warehouse
from tests.conftest import PRESET, SEED, UNTIL, settings_for

HISTORY = ("subscription_item_history", "subscription_status_history", "undated_changes")


def _rebuilt_from_scratch(master: Path, copy: Path) -> duckdb.DuckDBPyConnection:
    """A copy of the warehouse whose history is rebuilt for every subscription."""
    shutil.copy(master, copy)
    con = open_warehouse(copy)
    delete_state(con, STATE)
    return con


def _differences(con: duckdb.DuckDBPyConnection, other: Path) -> dict[str, int]:
    """Rows of each history table found in one warehouse and not the other (both ways)."""
    con.execute(f"ATTACH '{other}' AS other (READ_ONLY)").fetchall()
    try:
        return {
            table: con.execute(
                f"SELECT (SELECT count(*) FROM (FROM {table} EXCEPT ALL FROM other.{table})) + "
                f"(SELECT count(*) FROM (FROM other.{table} EXCEPT ALL FROM {table}))"
            ).fetchall()[0][0]
            for table in HISTORY
        }
    finally:
        con.execute("DETACH other").fetchall()


@pytest.fixture(scope="module")
def kept_up(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime, list[int]]:
    """A backfill, a sync five days later, then an idle one; Stripe's time at the last; how many
    subscriptions each rebuilt (every one after the backfill)."""
    sim = simulate(SEED, UNTIL, PRESET)
    data_dir = tmp_path_factory.mktemp("kept_up")
    rebuilt = []
    with start_server(sim) as server:
        result = sync_and_publish(settings_for(server, data_dir))
        assert result.history_rebuilt == len(sim.subscriptions)  # every one after a backfill
        rebuilt.append(result.history_rebuilt)
    sim.advance(sim.now + 5 * 86_400)
    with start_server(sim) as server:
        for _ in range(2):
            result = sync_and_publish(settings_for(server, data_dir))
            assert (result.kind, result.status) == ("incremental", "ok")
            rebuilt.append(result.history_rebuilt)
    return data_dir / "master.duckdb", datetime.fromtimestamp(sim.now, UTC), rebuilt


def test_a_poll_rebuilds_only_the_subscriptions_it_touched_and_an_idle_one_none(
    kept_up: tuple[Path, datetime, list[int]],
) -> None:
    _, _, (backfill, poll, idle) = kept_up
    assert 0 < poll < backfill / 2
    assert idle == 0


def test_history_kept_up_per_subscription_equals_a_rebuild_of_all(
    kept_up: tuple[Path, datetime, list[int]], tmp_path: Path
) -> None:
    master, now, _ = kept_up
    con = _rebuilt_from_scratch(master, tmp_path / "scratch.duckdb")
    try:
        total = con.execute("SELECT count(*) FROM subscriptions").fetchall()[0][0]
        assert rebuild_history(con, now) == total
        assert _differences(con, master) == dict.fromkeys(HISTORY, 0)
    finally:
        con.close()


def test_small_batches_give_the_same_history_as_one(
    kept_up: tuple[Path, datetime, list[int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master, now, _ = kept_up
    monkeypatch.setattr(sync.history, "BATCH", 7)
    con = _rebuilt_from_scratch(master, tmp_path / "batched.duckdb")
    try:
        rebuild_history(con, now)
        assert _differences(con, master) == dict.fromkeys(HISTORY, 0)
        rows = con.execute("SELECT count(*) FROM subscription_item_history").fetchall()[0][0]
        assert rows > 0
    finally:
        con.close()


def _copy(master: Path, copy: Path) -> duckdb.DuckDBPyConnection:
    shutil.copy(master, copy)
    return open_warehouse(copy)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


def test_after_polls_every_subscription_not_pending_is_as_last_observed(
    kept_up: tuple[Path, datetime, list[int]], tmp_path: Path
) -> None:
    """What lets a rebuild observe only the pending subscriptions: observing every one a day
    later records nothing new."""
    master, now, _ = kept_up
    con = _copy(master, tmp_path / "observed.duckdb")
    try:
        before = _rows(con, "SELECT count(*) FROM subscription_observations")
        assert before[0][0] > 0
        sync.history._observe(con, now + timedelta(days=1), sync.history.ALL)
        assert _rows(con, "SELECT count(*) FROM subscription_observations") == before
    finally:
        con.close()


def test_a_rebuild_observes_and_rebuilds_only_what_is_pending_and_lists_it_for_the_mrr(
    kept_up: tuple[Path, datetime, list[int]], tmp_path: Path
) -> None:
    master, now, _ = kept_up
    con = _copy(master, tmp_path / "pending.duckdb")
    try:
        later = now + timedelta(days=1)
        first, second, third = (
            row[0] for row in _rows(con, "SELECT id FROM subscriptions ORDER BY id LIMIT 3")
        )
        # states no poll noted: a rebuild with nothing pending reads no subscription
        con.execute(
            "UPDATE subscriptions SET status = 'unpaid' WHERE id IN (?, ?)", [first, second]
        )
        assert rebuild_history(con, later) == 0
        observed = "SELECT subscription FROM subscription_observations WHERE observed_at = $1"
        assert con.execute(observed, [later]).fetchall() == []
        assert _rows(con, "SELECT * FROM mrr_pending") == []
        con.execute("INSERT INTO history_pending VALUES (?), (?)", [first, third])
        assert rebuild_history(con, later) == 2
        assert con.execute(observed, [later]).fetchall() == [(first,)]  # third: unchanged
        assert _rows(con, "SELECT * FROM mrr_pending ORDER BY ALL") == [(first,), (third,)]
        assert _rows(con, "SELECT * FROM history_pending") == []
    finally:
        con.close()


def test_a_full_rebuild_lists_every_subscription_for_the_mrr(
    kept_up: tuple[Path, datetime, list[int]], tmp_path: Path
) -> None:
    master, now, _ = kept_up
    con = _rebuilt_from_scratch(master, tmp_path / "full.duckdb")
    try:
        total = rebuild_history(con, now)
        assert _rows(con, "SELECT count(*) FROM mrr_pending") == [(total,)]
        missing = "SELECT count(*) FROM subscriptions WHERE id NOT IN (FROM mrr_pending)"
        assert _rows(con, missing) == [(0,)]
    finally:
        con.close()
