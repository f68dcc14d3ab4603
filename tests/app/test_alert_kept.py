"""The alert job keeps its costly readings (the day's summary, the integration score) across
cycles that wrote nothing, and drops them when the data, the run's outcome or the outbox
moves; the readings are the same either way. A real synced warehouse, the real job."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC
from pathlib import Path

import duckdb

from alerts.store import ensure_schema
from app.alerting import AlertJob
from sandbox.api.server import SandboxServer
from sync import RunResult
from tests.conftest import settings_for


def _result(con: duckdb.DuckDBPyConnection, **changes: object) -> RunResult:
    at = con.execute("SELECT max(account_time) FROM sync_runs").fetchall()[0][0]
    base = RunResult("r", "incremental", "ok", 1, account_time=at.replace(tzinfo=UTC))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_idle_cycles_reuse_the_summary_and_score_and_a_change_recomputes_them(
    sandbox: SandboxServer, synced_dir: Path, tmp_path: Path
) -> None:
    shutil.copy(synced_dir / "master.duckdb", tmp_path / "master.duckdb")
    settings = settings_for(sandbox, tmp_path)
    con = duckdb.connect(str(tmp_path / "master.duckdb"))
    ensure_schema(con)
    job = AlertJob(settings)
    idle = _result(con)

    job(con, idle)
    kept = dict(job.kept.values)
    kinds = sorted(key[0] for key in kept)
    assert kinds[0] == "integration" and "summary" in kinds  # the rules that read them ran
    first = job.last
    assert first is not None

    job(con, idle)  # nothing written: the same objects, not recomputed
    assert all(job.kept.values[key] is value for key, value in kept.items())
    assert job.last is not None and job.last.readings == first.readings

    job(con, dataclasses.replace(idle, objects={"charges": 3}))  # data written: computed again
    assert all(job.kept.values[key] is not value for key, value in kept.items())
    again = dict(job.kept.values)

    job(con, dataclasses.replace(idle, status="degraded", degraded=["charges unavailable"]))
    assert all(job.kept.values[key] is not value for key, value in again.items())
    con.close()
