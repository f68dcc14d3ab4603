from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.metrics.warehouse import Warehouse


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    """An empty warehouse file built from sync/schema.sql."""
    warehouse = Warehouse.create(tmp_path / "warehouse.duckdb")
    yield warehouse
    warehouse.con.close()
