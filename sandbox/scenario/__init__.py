"""Scenario files: a TOML description of a business, parsed, checked and played by the engine.

Entry points (in ``sandbox.scenario.play``): ``load_scenario``, ``simulate_scenario``,
``example`` / ``EXAMPLES`` (the bundled files in ``sandbox/scenarios/``), ``scenario_ids``,
``live_entries``, ``live_entries_error``, ``ScenarioError``. The format: ``docs/SANDBOX.md``.
"""

from __future__ import annotations

from sandbox.scenario.play import (
    EXAMPLES,
    Operation,
    Scenario,
    ScenarioError,
    example,
    live_entries,
    live_entries_error,
    load_scenario,
    scenario_ids,
    simulate_scenario,
)

__all__ = [
    "EXAMPLES",
    "Operation",
    "Scenario",
    "ScenarioError",
    "example",
    "live_entries",
    "live_entries_error",
    "load_scenario",
    "scenario_ids",
    "simulate_scenario",
]
