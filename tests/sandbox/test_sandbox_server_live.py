"""The live clock: simulated time follows the (injected) wall clock and the API follows it."""

from __future__ import annotations

import copy
import datetime as dt
import http.client
import inspect
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from sandbox.api.server import SandboxServer, serve_forever, start_server
from sandbox.sim import Simulation, simulate

DAY = 86_400


class StillClock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def _all(server: SandboxServer, name: str, **params: str) -> list[dict[str, Any]]:
    """Every object of a list, paged over one keep-alive connection, as plain JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    objects: list[dict[str, Any]] = []
    try:
        while True:
            query = {"limit": "100", **params}
            if objects:
                query["starting_after"] = objects[-1]["id"]
            headers = {"Authorization": f"Bearer {server.api_key}"}
            conn.request("GET", f"/v1/{name}?{urlencode(query)}", headers=headers)
            page = json.loads(conn.getresponse().read())
            objects.extend(page["data"])
            if not page["has_more"]:
                return objects
    finally:
        conn.close()


def test_each_request_plays_the_simulation_forward_by_wall_time_times_speed() -> None:
    sim = simulate(5, dt.date(2025, 3, 31), "small")
    start, clock = sim.now, StillClock()
    with start_server(sim, speed=DAY, wall_clock=clock) as server:
        before = {e["id"] for e in _all(server, "events")}
        assert sim.now == start
        clock.now += 6.5  # six and a half simulated days
        after = _all(server, "events")
    assert sim.now == start + int(6.5 * DAY)
    new = [e for e in after if e["id"] not in before]
    assert new, "six days of a business produce events"
    assert all(start < e["created"] <= sim.now for e in new)
    emitted = {event_id: i for i, event_id in enumerate(sim.events)}
    assert [e["id"] for e in after] == [
        e["id"] for e in sorted(after, key=lambda e: (-e["created"], -emitted[e["id"]]))
    ]


def test_objects_that_changed_are_served_as_they_are_now_not_from_the_cache() -> None:
    sim = simulate(6, dt.date(2025, 3, 31), "small")
    clock = StillClock()
    with start_server(sim, speed=DAY, wall_clock=clock) as server:
        first = {s["id"]: s for s in _all(server, "subscriptions", status="all")}
        snapshot = copy.deepcopy(sim.subscriptions)
        revision = sim.revision
        clock.now += 20
        served = {s["id"]: s for s in _all(server, "subscriptions", status="all")}
    changed = [i for i, s in sim.subscriptions.items() if snapshot.get(i) != s]
    assert sim.revision > revision
    assert changed, "twenty days change some subscription"
    assert first == snapshot
    assert served == sim.subscriptions


def test_a_live_clock_needs_a_positive_speed() -> None:
    sim = simulate(5, dt.date(2025, 1, 31), "small")
    with pytest.raises(ValueError, match="speed must be positive"):
        start_server(sim, speed=0)


def test_serve_forever_takes_exactly_start_servers_options(sim: Simulation) -> None:
    options = list(inspect.signature(start_server).parameters)[1:]
    forever = list(inspect.signature(serve_forever).parameters)[2:]
    assert forever == [*options, "on_ready"]
