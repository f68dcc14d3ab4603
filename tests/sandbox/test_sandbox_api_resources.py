"""Coupons, refunds, disputes, events and webhook endpoints are listed and retrieved like
Stripe's, with their filters; parameters they do not take are a 400."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from sandbox.api.server import start_server
from sandbox.scenario import example, load_scenario, simulate_scenario
from sandbox.sim import Simulation


def _newest_first(objects: dict[str, dict[str, Any]], **match: str) -> list[str]:
    rank = {object_id: i for i, object_id in enumerate(objects)}
    chosen = [o for o in objects.values() if all(o.get(k) == v for k, v in match.items())]
    return [o["id"] for o in sorted(chosen, key=lambda o: (-o["created"], -rank[o["id"]]))]


@pytest.mark.parametrize("name", ["coupons", "refunds", "disputes", "webhook_endpoints"])
def test_each_resource_pages_through_every_object_newest_first(
    sim: Simulation, client: stripe.StripeClient, name: str
) -> None:
    service = getattr(client.v1, name)
    seen = [o.id for o in service.list(params={"limit": 2}).auto_paging_iter()]
    assert seen == _newest_first(sim.resource(name))
    assert seen, f"the small preset serves no {name}"


@pytest.mark.parametrize("name", ["coupons", "refunds", "disputes", "webhook_endpoints", "events"])
def test_each_resource_is_retrieved_by_id_as_simulated(
    sim: Simulation, client: stripe.StripeClient, name: str
) -> None:
    newest = _newest_first(sim.resource(name))[0]
    got = client.raw_request("get", f"/v1/{name}/{newest}").data
    assert got == sim.resource(name)[newest]


@pytest.mark.parametrize(("name", "param"), [("refunds", "charge"), ("disputes", "charge"),
                                              ("disputes", "payment_intent")])  # fmt: skip
def test_refunds_and_disputes_filter_by_their_charge_or_payment_intent(
    sim: Simulation, client: stripe.StripeClient, name: str, param: str
) -> None:
    value = next(iter(sim.resource(name).values()))[param]
    page = client.raw_request("get", f"/v1/{name}", **{param: value, "limit": 100}).data
    assert [o["id"] for o in page["data"]] == _newest_first(sim.resource(name), **{param: value})


def test_webhook_endpoints_take_no_created_filter(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.webhook_endpoints.list(params={"created": {"gte": 0}})
    assert raised.value.param == "created[gte]"


def test_an_unknown_refund_is_a_404_naming_the_object(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.retrieve("re_missing")
    assert raised.value.http_status == 404
    assert raised.value.user_message == "No such refund: 're_missing'"


def test_a_refund_expands_its_charge(sim: Simulation, client: stripe.StripeClient) -> None:
    refund = next(iter(sim.refunds.values()))
    got = client.v1.refunds.retrieve(refund["id"], params={"expand": ["charge"]})
    assert got.charge.id == refund["charge"]
    assert got.charge.amount_refunded == sim.charges[refund["charge"]]["amount_refunded"]


def test_subscriptions_expand_their_discounts() -> None:
    coupons = simulate_scenario(load_scenario(example("coupons")))
    subscription = next(s for s in coupons.subscriptions.values() if s["discounts"])
    with start_server(coupons) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        got = client.v1.subscriptions.retrieve(subscription["id"], params={"expand": ["discounts"]})
    assert [d.id for d in got.discounts] == subscription["discounts"]
    assert all(d.object == "discount" for d in got.discounts)


def test_events_of_the_same_second_are_listed_latest_emitted_first(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    listed = [e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()]
    emitted = list(sim.events)
    position = {event_id: i for i, event_id in enumerate(emitted)}
    by_second: dict[int, list[str]] = {}
    for event_id in listed:
        by_second.setdefault(sim.events[event_id]["created"], []).append(event_id)
    shared = [ids for ids in by_second.values() if len(ids) > 1]
    assert shared, "the small preset has no two events in one second"
    for ids in shared:
        assert ids == sorted(ids, key=lambda event_id: -position[event_id])
