"""Scenario files: a business scripted by hand, served and told as truth like a preset.

``load_scenario(path)`` reads and checks a TOML or JSON file (format: ``docs/SANDBOX.md``);
``simulate_scenario(scenario)`` plays it on the same engine as the presets, so invoices, lines,
charges, events with ``previous_attributes``, dunning and the truth ledger come out the same
way, and ``sandbox.sim.truth`` reads the result as it reads a preset's. Nothing is random
except what a file leaves unsaid (charge risk scores, the minute a renewal is collected),
drawn from the file's ``seed``; ids are Stripe-like and deterministic, and every customer,
subscription, product and price carries its symbolic name in ``metadata.scenario_name``.

Entries after the file's last day (``live_entries``) stay queued, and the live clock plays
them while the sandbox serves: a scripted incident watched as it happens.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sandbox.objects.catalog import Catalog
from sandbox.objects.clock import day_end, day_start, iso_time
from sandbox.objects.coupons import coupon_object
from sandbox.objects.events import EventLog
from sandbox.objects.ids import IdFactory
from sandbox.objects.webhooks import Webhooks, endpoint_objects
from sandbox.scenario.catalog import build_catalog
from sandbox.scenario.model import Operation, Scenario, ScenarioError
from sandbox.scenario.parse import read_scenario
from sandbox.scenario.payments import ScenarioScript
from sandbox.scenario.run import Runner
from sandbox.sim.engine import Engine
from sandbox.sim.lifecycle import resubscribe
from sandbox.sim.model import Simulation
from sandbox.sim.presets import Preset
from sandbox.sim.simulation import open_setup

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

EXAMPLES = Path(__file__).parent.parent / "scenarios"


def example(name: str) -> Path:
    """A bundled example's path: ``spec_example`` is ``sandbox/scenarios/spec_example.toml``."""
    return EXAMPLES / f"{name}.toml"


def load_scenario(path: Path | str) -> Scenario:
    """Read and check a scenario file; any problem is one ``ScenarioError``."""
    return read_scenario(Path(path))


def simulate_scenario(scenario: Scenario, *, until: dt.date | None = None) -> Simulation:
    """Play the scenario up to the end of ``until`` (default: the file's last day).

    Entries after that moment stay queued on the engine, and the live clock plays each one
    when simulated time reaches it (``sim.advance(t)``, ``start_server(sim, speed=X)``,
    ``--speed``), with the same objects as a run that went there directly. They are the
    file's *live entries* (after its ``until``, see ``live_entries``) and, with an earlier
    ``until`` here, the entries of the days left out. To serve a live scenario::

        sim = simulate_scenario(load_scenario(example("decline_spike_live")))
        with start_server(sim, speed=600) as server:  # 10 simulated minutes a second
            ...  # the 00:30 renewals fail about 3 s after the start, recover at 02:30

    Steps: account (webhook endpoints), catalogue and coupons at 00:00 UTC of the first day,
    each announced by its ``*.created`` event; every operation queued at its moment; the
    engine run to the end of ``until``; the entries still queued rehearsed on a throwaway
    copy played through the last of them, so a served clock never meets one the business
    cannot do. Raises ``ScenarioError`` for an operation that cannot happen in the state the
    business has reached by its moment, queued or not.
    """
    stop = scenario.until if until is None else until
    if not scenario.start <= stop <= scenario.until:
        where = "simulate_scenario"
        raise ScenarioError(scenario.path, where, f"until {stop} is outside the scenario's days")
    sim = _play(scenario, stop)
    queued = [operation for operation in scenario.timeline if operation.at > sim.now]
    if queued:
        _play(scenario, scenario.until).advance(queued[-1].at)
    return sim


def live_entries(scenario: Scenario) -> tuple[Operation, ...]:
    """The entries after the file's last day: only a live clock (``--speed``) plays them."""
    last = day_end(scenario.until)
    return tuple(operation for operation in scenario.timeline if operation.at > last)


def live_entries_error(scenario: Scenario) -> ScenarioError:
    """What serving without a live clock says of a file with live entries: which, and when."""
    entries = live_entries(scenario)
    listed = [f"{op.where} at {iso_time(op.at)}" for op in entries[:5]]
    if len(entries) > 5:
        listed.append(f"and {len(entries) - 5} more")
    verb, them = ("comes", "it") if len(entries) == 1 else ("come", "them")
    problem = (
        f"{', '.join(listed)} {verb} after the last day (until {scenario.until}); only the live "
        f"clock plays {them}: serve with --speed"
    )
    return ScenarioError(scenario.path, "timeline", problem)


def _play(scenario: Scenario, stop: dt.date) -> Simulation:
    """The business from its first day to the end of ``stop``, later operations queued."""
    rng = random.Random(scenario.seed)
    ids = IdFactory(random.Random(rng.getrandbits(64)))
    event_ids = IdFactory(random.Random(rng.getrandbits(64)))
    first = day_start(scenario.start)
    sim = Simulation(
        scenario.seed, f"scenario {scenario.name}", scenario.start, stop, day_end(stop),
        scenario.currencies,
    )  # fmt: skip
    open_setup(sim, scenario.account, first, day_end(scenario.until))
    endpoints = endpoint_objects(ids, first, scenario.account.endpoints)
    sim.webhook_endpoints.update((e["id"], e) for e in endpoints)
    sim.webhooks = Webhooks(endpoints)
    events = EventLog(sim.events, event_ids, sim.webhooks, first)  # keeps every event
    catalog = _catalogue(scenario, sim, ids, first)
    engine = Engine(sim, _rules(scenario), rng, ids, catalog, events, resubscribe=resubscribe)
    engine.live_after = day_end(scenario.until)  # the file's days, wherever this run stops
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
        dunning_gaps_days=scenario.dunning.retry_days, account=scenario.account,
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
