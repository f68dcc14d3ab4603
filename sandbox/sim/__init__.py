"""The simulated SaaS business: a seeded event engine playing signups, renewals, payments,
plan changes, cancellations and deletions forward in time.

Entry points: ``simulate(seed, until, preset, ...) -> Simulation`` and ``truth(sim, as_of)``
(both in ``sandbox.sim.simulation``).
"""

from __future__ import annotations

from sandbox.sim.simulation import RESOURCES, Simulation, simulate, truth

__all__ = ["RESOURCES", "Simulation", "simulate", "truth"]
