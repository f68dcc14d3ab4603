"""The `large` preset: generated in at most two minutes, with 1,000,000+ charges.

Peak memory is the process's high-water mark after generating (``ru_maxrss``), which is the
`large` simulation's as long as this module runs before anything bigger (``run.py`` runs it
last). The sync benchmark later serves `large` beside a sync process on the same machine, so
memory matters as much as time.
"""

from __future__ import annotations

import json
import resource
from datetime import date

from sandbox.sim import simulate
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)
TARGET_SECONDS = 120


def rows() -> list[Row]:
    sim, seconds = timed(lambda: simulate(42, UNTIL, "large"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = sim.counts()
    sim.engine = None  # break the simulation <-> engine cycle: freed now, not at a full GC
    ok = seconds <= TARGET_SECONDS and counts["charges"] >= 1_000_000
    verdict = "ok" if ok else "TOO SLOW OR SMALL"
    return [
        Row(
            "sandbox: generate `large` preset",
            f"{seconds:.1f} s",
            f"target ≤ {TARGET_SECONDS} s, {verdict}",
        ),
        Row("sandbox: `large` peak memory (RSS)", f"{peak_mb:,.0f} MB", "after generating"),
        Row("sandbox: `large` counts", f"{counts['charges']:,} charges", json.dumps(counts)),
    ]


if __name__ == "__main__":
    for row in rows():
        print(" | ".join(row))
