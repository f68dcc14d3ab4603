"""The status file beside CURRENT (`sync.freshness`): what it carries reaches a reader of the
snapshot it names exactly as the master holds it, typed; a reader of another snapshot, or of a
file that cannot be read, sees the snapshot alone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from sync.freshness import STATUS, Growing, read_status, watermark, write_status
from sync.snapshots import SnapshotReader, publish
from sync.store import open_warehouse

RUNS = (Growing("sync_runs", "run_id", "started_at"),)
STATE = (
    "CREATE TABLE state (rule VARCHAR, level VARCHAR, since TIMESTAMP, value DOUBLE, on_ BOOLEAN)"
)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_a_reader_sees_the_masters_runs_and_whole_tables_typed_through_the_status_file(
    tmp_path: Path,
) -> None:
    master_path, snapshots = tmp_path / "master.duckdb", tmp_path / "snapshots"
    con = open_warehouse(master_path)
    con.execute(STATE).fetchall()
    con.execute(
        "INSERT INTO state VALUES ('a', NULL, '2026-12-01 10:00:00.123456', 0.1, true), "
        "('b', 'critical', NULL, NULL, NULL)"
    ).fetchall()
    run = (
        "INSERT INTO sync_runs (run_id, kind, started_at, finished_at, status, reads, objects, "
        "account_time) VALUES (?, 'incremental', ?, ?, 'ok', ?, ?, ?)"
    )
    first = datetime(2026, 12, 1, 10, 0)
    con.execute(run, ["r1", first, first, 1, '{"charges": 2}', first]).fetchall()
    mark = watermark(con, RUNS)
    snapshot = publish(con, master_path, snapshots, first)
    # a cycle that publishes nothing: a run, a state that moved, a cursor
    later = datetime(2026, 12, 1, 10, 5)
    con.execute(run, ["r2", later, later, 1, "{}", later]).fetchall()
    con.execute("UPDATE state SET value = 0.25, level = 'warning' WHERE rule = 'a'").fetchall()
    con.execute(
        "INSERT INTO sync_state VALUES ('events_cursor', '{\"at\": 1}', ?)", [later]
    ).fetchall()
    write_status(
        con, snapshots, snapshot.name, mark, fingerprint="", whole=("state", "sync_state"),
        growing=RUNS,
    )  # fmt: skip

    reader = SnapshotReader(snapshots)
    seen = reader.connection()
    assert seen is not None
    for table in ("sync_runs", "state", "sync_state"):
        assert _rows(seen, table) == _rows(con, table), table
    assert seen.execute("SELECT typeof(objects) FROM sync_runs LIMIT 1").fetchall() == [("JSON",)]
    status = read_status(snapshots)
    assert status is not None and reader.freshness == f"{snapshot.name}@{status.stamp}"
    stamp = reader.freshness

    (snapshots / STATUS).write_text("{ not json", encoding="utf-8")  # cut short: ignored
    assert read_status(snapshots) is None
    reader.close()
    alone = SnapshotReader(snapshots)
    plain = alone.connection()
    assert plain is not None and alone.freshness == snapshot.name != stamp
    assert [r[0] for r in _rows(plain, "sync_runs")] == ["r1"]
    alone.close()
    con.close()
