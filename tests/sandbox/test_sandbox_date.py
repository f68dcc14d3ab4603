"""Every answer's `Date` header is the simulated time, as Stripe's is its own (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import http.client
from email.utils import parsedate_to_datetime

from sandbox.api.server import SandboxServer, start_server
from sandbox.scenario import example, load_scenario, simulate_scenario
from sandbox.sim import Simulation, simulate

DAY = 86_400


class StillClock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def _answer(server: SandboxServer, path: str, key: str | None = None) -> tuple[int, int, str]:
    """(status, the `Date` header as unix seconds, its text) of one GET over real HTTP."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {key or server.api_key}"})
        response = conn.getresponse()
        response.read()
        date = response.getheader("Date") or ""
        return response.status, int(parsedate_to_datetime(date).timestamp()), date
    finally:
        conn.close()


def _scenario() -> Simulation:
    return simulate_scenario(load_scenario(example("plan_changes")))  # all of it in 2025


def test_every_answer_is_dated_at_the_simulated_time_in_stripes_format() -> None:
    sim = _scenario()
    with start_server(sim) as server:
        status, date, text = _answer(server, "/v1/customers?limit=1")
    assert (status, date) == (200, sim.now)
    assert text == "Mon, 31 Mar 2025 23:59:59 GMT"  # RFC 7231's IMF-fixdate


def test_errors_are_dated_at_the_simulated_time_too() -> None:
    sim = _scenario()
    with start_server(sim) as server:
        assert _answer(server, "/v1/customers", key="sk_test_wrong")[:2] == (401, sim.now)
        assert _answer(server, "/v1/customers/cus_missing")[:2] == (404, sim.now)
        assert _answer(server, "/v1/nothing_here")[:2] == (404, sim.now)
    with start_server(sim, faults="500=1") as server:
        assert _answer(server, "/v1/customers")[:2] == (500, sim.now)
    with start_server(sim, rate=1, wall_clock=StillClock()) as server:
        answers = [_answer(server, "/v1/customers")[:2] for _ in range(3)]
    assert (429, sim.now) in answers


def test_a_live_clock_dates_each_answer_where_the_simulated_clock_has_got_to() -> None:
    sim = simulate(5, dt.date(2025, 3, 31), "small")
    start, clock = sim.now, StillClock()
    with start_server(sim, speed=DAY, wall_clock=clock) as server:
        assert _answer(server, "/v1/events?limit=1")[1] == start
        clock.now += 2.5  # two and a half simulated days
        assert _answer(server, "/v1/events?limit=1")[1] == start + int(2.5 * DAY)
        assert server.simulated_now() == start + int(2.5 * DAY)
