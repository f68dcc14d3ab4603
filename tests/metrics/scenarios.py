"""Warehouses built the real way for metric tests: simulate, serve over HTTP, sync, publish."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from app.service import sync_and_publish
from sandbox.scenario import example, load_scenario, simulate_scenario
from sandbox.server import start_server
from sandbox.sim import Simulation, simulate
from sync.snapshots import SnapshotReader
from tests.conftest import settings_for

DEMO_SEED = 7
DEMO_UNTIL = date(2026, 11, 20)


def simulate_named(name: str) -> Simulation:
    """A scenario file by name, or the `demo` preset."""
    if name == "demo":
        return simulate(DEMO_SEED, DEMO_UNTIL, "demo")
    return simulate_scenario(load_scenario(example(name)))


def synced_snapshot(sim: Simulation, data_dir: Path) -> duckdb.DuckDBPyConnection:
    """Sync `sim` through the real sandbox server and open the published snapshot read-only."""
    with start_server(sim) as server:
        settings = settings_for(server, data_dir)
        result = sync_and_publish(settings)
        assert result.status == "ok", result.error
    con = SnapshotReader(settings.snapshot_dir).connection()
    assert con is not None
    return con
