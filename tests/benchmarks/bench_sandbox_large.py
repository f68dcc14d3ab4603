"""The `large` preset: generated in at most two minutes, with 1,000,000+ charges."""

from __future__ import annotations

import json
from datetime import date

from sandbox.sim import simulate
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)


def bench_rows() -> list[Row]:
    sim, seconds = timed(lambda: simulate(42, UNTIL, "large"))
    counts = sim.counts()
    verdict = "ok" if seconds <= 120 and counts["charges"] >= 1_000_000 else "TOO SLOW OR SMALL"
    return [
        Row("sandbox: generate `large` preset", f"{seconds:.1f} s", f"target ≤ 120 s, {verdict}"),
        Row("sandbox: `large` counts", f"{counts['charges']:,} charges", json.dumps(counts)),
    ]
