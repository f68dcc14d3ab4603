"""Sync figures: a backfill over HTTP, and the local ingest path alone."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from app.service import sync_and_publish
from app.settings import Secret, Settings
from sandbox.server import start_server
from sandbox.sim import Simulation, simulate
from sync.engine import _save
from sync.store import open_warehouse
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)


def local_ingest(sim: Simulation, data_dir: Path) -> tuple[int, float]:
    """Parse + load with no HTTP: every served object through the same save path as a sync."""
    con = open_warehouse(data_dir / "ingest.duckdb")
    stamp = datetime.now(UTC)
    batches = [
        (table, list(sim.resource(table).values()))
        for table in ("products", "prices", "customers", "subscriptions", "invoices", "charges")
    ]
    batches += [
        ("subscription_items", [i for items in sim.subscription_items.values() for i in items]),
        ("invoice_lines", [line for lines in sim.invoice_lines.values() for line in lines]),
    ]
    objects = sum(len(batch) for _, batch in batches)

    def load() -> None:
        for table, batch in batches:
            for start in range(0, len(batch), 100):  # pages of 100, as a sync receives them
                _save(con, table, batch[start : start + 100], stamp)

    _, seconds = timed(load)
    return objects, seconds


def rows() -> list[Row]:
    sim = simulate(42, UNTIL, "demo")
    found: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, start_server(sim) as server:
        settings = dataclasses.replace(
            Settings(),
            stripe_api_key=Secret(server.api_key),
            stripe_api_base=server.url,
            data_dir=Path(tmp),
        )
        result, seconds = timed(lambda: sync_and_publish(settings))
        found.append(
            Row(
                "sync: backfill `demo` (unlimited sandbox)",
                f"{seconds:.2f} s",
                f"{result.reads} reads, {result.reads / seconds:.0f} pages/s, "
                f"{sum(result.objects.values()) / seconds:,.0f} objects/s",
            )
        )
        objects, seconds = local_ingest(sim, Path(tmp))
        found.append(
            Row(
                "sync: local ingest (parse + load, no HTTP)",
                f"{objects / seconds:,.0f} obj/s",
                f"{objects} objects in {seconds:.2f} s",
            )
        )
    return found
