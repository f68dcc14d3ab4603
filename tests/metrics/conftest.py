from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from sandbox.sim import Simulation
from tests.metrics.scenarios import simulate_named, synced_snapshot
from tests.metrics.warehouse import Warehouse


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    """An empty warehouse file built from the sync's schema (`sync.schema.schema_sql`)."""
    warehouse = Warehouse.create(tmp_path / "warehouse.duckdb")
    yield warehouse
    warehouse.con.close()


@pytest.fixture(scope="session")
def demo_sim() -> Simulation:
    """The `demo` preset simulated up to DEMO_UNTIL (seed 7): the truth's source."""
    return simulate_named("demo")


@pytest.fixture(scope="session")
def demo(
    demo_sim: Simulation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`demo_sim` synced through the real sandbox server; the published snapshot, read-only.

    Shared by every metrics test module that compares with the truth: one sync per session.
    """
    con = synced_snapshot(demo_sim, tmp_path_factory.mktemp("demo"))
    yield con
    con.close()
