"""Entry points: ``simulate`` a seeded SaaS business and read its ``truth``.

``simulate`` is a pure function of its arguments: it never reads the clock or the environment,
and draws every random choice from ``random.Random(seed)`` (ids, event ids and signup arrivals
from streams split off it), so the same arguments always give identical objects.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import random
from collections.abc import Sequence
from typing import Any

from sandbox.objects.account import AccountSetup, setup_objects
from sandbox.objects.catalog import INTERVALS, MINOR_UNITS, build_catalog
from sandbox.objects.clock import DAY_SECONDS, date_of, day_end, day_start, shift_date_months
from sandbox.objects.coupons import COUPONS, coupon_created, coupon_object
from sandbox.objects.events import EventLog
from sandbox.objects.ids import IdFactory
from sandbox.objects.webhooks import Webhooks, endpoint_objects
from sandbox.sim import checkouts, deletions
from sandbox.sim.engine import Engine
from sandbox.sim.incidents import Incident
from sandbox.sim.lifecycle import resubscribe, signup
from sandbox.sim.model import RESOURCES, Simulation
from sandbox.sim.presets import Preset, get_preset
from sandbox.truth.ledger import MrrRules
from sandbox.truth.report import truth_report

__all__ = ["RESOURCES", "Simulation", "simulate", "truth"]


def simulate(
    seed: int,
    until: dt.date,
    preset: str = "demo",
    *,
    now: int | None = None,
    incidents: Sequence[Incident] = (),
) -> Simulation:
    """Simulate the business from ``until`` minus the preset's months up to ``now``.

    ``now`` defaults to 23:59:59 UTC of ``until``; an earlier instant stops there (a live demo
    starting at wall-clock time). Steps: catalogue, coupons and webhook endpoints on the first
    day; the first signup (each queues the next) and the first hour of each checkout wave;
    play every event up to ``now``.
    """
    spec = get_preset(preset)
    end = day_end(until)
    if now is not None and now > end:
        raise ValueError(f"now ({now}) is after the end of {until}")
    rng = random.Random(seed)
    ids = IdFactory(random.Random(rng.getrandbits(64)))
    event_ids = IdFactory(random.Random(rng.getrandbits(64)))
    arrivals = random.Random(rng.getrandbits(64))
    start = shift_date_months(until, -spec.months)
    sim = Simulation(
        seed, spec.name, start, until, now if now is not None else end, spec.currencies
    )
    first = day_start(start) + 9 * 3_600
    _open_account(sim, spec, ids, first, end, incidents)
    offered = tuple(i for i, w in zip(INTERVALS, spec.interval_weights, strict=True) if w > 0)
    catalog = build_catalog(ids, spec.currencies, first, offered)
    sim.products.update(catalog.products)
    sim.prices.update(catalog.prices)
    # a clock stopped before the end lists its own last 30 days: keep from there
    keep_from = min(end, sim.now) - spec.event_days * DAY_SECONDS
    events = EventLog(sim.events, event_ids, sim.webhooks, keep_from)
    engine = Engine(sim, spec, rng, ids, catalog, events, incidents, resubscribe=resubscribe)
    engine.next_signup = signup_clock(arrivals, spec, first + 3_600, end)
    _create_coupons(sim, engine, first, end)
    deletions.retire_coupons(engine, end)
    deletions.start_drafts(engine, first)
    engine.schedule(engine.next_signup(first + 3_600), signup)
    checkouts.start_waves(engine)
    collecting = gc.isenabled()
    gc.disable()  # millions of new dicts, no garbage cycles: the collector only costs time
    try:
        engine.run_until(sim.now)
    finally:
        # Everything allocated meanwhile is still "young": the first collection after
        # enabling would traverse all of it (tens of seconds for `large`). Moving it to the
        # oldest generation leaves it to the next full collection, like long-lived data.
        gc.freeze()
        gc.unfreeze()
        if collecting:
            gc.enable()
    sim.webhooks.refresh(sim.now)
    sim.engine = engine
    return sim


def _open_account(
    sim: Simulation,
    spec: Preset,
    ids: IdFactory,
    first: int,
    end: int,
    incidents: Sequence[Incident],
) -> None:
    """The integration setup (`sandbox.objects.account`, ids of its own) and the webhook
    endpoints with their outages: the preset's and the incidents'."""
    open_setup(sim, spec.account, first - 3_600, end)
    endpoints = endpoint_objects(ids, first - 3_600, spec.account.endpoints)
    sim.webhook_endpoints.update((e["id"], e) for e in endpoints)
    sim.webhooks = Webhooks(endpoints)
    for position, days_before, hours in spec.webhook_outages:
        begin = end - days_before * DAY_SECONDS
        sim.webhooks.add_outage(position, begin, begin + hours * 3_600)
    for incident in incidents:
        if incident.kind == "webhook_outage":
            sim.webhooks.add_outage(incident.endpoint, incident.start, incident.end)


def open_setup(sim: Simulation, setup: AccountSetup, created: int, end: int) -> None:
    """Serve `setup`'s portal configurations, tax settings and registrations from `created`."""
    built = setup_objects(setup, sim.seed, created, end)
    sim.account = setup
    sim.billing_portal_configurations.update(built.portal)
    sim.tax_registrations.update(built.registrations)
    sim.tax_settings = built.tax_settings


def _create_coupons(sim: Simulation, engine: Engine, first: int, end: int) -> None:
    """Coupons offered in the preset's currencies, each created when its campaign starts."""
    for spec in COUPONS:
        if spec.currency is not None and spec.currency not in sim.currencies:
            continue
        created = coupon_created(spec, first, end)
        sim.coupons[spec.code] = coupon_object(spec, created)
        engine.schedule(created, _announce_coupon, sim.coupons[spec.code])


def _announce_coupon(engine: Engine, at: int, coupon: dict[str, Any]) -> None:
    engine.events.emit("coupon.created", coupon, at)


def signup_clock(rng: random.Random, spec: Preset, first: int, last: int) -> Any:
    """Signup arrivals: a Poisson process whose rate rises linearly over the simulated span.

    The rate at fraction ``x`` of the span is ``customers / span × (0.5 + x)`` (it triples from
    the first month to the last and integrates to ``customers``); past the span (a live clock)
    it stays at its final value. Each signup draws the gap to the next, so the work is O(signups)
    and the clock can run past ``last``.
    """
    span = last - first
    base = spec.customers / span

    def next_signup(at: int) -> int:
        x = min(1.0, max(0.0, (at - first) / span))
        gap = -math.log(1.0 - rng.random()) / (base * (0.5 + x))
        return at + max(1, int(gap))

    return next_signup


def truth(
    sim: Simulation,
    as_of: dt.date,
    *,
    subtract_repeating: bool = True,
    subtract_once: bool = False,
    churn_at_period_end: bool = False,
) -> dict[str, Any]:
    """Ground truth at the end of ``as_of`` (UTC) from the simulator's own bookkeeping.

    Keys: ``as_of``, ``mrr_by_currency`` (net of discounts per the settings),
    ``list_mrr_by_currency``, ``active_subscriptions``, ``mrr_by_subscription``,
    ``mrr_by_customer``, ``churn_events``, ``reactivations``, ``unobservable_changes``,
    ``undelivered_webhooks`` and the ``conventions`` used (see ``sandbox.truth.report``).
    Amounts are major units rounded to 2 decimals; every currency of the preset is listed.
    Raises ValueError outside the simulated days.
    """
    rules = MrrRules(subtract_repeating, subtract_once, churn_at_period_end)
    report = truth_report(
        sim.ledger,
        as_of,
        first_day=sim.start,
        last_day=max(sim.until, date_of(sim.now)),
        currencies=sim.currencies,
        minor_units=MINOR_UNITS,
        rules=rules,
        now=sim.now,
    )
    limit = day_end(as_of)
    report["undelivered_webhooks"] = [
        {"event": event_id, "endpoint": d.endpoint, "type": sim.events[event_id]["type"]}
        for event_id, deliveries in sim.webhooks.deliveries.items()
        for d in deliveries
        if not d.delivered and d.resolved_at <= min(limit, sim.now)
    ]
    return report
