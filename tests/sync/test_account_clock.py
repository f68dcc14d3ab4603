"""The account's clock: "now" in a sync is Stripe's (its `Date` header), never the machine's.

The sandbox dates every answer at its simulated time, as Stripe dates its own, so an account
simulated in 2025 must sync exactly as one set today: no clock is injected anywhere here.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from app.service import sync_and_publish
from metrics.mrr import MrrSettings, mrr_subscription_daily
from sandbox.api.server import start_server
from sandbox.objects.clock import date_of
from sandbox.scenario import example, load_scenario, simulate_scenario
from sandbox.sim import Simulation, simulate
from sandbox.sim.incidents import Incident
from sandbox.truth.ledger import MrrRules
from sandbox.truth.report import EVENTS_WINDOW_DAYS, subscription_mrr_days
from sync.clock import AccountClock
from sync.store import open_warehouse
from tests.conftest import settings_for
from tests.metrics.scenarios import synced_snapshot

DAY = 86_400
EXACT = 0.01  # minor units: a hundredth of a cent (floats against exact fractions)
T0 = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


class Ticking:
    """A machine clock and a monotonic clock that move only when told to."""

    def __init__(self, machine: float) -> None:
        self.machine, self.mono = machine, 1000.0

    def wait(self, seconds: float) -> None:
        self.machine += seconds
        self.mono += seconds

    def clock(self) -> AccountClock:
        return AccountClock(lambda: self.machine, lambda: self.mono)


MACHINE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC).timestamp()  # the machine is 20 months ahead


def _heard_at_t0(ticks: Ticking, clock: AccountClock) -> None:
    clock.observe_headers({"Date": "Mon, 31 Mar 2025 12:00:00 GMT"}, ticks.mono)


def _assumed(ticks: Ticking, clock: AccountClock) -> None:
    clock.assume_offset(T0.timestamp() - MACHINE)


def _heard_then_an_older_date_late(ticks: Ticking, clock: AccountClock) -> None:
    _heard_at_t0(ticks, clock)
    ticks.wait(3)
    clock.observe(T0 - timedelta(seconds=2), ticks.mono)  # a slow answer from another worker


def _heard_then_silence(ticks: Ticking, clock: AccountClock) -> None:
    _heard_at_t0(ticks, clock)
    ticks.wait(90)


def _assumed_then_heard(ticks: Ticking, clock: AccountClock) -> None:
    clock.assume_offset(-3600.0)  # a wrong guess is replaced by what Stripe says
    _heard_at_t0(ticks, clock)
    ticks.wait(1.5)


def _an_unreadable_date(ticks: Ticking, clock: AccountClock) -> None:
    clock.observe_headers({"Date": "yesterday"}, ticks.mono)


@pytest.mark.parametrize(
    ("happened", "now", "offset", "observed"),
    [
        (lambda t, c: None, MACHINE, 0.0, False),
        (_assumed, T0.timestamp(), T0.timestamp() - MACHINE, False),
        (_an_unreadable_date, MACHINE, 0.0, False),
        (_heard_at_t0, T0.timestamp(), T0.timestamp() - MACHINE, True),
        (_heard_then_silence, T0.timestamp() + 90, T0.timestamp() - MACHINE, True),
        (_heard_then_an_older_date_late, T0.timestamp() + 3, T0.timestamp() - MACHINE, True),
        (_assumed_then_heard, T0.timestamp() + 1.5, T0.timestamp() - MACHINE, True),
    ],
    ids=[
        "nothing heard: the machine's time",
        "nothing heard: the machine's time plus the assumed offset",
        "an unreadable Date is ignored",
        "heard: Stripe's time",
        "heard: Stripe's time plus the seconds elapsed since",
        "an older Date arriving late never sets it back",
        "Stripe's word replaces an assumed offset",
    ],
)
def test_the_account_clock_reads_stripes_last_word_plus_the_time_elapsed_since(
    happened: Callable[[Ticking, AccountClock], None], now: float, offset: float, observed: bool
) -> None:
    ticks = Ticking(MACHINE)
    clock = ticks.clock()
    happened(ticks, clock)
    assert clock() == datetime.fromtimestamp(now, UTC)
    assert clock.offset() == pytest.approx(offset)
    assert clock.observed is observed


def test_the_account_clock_never_goes_backwards_and_dates_earlier_instants() -> None:
    ticks = Ticking(MACHINE)
    clock = ticks.clock()
    begun = ticks.mono
    ticks.wait(2)
    _heard_at_t0(ticks, clock)
    assert clock.at(begun) == T0 - timedelta(seconds=2)  # the run began before Stripe spoke
    ticks.wait(10)
    assert clock() == T0 + timedelta(seconds=10)
    clock.observe(T0 + timedelta(seconds=4), ticks.mono)  # a clock that fell behind
    assert clock() == T0 + timedelta(seconds=10)
    ticks.wait(1)
    assert clock() == T0 + timedelta(seconds=10)
    assert clock.last_seen() == T0 + timedelta(seconds=4)


def _scenario(until: dt.date | None) -> Simulation:
    return simulate_scenario(load_scenario(example("plan_changes")), until=until)


@pytest.mark.parametrize(
    "until",
    [None, dt.date(2025, 2, 25)],
    # stopped on Feb 25, the events window starts on Jan 26: only its events (its first one's
    # previous_attributes) show kate's downgrade of Jan 16 before her Feb 1 invoice does; on
    # the machine's clock the window would lie in the machine's month and she'd read pro
    ids=["the whole scenario", "stopped where only the events window shows a downgrade"],
)
def test_a_scenario_set_in_2025_syncs_as_one_set_today(
    until: dt.date | None, tmp_path: Path
) -> None:
    sim = _scenario(until)
    sync_day = date_of(sim.now)
    days = [sync_day - timedelta(days=n) for n in range(EVENTS_WINDOW_DAYS, -1, -1)]
    con = synced_snapshot(sim, tmp_path)
    try:
        assert _mrr_differences(con, sim, days) == []
        runs = con.execute("SELECT kind, account_time, started_at FROM sync_runs").fetchall()
        observed = con.execute(
            "SELECT DISTINCT date_trunc('second', observed_at) FROM subscription_observations"
        ).fetchall()
        offset = json.loads(
            con.execute("SELECT value FROM sync_state WHERE key = 'account_clock'").fetchall()[0][0]
        )["offset_seconds"]
    finally:
        con.close()
    now = datetime.fromtimestamp(sim.now, UTC).replace(tzinfo=None)
    assert [(kind, account_time) for kind, account_time, _ in runs] == [("backfill", now)]
    assert abs(runs[0][2] - now) < timedelta(minutes=1)  # the start too, on Stripe's clock
    assert observed == [(now,)]  # the sync day's observations, which the events window follows
    # what the next run assumes until Stripe answers it: Stripe's clock minus the machine's
    assert abs(offset - (sim.now - time.time())) < 60


def _mrr_differences(
    con: duckdb.DuckDBPyConnection, sim: Simulation, days: list[dt.date]
) -> list[tuple[dt.date, str, float, float]]:
    """(day, subscription, ours, truth) wherever our net MRR differs from the simulator's."""
    settings = MrrSettings()
    rules = MrrRules(
        settings.subtract_repeating, settings.subtract_once, settings.churn_at_period_end
    )
    truth = subscription_mrr_days(sim.ledger, days[0], days[-1], rules)
    ours: dict[tuple[dt.date, str], float] = {
        (day, str(sub)): float(net)
        for day, sub, net in mrr_subscription_daily(con, days[0], days[-1], settings)[
            ["day", "subscription", "net_mrr_minor"]
        ].itertuples(index=False)
    }
    assert ours, "the scenario has subscriptions in MRR"
    differences = []
    for day in days:
        expected = {sub: float(exact) for sub, (_, exact) in truth[day].items()}
        found = {sub: amount for (d, sub), amount in ours.items() if d == day}
        for sub in sorted(expected.keys() | found.keys()):
            a, b = found.get(sub, 0.0), expected.get(sub, float(Fraction(0)))
            if abs(a - b) > EXACT:
                differences.append((day, sub, a, b))
    return differences


class StillClock:
    """The sandbox's wall clock, moving only when told to."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_a_cursor_29_days_old_by_stripes_clock_triggers_a_backfill_however_fresh_by_the_machines(
    tmp_path: Path,
) -> None:
    sim = simulate(11, dt.date(2025, 6, 30), "small")
    wall = StillClock()
    with start_server(sim, speed=DAY, wall_clock=wall) as server:  # a simulated day a second
        settings = settings_for(server, tmp_path)
        first = sync_and_publish(settings)
        wall.now += 31  # 31 days on the account; seconds on the machine
        second = sync_and_publish(settings)
        third = sync_and_publish(settings)
    assert [(r.kind, r.status) for r in (first, second, third)] == [
        ("backfill", "ok"),
        ("backfill", "ok"),
        ("incremental", "ok"),
    ]
    con = duckdb.connect(str(settings.master_path), read_only=True)
    try:
        runs = con.execute(
            "SELECT kind, account_time FROM sync_runs ORDER BY account_time"
        ).fetchall()
    finally:
        con.close()
    assert [kind for kind, _ in runs] == ["backfill", "backfill", "incremental"]
    assert runs[1][1] - runs[0][1] >= timedelta(days=31)
    assert runs[2][1] == datetime.fromtimestamp(sim.now, UTC).replace(tzinfo=None)


def test_an_idle_run_on_a_fresh_cursor_still_costs_one_read(tmp_path: Path) -> None:
    sim = simulate(11, dt.date(2025, 6, 30), "small")
    with start_server(sim) as server:
        settings = settings_for(server, tmp_path)
        assert sync_and_publish(settings).kind == "backfill"
        server.requests.clear()
        idle = sync_and_publish(settings)
        paths = [r.path.split("?")[0] for r in server.requests]
    assert (idle.kind, idle.status, idle.reads, paths) == ("incremental", "ok", 1, ["/v1/events"])


def test_an_event_dated_after_stripes_time_does_not_move_the_cursor_past_later_events(
    tmp_path: Path,
) -> None:
    """A live account started mid-day dates some work ahead of its clock (a renewal collected
    within the hour is listed at once), among steady checkouts. The cursor stays at Stripe's
    time when the poll began, so the events listed by the next poll are read: the warehouse
    holds every charge served."""
    now = int(datetime(2026, 12, 7, 15, 0, tzinfo=UTC).timestamp())
    wave = Incident("checkout_wave", now - 3_600, now + 4 * 3_600, rate=0.02, per_hour=120)
    sim = simulate(42, dt.date(2026, 12, 7), "demo", now=now, incidents=[wave])
    wall = [0.0]
    with start_server(sim, speed=1.0, wall_clock=lambda: wall[0]) as server:
        settings = settings_for(server, tmp_path)
        con = open_warehouse(settings.master_path)
        try:
            ahead = False
            for cycle in range(4):
                wall[0] = cycle * 1800.0
                result = sync_and_publish(settings, con=con)
                assert result.status == "ok", result.error
                stored = {row[0] for row in con.execute("SELECT id FROM charges").fetchall()}
                assert stored == set(sim.charges), f"cycle {cycle}"
                latest = con.execute("SELECT max(created) FROM charges").fetchall()[0][0]
                assert result.account_time is not None
                ahead |= latest.replace(tzinfo=UTC) > result.account_time
        finally:
            con.close()
    assert ahead  # the case this covers happened: a charge dated after the clock was served
