"""`make bench`: the walking skeleton's figures, printed as a table.

Measured, never asserted (machines are shared and noisy); the figures go into
docs/PERFORMANCE.md by hand with the date and machine. Later issues add the `large` preset, the
rate-limited backfill against its bound, and the naive baseline.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from app.report import build_report
from app.service import sync_and_publish
from app.settings import Secret, Settings
from sandbox.server import start_server
from sandbox.sim import Simulation, simulate
from sync.engine import _save
from sync.snapshots import SnapshotReader
from sync.store import open_warehouse

T = TypeVar("T")
UNTIL = date(2026, 11, 20)


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


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


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    sim, seconds = timed(lambda: simulate(42, UNTIL, "demo"))
    rows.append(("sandbox: generate `demo` preset", f"{seconds:.2f} s", json.dumps(sim.counts())))
    with tempfile.TemporaryDirectory() as tmp, start_server(sim) as server:
        data_dir = Path(tmp)
        settings = dataclasses.replace(
            Settings(),
            stripe_api_key=Secret(server.api_key),
            stripe_api_base=server.url,
            data_dir=data_dir,
        )
        result, seconds = timed(lambda: sync_and_publish(settings))
        pages = result.reads
        rows.append(
            (
                "sync: backfill `demo` (unlimited sandbox)",
                f"{seconds:.2f} s",
                f"{pages} reads, {pages / seconds:.0f} pages/s, "
                f"{sum(result.objects.values()) / seconds:,.0f} objects/s",
            )
        )
        objects, seconds = local_ingest(sim, data_dir)
        rows.append(
            (
                "sync: local ingest (parse + load, no HTTP)",
                f"{objects / seconds:,.0f} obj/s",
                f"{objects} objects in {seconds:.2f} s",
            )
        )
        reader = SnapshotReader(settings.snapshot_dir)
        con = reader.connection()
        assert con is not None
        build_report(con, settings, UNTIL)
        _, seconds = timed(lambda: build_report(con, settings, UNTIL))
        rows.append(
            (
                "metrics: report (MRR, subscriptions, success rate), warm",
                f"{seconds * 1000:.0f} ms",
                "one published snapshot, read-only",
            )
        )
        reader.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("process: peak memory (RSS)", f"{peak:.0f} MB", "whole benchmark process"))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'benchmark':<{width}}  {'result':>14}  notes")
    for name, value, notes in rows:
        print(f"{name:<{width}}  {value:>14}  {notes}")


if __name__ == "__main__":
    main()
