"""Entry points: ``simulate`` a seeded SaaS business and read its ``truth``.

``simulate`` is a pure function of (seed, until, preset): it never reads the clock or the
environment, and draws every random choice from ``random.Random(seed)`` (ids from a stream split
off it), so the same arguments always give byte-identical objects.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from sandbox.catalog import MINOR_UNITS, build_catalog
from sandbox.clock import day_end, day_start, shift_date_months
from sandbox.engine import Engine
from sandbox.ids import IdFactory
from sandbox.model import RESOURCES, Simulation
from sandbox.presets import Preset, get_preset
from sandbox.truth import truth_report

__all__ = ["RESOURCES", "Simulation", "simulate", "truth"]


def simulate(seed: int, until: dt.date, preset: str = "demo") -> Simulation:
    """Simulate the business from ``until`` minus the preset's months through the end of ``until``.

    Steps: build the catalogue on the first day, queue every signup, then play all events up
    to 23:59:59 UTC of ``until`` (the sandbox's "now").
    """
    spec = get_preset(preset)
    rng = random.Random(seed)
    ids = IdFactory(random.Random(rng.getrandbits(64)))
    start = shift_date_months(until, -spec.months)
    sim = Simulation(
        seed=seed,
        preset=spec.name,
        start=start,
        until=until,
        now=day_end(until),
        currencies=spec.currencies,
    )
    catalog = build_catalog(ids, spec.currencies, day_start(start) + 9 * 3_600)
    sim.products.update(catalog.products)
    sim.prices.update(catalog.prices)
    engine = Engine(sim, spec, rng, ids, catalog)
    for at in signup_times(rng, spec, day_start(start) + 10 * 3_600, sim.now):
        engine.schedule(at, engine.signup)
    engine.run_until(sim.now)
    return sim


def signup_times(rng: random.Random, spec: Preset, first: int, last: int) -> list[int]:
    """``spec.customers`` signup times in [first, last], denser later (a growing business).

    Half are uniform, half follow a density rising linearly with time, so signups per month
    roughly triple from the first month to the last.
    """
    span = last - first
    times = []
    for _ in range(spec.customers):
        fraction = rng.random()
        if rng.random() < 0.5:
            fraction = math.sqrt(fraction)
        times.append(first + int(fraction * span))
    return sorted(times)


def truth(sim: Simulation, as_of: dt.date) -> dict[str, Any]:
    """Ground truth at the end of ``as_of`` (UTC) from the simulator's own bookkeeping.

    ``{"as_of": "YYYY-MM-DD", "mrr_by_currency": {"eur": 1.5, "usd": 2.0},
    "active_subscriptions": N}``: MRR per Stripe's definition (active and past_due subscriptions,
    licensed items normalised to a month) in major units rounded to 2 decimals; every currency
    of the preset is listed, even at 0. Raises ValueError outside the simulated days.
    """
    return truth_report(
        sim.ledger,
        as_of,
        first_day=sim.start,
        last_day=sim.until,
        currencies=sim.currencies,
        minor_units=MINOR_UNITS,
    )
