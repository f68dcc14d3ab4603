"""`make bench`: every benchmark module's figures, printed as one table.

Measured, never asserted (machines are shared and noisy); the figures go into
docs/PERFORMANCE.md with the date. Each module (`bench_*.py`) owns one layer's rows, so the
layers' benchmarks grow without touching each other. `make bench ONLY=sync` runs one module.
"""

from __future__ import annotations

import importlib
import logging
import resource
import sys
import time

import duckdb

from tests.benchmarks.common import Row

# `bench_sandbox_large` last: it holds ~8 GB while it runs and sets the process's peak RSS.
MODULES = (
    "bench_sandbox",
    "bench_sandbox_server",
    "bench_sync",
    "bench_metrics",
    "bench_cycle",
    "bench_alerts",
    "bench_pages",
    "bench_weekly",
    "bench_sandbox_large",
)


def _calibration() -> Row:
    """A fixed workload, so that figures taken on a busier or slower day can be compared: one
    DuckDB thread summing 100 million squares, and a pure-Python loop of 10 million steps."""
    con = duckdb.connect()
    con.execute("SET threads = 1").fetchall()
    started = time.perf_counter()
    con.execute("SELECT sum(i * i) FROM range(100000000) AS t(i)").fetchall()
    duck = time.perf_counter() - started
    started = time.perf_counter()
    total = 0
    for step in range(10_000_000):
        total += step
    python = time.perf_counter() - started
    return Row(
        "machine: calibration, DuckDB / Python",
        f"{duck * 1000:.0f} / {python * 1000:.0f} ms",
        "fixed work; compare before comparing figures from different days",
    )


def main(only: str | None = None) -> None:
    logging.basicConfig(level=logging.WARNING)
    rows: list[Row] = [_calibration()]
    for name in MODULES:
        if only and only not in name:
            continue
        module = importlib.import_module(f"tests.benchmarks.{name}")
        rows.extend(module.rows())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(Row("process: peak memory (RSS)", f"{peak:.0f} MB", "whole benchmark process"))
    width = max(len(row.name) for row in rows)
    print(f"{'benchmark':<{width}}  {'result':>14}  notes")
    for row in rows:
        print(f"{row.name:<{width}}  {row.result:>14}  {row.notes}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
