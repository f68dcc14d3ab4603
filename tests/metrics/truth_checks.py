"""Comparing a synced warehouse's MRR with the simulator's truth, day by day and per subscription
(SPEC §5; `sandbox.truth.report`): the checks behind every "exact on any account" test."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb

from metrics.movements import mrr_movements
from metrics.mrr import MrrSettings, mrr_currency_daily, mrr_subscription_daily
from sandbox.sim import Simulation, simulate
from sandbox.truth.ledger import MrrRules, day_ordinal
from sandbox.truth.report import EVENTS_WINDOW_DAYS, hidden_days, subscription_mrr_days
from tests.metrics.scenarios import synced_snapshot

EXACT = 0.01  # minor units: a hundredth of a cent (floats against exact fractions)
IDENTITY = 1e-6  # minor units: the movements are summed from exact decimals


def differences(
    con: duckdb.DuckDBPyConnection,
    sim: Simulation,
    settings: MrrSettings,
    days: list[date],
) -> tuple[list[tuple[date, str]], list[tuple[date, str]], set[str]]:
    """(subscriptions that differ untolerated, currencies whose total differs on a day with
    nothing tolerated, subscriptions tolerated on some day) over `days`."""
    rules = MrrRules(
        settings.subtract_repeating, settings.subtract_once, settings.churn_at_period_end
    )
    truth = subscription_mrr_days(sim.ledger, days[0], days[-1], rules)
    hidden = hidden_days(sim.ledger, sim.now)
    ours = mrr_subscription_daily(con, days[0], days[-1], settings)
    by_day: dict[date, dict[str, tuple[str, float]]] = defaultdict(dict)
    for day, sub, currency, net in ours[
        ["day", "subscription", "currency", "net_mrr_minor"]
    ].itertuples(index=False):
        by_day[day][str(sub)] = (str(currency), float(net))
    wrong, wrong_totals, tolerated = [], [], set()
    for day in days:
        expected, found = truth[day], by_day.get(day, {})
        excused = {s for s, spans in hidden.items() if any(a <= day < b for a, b in spans)}
        totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        excusing: set[str] = set()  # currencies with a tolerated difference this day
        for sub in expected.keys() | found.keys():
            currency, exact = expected.get(sub, (found.get(sub, ("", 0.0))[0], Fraction(0)))
            amount = found.get(sub, (currency, 0.0))[1]
            totals[currency][0] += amount
            totals[currency][1] += float(exact)
            if abs(amount - float(exact)) <= EXACT:
                continue
            if sub in excused:
                tolerated.add(sub)
                excusing.add(currency)
            else:
                wrong.append((day, sub))
        wrong_totals += [
            (day, c)
            for c, (ours_total, truth_total) in totals.items()
            if c not in excusing and abs(ours_total - truth_total) > EXACT
        ]
    return wrong, wrong_totals, tolerated


def every_day(first: date, last: date, step: int = 1) -> list[date]:
    return [first + timedelta(days=n) for n in range(0, (last - first).days + 1, step)]


def unobservable_before_window(sim: Simulation) -> set[str]:
    """Subscriptions with a change the truth lists as unobservable, made before the events
    window (30 days before the simulation's now): the only ones the API cannot date."""
    horizon = day_ordinal(sim.now) - EVENTS_WINDOW_DAYS
    return {h.subscription for h in sim.ledger.unobservable if day_ordinal(h.at) < horizon}


def movement_gaps(
    con: duckdb.DuckDBPyConnection, first: date, last: date
) -> list[tuple[date, str, float]]:
    """(month end, currency, gap) where end ≠ start + new + reactivation + expansion −
    contraction − churn for a month in [first, last], per native currency."""
    movements = mrr_movements(con, first, last)
    signed = movements["amount_minor"].where(
        ~movements["kind"].isin(["contraction", "churn"]), -movements["amount_minor"]
    )
    moved = signed.groupby([movements["period_end"], movements["currency"]]).sum().to_dict()
    level = {
        (r.day, r.currency): float(r.net_mrr_minor)
        for r in mrr_currency_daily(con, first - timedelta(days=1), last).itertuples()
    }
    ends = sorted({end for end, _ in moved} | {d for d in month_end_days(first, last)})
    gaps = []
    currencies = {c for _, c in level} | {c for _, c in moved}
    for end in ends:
        start = max(first, end.replace(day=1)) - timedelta(days=1)
        for currency in currencies:
            change = level.get((end, currency), 0.0) - level.get((start, currency), 0.0)
            gap = change - float(moved.get((end, currency), 0.0))
            if abs(gap) > IDENTITY:
                gaps.append((end, currency, gap))
    return gaps


def month_end_days(first: date, last: date) -> list[date]:
    """The last day of each month from `first`'s through `last`'s (the last one: `last`)."""
    ends, day = [], first
    while day <= last:
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        ends.append(min(following - timedelta(days=1), last))
        day = following
    return ends


SEEDS_UNTIL = date(2026, 6, 30)


def check_account(preset: str, seed: int, data_dir: Path) -> None:
    """Simulate `preset` with `seed` up to SEEDS_UNTIL, sync it and assert what
    `tests/metrics/test_truth_seeds.py` promises."""
    sim = simulate(seed, SEEDS_UNTIL, preset)
    con = synced_snapshot(sim, data_dir)
    try:
        wrong, wrong_totals, tolerated = differences(
            con, sim, MrrSettings(), every_day(sim.start, SEEDS_UNTIL)
        )
        listed = {
            row[0] for row in con.execute("SELECT subscription FROM undated_changes").fetchall()
        }
        assert wrong == []
        assert wrong_totals == []
        assert tolerated <= listed <= unobservable_before_window(sim)
        assert movement_gaps(con, sim.start, SEEDS_UNTIL) == []
    finally:
        con.close()


def listed_undated(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The subscriptions the sync lists with an undated change."""
    return {row[0] for row in con.execute("SELECT subscription FROM undated_changes").fetchall()}
