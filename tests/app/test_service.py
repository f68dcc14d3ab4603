"""`paylens run` (the scheduled service) and `paylens sync status`, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from app.scheduler import Service
from app.service import open_master, sync_and_publish, utc_now
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation
from sync.snapshots import current_snapshot, publish
from sync.store import open_warehouse
from tests.conftest import run_paylens, settings_for

ROOT = Path(__file__).resolve().parents[2]


def _env(server: SandboxServer, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "STRIPE_API_KEY": server.api_key,
        "PAYLENS_STRIPE_API_BASE": server.url,
        "PAYLENS_DATA_DIR": str(data_dir),
        **extra,
    }


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run"],
        cwd=ROOT,
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_second_run_is_refused_and_sigterm_abandons_the_cycle_cleanly_with_exit_0(
    small_sim: Simulation, tmp_path: Path
) -> None:
    with start_server(small_sim) as server:
        env = _env(server, tmp_path, PAYLENS_SYNC_RATE="4")
        first = _start(env)
        deadline = time.monotonic() + 30
        while len(server.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        second = run_paylens("run", env=env, timeout=60)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1] == (
            f"paylens: another paylens process is already running as the writer of {tmp_path} "
            f"(pid {first.pid}); only one may write it: stop it first"
        )
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert "Traceback" not in err
    assert " ERROR " not in err  # a stop that was asked for is no error
    assert "sync backfill stopped on request after" in err
    con = duckdb.connect(str(tmp_path / "master.duckdb"), read_only=True)
    assert con.execute("SELECT kind, status FROM sync_runs").fetchall() == [
        ("backfill", "abandoned")
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_failed_cycle_is_recorded_and_the_next_one_still_runs(
    small_sim: Simulation, tmp_path: Path
) -> None:
    port = _free_port()
    offline = start_server(small_sim, port=port)
    offline.shutdown()  # nothing listens on the port: the first cycle cannot connect
    settings = settings_for(offline, tmp_path, sync_network_retries=0)
    service = Service(settings, interval_seconds=0.5)
    thread = threading.Thread(target=service.run)
    thread.start()
    try:
        while not service.cycles:
            time.sleep(0.05)
        with start_server(small_sim, port=port):
            deadline = time.monotonic() + 60
            while not any(c and c.status == "ok" for c in service.cycles):
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        service.stop()
        thread.join(timeout=60)
    assert not thread.is_alive()
    con = duckdb.connect(str(settings.master_path), read_only=True)
    runs = con.execute("SELECT status FROM sync_runs ORDER BY started_at").fetchall()
    statuses = [status for (status,) in runs]
    assert statuses[0] == "failed" and "ok" in statuses
    assert (tmp_path / "snapshots" / "CURRENT").exists()


def test_sync_status_shows_cursor_age_runs_objects_and_reads_against_the_floor(
    small_sim: Simulation, sandbox: SandboxServer, synced_dir: Path
) -> None:
    result = run_paylens("sync", "status", "--json", env=_env(sandbox, synced_dir))
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["backfill"] == "done"
    assert status["monthly_read_floor"] == 10_000
    assert status["reads_this_month"] == sum(run["reads"] for run in status["runs"])
    assert status["objects"]["customers"] == len(small_sim.customers)
    assert status["runs"][0]["status"] == "ok"
    assert 0 <= status["cursor_age_seconds"] < 3600  # the session fixture synced it lately
    text = run_paylens("sync", "status", env=_env(sandbox, synced_dir))
    assert "reads this month:" in text.stdout and "of Stripe's floor of 10,000" in text.stdout


def test_sync_status_reads_the_snapshot_while_a_writer_holds_the_master(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path)
    assert sync_and_publish(settings).status == "ok"
    con = open_master(settings)  # held as the service holds it, publishing after a cycle
    try:
        publish(con, settings.master_path, settings.snapshot_dir, utc_now())
        result = run_paylens("sync", "status", env=_env(sandbox, tmp_path))
    finally:
        con.close()
    snapshot = current_snapshot(settings.snapshot_dir)
    assert result.returncode == 0, result.stderr
    assert snapshot is not None
    assert result.stdout.splitlines()[0] == f"paylens sync status (snapshot {snapshot.name})"


def test_sync_status_before_any_publish_says_nothing_is_published_and_leaves_the_master_alone(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    open_warehouse(tmp_path / "master.duckdb").close()  # a backfill that never completed
    result = run_paylens("sync", "status", env=_env(sandbox, tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"paylens: nothing has been published in {tmp_path} yet: the first sync publishes once "
        "its backfill is complete (run `paylens sync`, or wait for `paylens run`)"
    )
