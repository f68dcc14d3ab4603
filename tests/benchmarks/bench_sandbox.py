"""Sandbox figures: how fast a preset is generated (and, later, served)."""

from __future__ import annotations

import json
from datetime import date

from sandbox.sim import simulate
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)


def rows() -> list[Row]:
    sim, seconds = timed(lambda: simulate(42, UNTIL, "demo"))
    return [Row("sandbox: generate `demo` preset", f"{seconds:.2f} s", json.dumps(sim.counts()))]
