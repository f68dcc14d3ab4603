"""Sandbox serving figures: list pages of 100 objects a second over real HTTP, and what a live
clock's rebuild costs.

Clients are a few threads, each with its own keep-alive ``requests.Session``, paging through
every list of the `demo` preset. "Cold" is the first pass on a fresh server (every object
serialised on first use); "warm" repeats the same pages from the JSON cache. The target is 300
pages/s on the 2-core reference machine, so the sandbox never limits a sync at Stripe's live
rate of 100 requests/s.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import requests

from sandbox.api.filters import EVENT_RETENTION_SECONDS
from sandbox.api.routes import SandboxApi
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation, simulate
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)
THREADS = 4
LISTS = ("charges", "invoices", "customers", "subscriptions", "events", "prices")
TARGET = 300


def page_paths(sim: Simulation) -> list[str]:
    """Every page of 100 of every list, by cursor, interleaved so threads share resources."""
    by_list = []
    floor = sim.now - EVENT_RETENTION_SECONDS  # older events are not listed
    for name in LISTS:
        listed = [
            o for o in sim.resource(name).values() if o["created"] >= floor or name != "events"
        ]
        order = sorted(listed, key=lambda o: (-o["created"], o["id"]))
        extra = "&status=all" if name == "subscriptions" else ""
        paths = [f"/v1/{name}?limit=100{extra}"]
        paths += [
            f"/v1/{name}?limit=100{extra}&starting_after={order[i - 1]['id']}"
            for i in range(100, len(order), 100)
        ]
        by_list.append(paths)
    longest = max(len(paths) for paths in by_list)
    return [paths[i] for i in range(longest) for paths in by_list if i < len(paths)]


def pages_per_second(server: SandboxServer, paths: list[str]) -> float:
    """Fetch ``paths`` split over ``THREADS`` keep-alive sessions; pages a wall second."""
    errors: list[str] = []

    def fetch(share: list[str]) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {server.api_key}"
            for path in share:
                response = session.get(server.url + path, timeout=30)
                if response.status_code != 200 or len(response.content) < 100:
                    errors.append(f"{path}: {response.status_code}")

    threads = [threading.Thread(target=fetch, args=(paths[i::THREADS],)) for i in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed pages, first: {errors[0]}")
    return len(paths) / elapsed


def rebuild_seconds(sim: Simulation) -> tuple[float, int]:
    """Seconds to rebuild every list index after an hour of live clock, and the revisions."""
    api = SandboxApi(sim, "sk_test_bench")
    before = sim.revision
    sim.advance(sim.now + 3_600)

    def rebuild() -> None:
        api.refresh()
        for name in api.store.resources:
            api.store.index(name)

    _, seconds = timed(rebuild)
    return seconds, sim.revision - before


def rows() -> list[Row]:
    sim = simulate(42, UNTIL, "demo")
    paths = page_paths(sim)
    with start_server(sim) as server:
        cold = pages_per_second(server, paths)
        warm = pages_per_second(server, paths)
    seconds, revisions = rebuild_seconds(sim)
    pages = f"{len(paths)} pages of {', '.join(LISTS)}; {THREADS} keep-alive clients"

    def verdict(rate: float) -> str:
        return f"{'meets' if rate >= TARGET else 'BELOW'} the {TARGET}/s target"

    return [
        Row("sandbox: list pages of 100 served/s, cold", f"{cold:.0f} /s", verdict(cold)),
        Row("sandbox: list pages of 100 served/s, warm", f"{warm:.0f} /s", verdict(warm)),
        Row("sandbox: pages measured", str(len(paths)), pages),
        Row(
            "sandbox: live-clock rebuild of every index (`demo`)",
            f"{seconds * 1000:.0f} ms",
            f"after one simulated hour ({revisions} revision(s))",
        ),
    ]


if __name__ == "__main__":
    for row in rows():
        print(" | ".join(row))
