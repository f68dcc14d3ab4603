"""Warehouses built the real way for metric tests: simulate, serve over HTTP, sync, publish."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from app.service import sync_and_publish
from sandbox.api.server import start_server
from sandbox.scenario import example, load_scenario, scenario_ids, simulate_scenario
from sandbox.sim import Simulation, simulate
from sync.snapshots import SnapshotReader
from tests.conftest import settings_for

DEMO_SEED = 7
DEMO_UNTIL = date(2026, 11, 20)


# Scenario files of the metric tests' own (the sandbox's bundled ones are pinned by its tests).
OWN = Path(__file__).resolve().parent / "scenario_files"
# Per scenario name: its published snapshot, and ids (customers, subscriptions) → the file's names.
Synced = dict[str, tuple[duckdb.DuckDBPyConnection, dict[str, str]]]


def simulate_named(name: str) -> Simulation:
    """The `demo` preset, a scenario file of these tests (`OWN`), or one the sandbox bundles."""
    if name == "demo":
        return simulate(DEMO_SEED, DEMO_UNTIL, "demo")
    own = OWN / f"{name}.toml"
    return simulate_scenario(load_scenario(own if own.exists() else example(name)))


def synced_scenarios(names: list[str], tmp_path_factory: pytest.TempPathFactory) -> Synced:
    """Each named scenario synced through the sandbox, with its ids mapped back to names."""
    result = {}
    for name in names:
        sim = simulate_named(name)
        ids = {value: key for key, value in scenario_ids(sim).items()}
        result[name] = (synced_snapshot(sim, tmp_path_factory.mktemp(name)), ids)
    return result


def synced_snapshot(sim: Simulation, data_dir: Path) -> duckdb.DuckDBPyConnection:
    """Sync `sim` through the real sandbox server and open the published snapshot read-only."""
    with start_server(sim) as server:
        settings = settings_for(server, data_dir)
        result = sync_and_publish(settings)
        assert result.status == "ok", result.error
    con = SnapshotReader(settings.snapshot_dir).connection()
    assert con is not None
    return con
