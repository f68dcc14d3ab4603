"""``/v1/events`` like Stripe's: type wildcards, ``types[]``, delivery_success, 30 days only.

A hand-built account of six events, so every expected list is exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from sandbox.api.server import SandboxServer, start_server
from sandbox.objects.webhooks import Delivery
from sandbox.sim.model import Simulation

NOW = 1_750_000_000
DAY = 86_400


def _event(event_id: str, event_type: str, age: int, pending: int = 0) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": NOW - age,
        "data": {"object": {"id": "in_1", "object": "invoice"}},
        "livemode": False,
        "pending_webhooks": pending,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


@pytest.fixture(scope="module")
def events_sim() -> Simulation:
    sim = Simulation(
        seed=0,
        preset="hand",
        start=dt.date(2025, 5, 1),
        until=dt.date(2025, 6, 15),
        now=NOW,
        currencies=("usd",),
    )
    events = [
        _event("evt_a", "invoice.paid", 100),
        _event("evt_b", "invoice.payment_failed", 200, pending=1),
        _event("evt_c", "customer.subscription.updated", 300),
        _event("evt_d", "charge.failed", 400),
        _event("evt_e", "invoice.created", 31 * DAY),
        _event("evt_f", "charge.dispute.created", 29 * DAY),
    ]
    sim.events.update({e["id"]: e for e in events})
    # evt_b waits for an endpoint that is down; evt_d's endpoint gave up after every retry
    sim.webhooks.deliveries["evt_b"] = [Delivery("we_1", True, NOW + 3_600, 3)]
    sim.webhooks.deliveries["evt_d"] = [Delivery("we_1", False, NOW - 100, 12)]
    return sim


@pytest.fixture(scope="module")
def events_client(events_sim: Simulation) -> Iterator[stripe.StripeClient]:
    with start_server(events_sim) as server:
        yield _client(server)


def _client(server: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def _ids(client: stripe.StripeClient, **params: Any) -> list[str]:
    return [e.id for e in client.v1.events.list(params=params).auto_paging_iter()]


def test_only_the_last_30_days_of_events_are_listed_newest_first(
    events_client: stripe.StripeClient,
) -> None:
    assert _ids(events_client, limit=2) == ["evt_a", "evt_b", "evt_c", "evt_d", "evt_f"]


def test_created_filters_cannot_reach_past_30_days(events_client: stripe.StripeClient) -> None:
    assert _ids(events_client, created={"lte": NOW - 30 * DAY}) == []
    assert _ids(events_client, created={"gte": NOW - 250}) == ["evt_a", "evt_b"]


def test_an_event_older_than_30_days_is_a_404_like_an_unknown_one(
    events_client: stripe.StripeClient,
) -> None:
    assert events_client.v1.events.retrieve("evt_f").type == "charge.dispute.created"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        events_client.v1.events.retrieve("evt_e")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.user_message == "No such event: 'evt_e'"


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("invoice.paid", ["evt_a"]),
        ("invoice.*", ["evt_a", "evt_b"]),
        ("charge.*", ["evt_d", "evt_f"]),
        ("*.created", ["evt_f"]),
        ("refund.*", []),
    ],
)
def test_type_filters_by_name_with_star_as_a_wildcard(
    events_client: stripe.StripeClient, event_type: str, expected: list[str]
) -> None:
    assert _ids(events_client, type=event_type) == expected


def test_types_filters_by_any_of_up_to_20_exact_names(events_client: stripe.StripeClient) -> None:
    assert _ids(events_client, types=["charge.failed", "invoice.paid"]) == ["evt_a", "evt_d"]


def test_type_and_types_together_are_a_400(events_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        events_client.v1.events.list(params={"type": "invoice.paid", "types": ["charge.failed"]})
    assert raised.value.http_status == 400
    assert raised.value.param == "types"


def test_more_than_20_types_are_a_400(events_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        events_client.v1.events.list(params={"types": [f"t{n}" for n in range(21)]})
    assert raised.value.param == "types"


def test_delivery_success_false_lists_events_pending_or_failed_at_some_endpoint(
    events_client: stripe.StripeClient,
) -> None:
    assert _ids(events_client, delivery_success="false") == ["evt_b", "evt_d"]
    assert _ids(events_client, delivery_success="true") == ["evt_a", "evt_c", "evt_f"]


def test_an_expired_event_is_no_cursor(events_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        events_client.v1.events.list(params={"starting_after": "evt_e"})
    assert raised.value.http_status == 400
    assert raised.value.param == "starting_after"
