"""A backfill killed with SIGKILL at random points, restarted each time, ends as if never killed."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest

from app.service import sync_and_publish
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation
from sync.snapshots import current_snapshot
from tests.conftest import settings_for
from tests.sync.warehouse_checks import checksums, sync_process

pytestmark = pytest.mark.slow


class SnapshotWatcher(threading.Thread):
    """Opens every snapshot CURRENT names, as a dashboard would, and checksums what it sees."""

    def __init__(self, snapshot_dir: Path) -> None:
        super().__init__(daemon=True)
        self.snapshot_dir, self.seen = snapshot_dir, {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                path = current_snapshot(self.snapshot_dir)
            except (FileNotFoundError, ValueError):
                path = None
            if path is not None and path.name not in self.seen:
                con = duckdb.connect(str(path), read_only=True)
                self.seen[path.name] = checksums(con)
                con.close()
            time.sleep(0.02)


def test_a_backfill_killed_ten_times_ends_identical_with_no_duplicates_and_no_partial_snapshot(
    small_sim: Simulation, sandbox: SandboxServer, tmp_path: Path
) -> None:
    reference_dir = tmp_path / "reference"
    assert sync_and_publish(settings_for(sandbox, reference_dir)).status == "ok"
    reference = checksums(duckdb.connect(str(reference_dir / "master.duckdb"), read_only=True))
    data_dir, rng = tmp_path / "killed", random.Random(11)
    watcher = SnapshotWatcher(data_dir / "snapshots")
    watcher.start()
    with start_server(small_sim) as server:
        kills = 0
        for _ in range(10):
            target = len(server.requests) + rng.randint(1, 10)
            process = sync_process(server, data_dir, rate=15)
            while process.poll() is None and len(server.requests) < target:
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=60)
        final = sync_process(server, data_dir, rate=15)
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
    watcher.stop.set()
    watcher.join()
    con = duckdb.connect(str(data_dir / "master.duckdb"), read_only=True)
    assert kills >= 8
    assert checksums(con) == reference
    for table in reference:
        assert con.execute(f"SELECT count(*) - count(DISTINCT id) FROM {table}").fetchall() == [
            (0,)
        ]
    assert watcher.seen and all(seen == reference for seen in watcher.seen.values())
