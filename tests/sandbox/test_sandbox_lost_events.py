"""The `drop_events` fault: events created in a simulated span never reach a client, listed
or retrieved, through the real `stripe` SDK; the other events are served as before."""

from __future__ import annotations

import datetime as dt

import pytest
import stripe

from sandbox.api.server import start_server
from sandbox.objects.clock import day_start
from sandbox.sim import Simulation

DAY = dt.date(2025, 6, 20)  # a day of the module's small simulation (until 2025-06-30)
LOST = f"drop_events=sim:{DAY}T00:00..{DAY + dt.timedelta(days=1)}T00:00"


def _all(client: stripe.StripeClient) -> list[stripe.Event]:
    return list(client.v1.events.list({"limit": 100}).auto_paging_iter())


def test_events_of_the_lost_span_are_neither_listed_nor_retrieved(sim: Simulation) -> None:
    start, end = day_start(DAY), day_start(DAY) + 86_400
    within = sorted(i for i, e in sim.events.items() if start <= e["created"] < end)
    assert within  # the day has events to lose
    with start_server(sim, faults=LOST) as server:
        client = stripe.StripeClient(
            server.api_key, base_addresses={"api": server.url}, max_network_retries=0
        )
        listed = _all(client)
        with pytest.raises(stripe.InvalidRequestError) as lost:
            client.v1.events.retrieve(within[0])
        kept = next(e for e in listed if e.created >= end)
        assert client.v1.events.retrieve(kept.id).id == kept.id
    with start_server(sim) as server:
        served = _all(
            stripe.StripeClient(
                server.api_key, base_addresses={"api": server.url}, max_network_retries=0
            )
        )
    assert lost.value.http_status == 404
    assert [e.id for e in listed] == [e.id for e in served if e.id not in set(within)]
    assert len(listed) == len(served) - len(within)
