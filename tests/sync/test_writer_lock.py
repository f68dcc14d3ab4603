"""One writer of the warehouse, for as long as it runs: publishing never hands the master over.

The writer here is this test process (the service's way: the writer lock, then the master held
open read-write, a publish after each batch); the second writers are real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.lock import WarehouseLocked, WriterLock
from sync.snapshots import publish
from sync.store import open_warehouse
from tests.sync.test_snapshots import _add_products

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

# A second process trying both ways in: paylens' own (the writer lock, then the master, as
# `paylens run` starts) and any other program's (DuckDB opening the file read-write).
SECOND_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import duckdb
    from sync.lock import WarehouseLocked, WriterLock
    data_dir = Path(sys.argv[1])
    try:
        WriterLock(data_dir).acquire()
        print("lock: taken")
    except WarehouseLocked as exc:
        print("lock: refused:", exc)
    try:
        duckdb.connect(str(data_dir / "master.duckdb")).close()
        print("master: opened")
    except duckdb.IOException:
        print("master: refused")
    """
)


def _second_writer(data_dir: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SECOND_WRITER, str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def test_a_second_writer_is_refused_after_each_of_ten_publishes(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path)
    lock.acquire()
    con = open_warehouse(tmp_path / "master.duckdb")
    refused = [
        "lock: refused: another paylens process is already running as the writer of "
        f"{tmp_path} (pid {os.getpid()}); only one may write it: stop it first",
        "master: refused",
    ]
    answers = []
    for i in range(10):
        _add_products(con, 10 * i, 10)
        publish(con, tmp_path / "master.duckdb", tmp_path / "snapshots", T0 + timedelta(seconds=i))
        answers.append(_second_writer(tmp_path))
    assert answers == [refused] * 10
    con.close()
    lock.release()
    assert _second_writer(tmp_path) == ["lock: taken", "master: opened"]


def test_the_writer_lock_refuses_a_second_holder_even_in_the_same_process(tmp_path: Path) -> None:
    first, second = WriterLock(tmp_path), WriterLock(tmp_path)
    first.acquire()
    with pytest.raises(WarehouseLocked, match=f"the writer of {tmp_path} "):
        second.acquire()
    first.release()
    second.acquire()
    assert second.held and (tmp_path / "master.lock").read_text().strip().isdigit()
    second.release()
    assert (tmp_path / "master.lock").exists()  # kept: a new file would be a second lock
