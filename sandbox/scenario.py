"""Scenario files: a business scripted by hand, served and told as truth like a preset.

``load_scenario(path)`` reads and checks a TOML or JSON file (format: ``docs/SANDBOX.md``);
``simulate_scenario(scenario)`` plays it on the same engine as the presets, so invoices, lines,
charges, events with ``previous_attributes``, dunning and the truth ledger come out the same
way, and ``sandbox.sim.truth`` reads the result as it reads a preset's. Nothing is random
except what a file leaves unsaid (charge risk scores, the minute a renewal is collected),
drawn from the file's ``seed``; ids are Stripe-like and deterministic, and every customer,
subscription, product and price carries its symbolic name in ``metadata.scenario_name``.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sandbox.catalog import Catalog
from sandbox.clock import day_end, day_start
from sandbox.coupons import coupon_object
from sandbox.engine import Engine
from sandbox.events import EventLog
from sandbox.ids import IdFactory
from sandbox.model import Simulation
from sandbox.presets import Preset
from sandbox.scenario_catalog import build_catalog
from sandbox.scenario_model import Operation, Scenario, ScenarioError
from sandbox.scenario_parse import read_scenario
from sandbox.scenario_payments import ScenarioScript
from sandbox.scenario_run import Runner
from sandbox.webhooks import Webhooks, endpoint_objects

__all__ = [
    "EXAMPLES",
    "Operation",
    "Scenario",
    "ScenarioError",
    "example",
    "load_scenario",
    "scenario_ids",
    "simulate_scenario",
]

EXAMPLES = Path(__file__).parent / "scenarios"


def example(name: str) -> Path:
    """A bundled example's path: ``spec_example`` is ``sandbox/scenarios/spec_example.toml``."""
    return EXAMPLES / f"{name}.toml"


def load_scenario(path: Path | str) -> Scenario:
    """Read and check a scenario file; any problem is one ``ScenarioError``."""
    return read_scenario(Path(path))


def simulate_scenario(scenario: Scenario, *, until: dt.date | None = None) -> Simulation:
    """Play the scenario up to the end of ``until`` (default: the file's last day).

    Steps: account (webhook endpoints), catalogue and coupons at 00:00 UTC of the first day,
    each announced by its ``*.created`` event; every operation queued at its moment; the
    engine run to the end of ``until``. Operations after it stay queued: ``Simulation.advance``
    (the live clock) plays them later. Raises ``ScenarioError`` for an operation that cannot
    happen in the state the business has reached.
    """
    stop = scenario.until if until is None else until
    if not scenario.start <= stop <= scenario.until:
        where = "simulate_scenario"
        raise ScenarioError(scenario.path, where, f"until {stop} is outside the scenario's days")
    rng = random.Random(scenario.seed)
    ids = IdFactory(random.Random(rng.getrandbits(64)))
    event_ids = IdFactory(random.Random(rng.getrandbits(64)))
    first = day_start(scenario.start)
    sim = Simulation(
        scenario.seed, f"scenario {scenario.name}", scenario.start, stop, day_end(stop),
        scenario.currencies,
    )  # fmt: skip
    endpoints = endpoint_objects(ids, first)
    sim.webhook_endpoints.update((e["id"], e) for e in endpoints)
    sim.webhooks = Webhooks(endpoints)
    events = EventLog(sim.events, event_ids, sim.webhooks, first)  # keeps every event
    engine = Engine(sim, _rules(scenario), rng, ids, _catalogue(scenario, sim, ids, first), events)
    script = ScenarioScript(scenario.dunning.exhausted)
    engine.script = script
    _announce(sim, events, first)
    Runner(scenario, engine, script).queue()
    engine.run_until(sim.now)
    sim.webhooks.refresh(sim.now)
    sim.engine = engine
    return sim


def _rules(scenario: Scenario) -> Preset:
    """The engine's behavioural rates, all off: only the file's operations happen."""
    return Preset(
        f"scenario {scenario.name}", customers=0, months=0, currencies=scenario.currencies,
        coupon_share=0.0, monthly_churn=0.0, change_rate=0.0, reactivation=0.0,
        refund_rate=0.0, dispute_rate=0.0, first_attempt_failure=0.0,
        dunning_gaps_days=scenario.dunning.retry_days,
    )  # fmt: skip


def _catalogue(scenario: Scenario, sim: Simulation, ids: IdFactory, first: int) -> Catalog:
    catalog = build_catalog(ids, dict(scenario.products), dict(scenario.prices), first)
    sim.products.update(catalog.products)
    sim.prices.update(catalog.prices)
    for spec in scenario.coupons.values():
        sim.coupons[spec.code] = coupon_object(spec, first)
    return catalog


def _announce(sim: Simulation, events: EventLog, first: int) -> None:
    for kind, objects in (("product", sim.products), ("price", sim.prices),
                          ("coupon", sim.coupons)):  # fmt: skip
        for obj in objects.values():
            events.emit(f"{kind}.created", obj, first)


def scenario_ids(sim: Simulation) -> dict[str, str]:
    """Symbolic name → Stripe id for customers, subscriptions, products and prices.

    Coupons need no entry: a coupon's id is its name.
    """
    ids: dict[str, str] = {}
    for objects in (sim.products, sim.prices, sim.customers, sim.subscriptions):
        for obj in objects.values():
            name = obj["metadata"].get("scenario_name")
            if name is not None:
                ids[name] = obj["id"]
    return ids
