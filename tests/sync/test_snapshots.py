"""Snapshots: the writer publishes immutable copies; readers in other processes never fail."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from sync.ingest import Staging, flush, stage_pages
from sync.snapshots import CURRENT, SnapshotReader, current_snapshot, publish
from sync.store import open_warehouse, transaction
from sync.tables import TABLES

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _product(n: int) -> dict:
    return {
        "id": f"prod_{n:05d}",
        "created": 1_700_000_000 + n,
        "name": f"Plan {n}",
        "active": True,
    }


def _add_products(con: duckdb.DuckDBPyConnection, start: int, count: int) -> None:
    objects = [_product(n) for n in range(start, start + count)]
    staging = Staging()
    stage_pages(con, staging, "products", [json.dumps({"data": objects})])
    with transaction(con):
        flush(con, staging, "v", T0)


def test_nothing_is_current_before_the_first_publish(tmp_path: Path) -> None:
    assert current_snapshot(tmp_path / "snapshots") is None
    assert SnapshotReader(tmp_path / "snapshots").connection() is None


def test_publish_copies_the_master_and_points_current_at_it(tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    con = open_warehouse(master)
    _add_products(con, 0, 3)
    snapshot = publish(con, master, tmp_path / "snapshots", T0)
    assert snapshot.name == "snap_20261127T080000000000Z.duckdb"
    assert (tmp_path / "snapshots" / CURRENT).read_text().strip() == snapshot.name
    _add_products(con, 3, 2)  # the writer goes on; the snapshot does not change
    reader = duckdb.connect(str(snapshot), read_only=True)
    assert reader.execute("SELECT count(*) FROM products").fetchone() == (3,)


def test_only_the_newest_three_snapshots_are_kept(tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    con = open_warehouse(master)
    names = [publish(con, master, tmp_path / "s", T0 + timedelta(minutes=i)).name for i in range(5)]
    left = sorted(p.name for p in (tmp_path / "s").glob("snap_*.duckdb"))
    assert left == names[-3:]
    assert not list((tmp_path / "s").glob(".*tmp"))


def test_two_publishes_in_the_same_microsecond_get_distinct_files(tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    con = open_warehouse(master)
    first, second = (
        publish(con, master, tmp_path / "s", T0),
        publish(con, master, tmp_path / "s", T0),
    )
    assert first != second and current_snapshot(tmp_path / "s") == second


def test_the_reader_reopens_when_current_moves_on(tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    con = open_warehouse(master)
    _add_products(con, 0, 1)
    publish(con, master, tmp_path / "s", T0)
    reader = SnapshotReader(tmp_path / "s")
    first = reader.connection()
    assert first is not None and first.execute("SELECT count(*) FROM products").fetchone() == (1,)
    assert reader.connection() is first  # unchanged CURRENT: same connection
    _add_products(con, 1, 1)
    publish(con, master, tmp_path / "s", T0 + timedelta(seconds=1))
    second = reader.connection()
    assert second is not None and second.execute("SELECT count(*) FROM products").fetchone() == (2,)


READER_LOOP = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sync.snapshots import SnapshotReader
    reader = SnapshotReader(Path(sys.argv[1]))
    stop, queries, errors, seen = Path(sys.argv[2]), 0, 0, set()
    print("ready", flush=True)
    while not stop.exists():
        try:
            con = reader.connection()
            if con is not None:
                count = con.execute("SELECT count(*) FROM products").fetchone()[0]
                assert count % 50 == 0, count  # a snapshot holds whole batches only
                seen.add(reader.name)
                queries += 1
        except Exception as exc:
            errors += 1
            print("error:", repr(exc), file=sys.stderr)
    print(queries, errors, len(seen))
    """
)


@pytest.mark.slow
def test_a_reader_process_sees_no_error_while_the_writer_publishes_20_times(tmp_path: Path) -> None:
    master, snapshots, stop = tmp_path / "master.duckdb", tmp_path / "s", tmp_path / "stop"
    con = open_warehouse(master)
    _add_products(con, 0, 50)
    publish(con, master, snapshots, T0)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER_LOOP, str(snapshots), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline() == "ready\n"
    for i in range(1, 21):
        _add_products(con, 50 * i, 50)
        publish(con, master, snapshots, T0 + timedelta(seconds=i))
        time.sleep(0.05)  # let the reader query between publishes, not only race them
    stop.touch()
    out, err = reader.communicate(timeout=60)
    queries, errors, seen = (int(x) for x in out.split())
    assert (errors, err) == (0, "")
    assert queries > 20 and seen > 1


def test_a_publish_removes_the_temp_files_interrupted_publishes_left(tmp_path: Path) -> None:
    master, snapshots = tmp_path / "master.duckdb", tmp_path / "s"
    con = open_warehouse(master)
    snapshots.mkdir()
    for left in (".snap_20261127T070000000000Z.duckdb.tmp", ".CURRENT.tmp"):  # as kills leave
        (snapshots / left).write_bytes(b"half a copy")
    snapshot = publish(con, master, snapshots, T0)
    assert sorted(p.name for p in snapshots.iterdir()) == [CURRENT, snapshot.name]


FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from datetime import UTC, datetime
    import duckdb
    from pathlib import Path
    from sync.snapshots import publish
    from sync.store import open_warehouse
    master, snapshots = Path(sys.argv[1]), Path(sys.argv[2])
    con = open_warehouse(master)
    con.execute("CHECKPOINT")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
    try:
        publish(con, master, snapshots, datetime(2026, 11, 27, tzinfo=UTC))
    except duckdb.IOException as exc:  # DuckDB writes the snapshot: its error names the cause
        print("publish failed:", "File too large" in str(exc))
    # the master is untouched and still usable
    print("master:", con.execute("SELECT count(*) FROM sync_runs").fetchall())
    """
)


def test_a_copy_cut_short_by_a_write_error_leaves_no_temp_file(tmp_path: Path) -> None:
    master, snapshots = tmp_path / "master.duckdb", tmp_path / "s"
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(master), str(snapshots)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert master.stat().st_size > 64 * 1024
    assert done.stdout == "publish failed: True\nmaster: [(0,)]\n"
    assert list(snapshots.iterdir()) == []


def test_a_snapshot_holds_every_table_and_view_as_the_master_but_no_raw_payloads(
    synced_dir: Path,
) -> None:
    """What readers read, row for row (SPEC §2): every table and view of the master, the
    object tables without `raw` (it stays in the master), the rest whole."""
    master = duckdb.connect(str(synced_dir / "master.duckdb"), read_only=True)
    snapshot = current_snapshot(synced_dir / "snapshots")
    assert snapshot is not None
    master.execute(f"ATTACH '{snapshot}' AS snap (READ_ONLY)")
    listing = (
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main' GROUP BY ALL ORDER BY 1"
    )
    ours = dict(master.execute(listing, ["master"]).fetchall())
    theirs = dict(master.execute(listing, ["snap"]).fetchall())
    assert sorted(ours) == sorted(theirs)  # tables and views
    assert "sync_reads_monthly" in theirs
    for table, columns in ours.items():
        kept = [c for c in columns if not (c == "raw" and table in TABLES)]
        assert theirs[table] == kept, table
        listed = ", ".join(f'"{c}"' for c in kept)
        a, b = f"SELECT {listed} FROM main.{table}", f"SELECT {listed} FROM snap.main.{table}"
        differ = master.execute(f"({a} EXCEPT ALL {b}) UNION ALL ({b} EXCEPT ALL {a})")
        assert differ.fetchall() == [], table
    assert "raw" in ours["charges"] and "raw" not in theirs["charges"]
    assert "raw" in theirs["quarantine"]  # small, and read (metrics.degraded)
    assert master.execute("SELECT count(*) FROM snap.main.charges").fetchall()[0][0] > 0
    master.close()
