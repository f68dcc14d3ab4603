"""Deletions as Stripe makes them: customers, products without prices, a retired coupon."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from sandbox.api.server import SandboxServer, start_server
from sandbox.objects.clock import DAY_SECONDS, day_end
from sandbox.sim import Simulation, simulate, truth

SEED = 7
UNTIL = dt.date(2026, 11, 20)
RECENT = 30 * DAY_SECONDS  # events Stripe still lists


@pytest.fixture(scope="module")
def demo() -> Simulation:
    return simulate(SEED, UNTIL, "demo")


@pytest.fixture(scope="module")
def server(demo: Simulation) -> Iterator[SandboxServer]:
    with start_server(demo) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def _deleted(sim: Simulation, kind: str, *, recent: bool = False) -> list[str]:
    return [
        object_id
        for object_id, deletion in sim.deleted.items()
        if deletion.object["object"] == kind and (not recent or deletion.at >= sim.now - RECENT)
    ]


def _events(sim: Simulation, event_type: str) -> list[dict[str, Any]]:
    return [e for e in sim.events.values() if e["type"] == event_type]


def test_the_demo_business_deletes_customers_products_and_a_coupon(demo: Simulation) -> None:
    assert len(_deleted(demo, "customer")) > 20
    assert len(_deleted(demo, "product")) > 3
    assert _deleted(demo, "coupon") == ["PARTNER15"]


def test_the_small_preset_deletes_nothing(demo: Simulation) -> None:
    assert simulate(SEED, UNTIL, "small").deleted == {}


def test_a_deleted_customer_is_not_listed_and_retrieves_as_stripes_stub(
    demo: Simulation, client: stripe.StripeClient
) -> None:
    listed = {c.id for c in client.v1.customers.list({"limit": 100}).auto_paging_iter()}
    assert listed == set(demo.customers)
    gone = _deleted(demo, "customer")
    assert not listed & set(gone)
    stub = client.v1.customers.retrieve(gone[0])
    assert stub.to_dict() == {"id": gone[0], "object": "customer", "deleted": True}


def test_a_deleted_product_or_coupon_is_not_listed_and_not_found(
    demo: Simulation, client: stripe.StripeClient
) -> None:
    products = {p.id for p in client.v1.products.list({"limit": 100}).auto_paging_iter()}
    assert products == set(demo.products)
    coupons = {c.id for c in client.v1.coupons.list({"limit": 100}).auto_paging_iter()}
    assert "PARTNER15" not in coupons and coupons == set(demo.coupons)
    for retrieve, object_id in (
        (client.v1.products.retrieve, _deleted(demo, "product")[0]),
        (client.v1.coupons.retrieve, "PARTNER15"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            retrieve(object_id)
        assert (refused.value.http_status, refused.value.code) == (404, "resource_missing")


def test_expanding_a_deleted_customer_gives_its_stub(
    demo: Simulation, client: stripe.StripeClient
) -> None:
    customer = _deleted(demo, "customer")[0]
    sub = next(s for s in demo.subscriptions.values() if s["customer"] == customer)
    expanded = client.v1.subscriptions.retrieve(sub["id"], {"expand": ["customer"]})
    stub = expanded.customer
    assert not isinstance(stub, str)
    assert stub.to_dict() == {"id": customer, "object": "customer", "deleted": True}


def test_a_deletion_event_carries_the_objects_last_state(demo: Simulation) -> None:
    recent = {kind: _deleted(demo, kind, recent=True) for kind in ("customer", "product", "coupon")}
    assert all(recent.values())
    for kind, ids in recent.items():
        events = {e["data"]["object"]["id"]: e for e in _events(demo, f"{kind}.deleted")}
        for object_id in ids:
            event, deletion = events[object_id], demo.deleted[object_id]
            assert event["created"] == deletion.at
            assert event["data"]["object"] == deletion.object
            assert "deleted" not in event["data"]["object"]  # the full object, not the stub
    assert events  # at least one coupon.deleted


def test_deleting_a_subscribed_customer_cancels_its_subscription_first(
    demo: Simulation,
) -> None:
    closed = [
        c
        for c in demo.ledger.churn_events
        if c.customer in demo.deleted and c.at == demo.deleted[c.customer].at
    ]
    assert closed
    order = list(demo.events)
    for churn in closed:
        assert churn.cause == "voluntary" and churn.requested_at == churn.at
        sub = demo.subscriptions[churn.subscription]
        assert sub["status"] == "canceled" and sub["ended_at"] == churn.at
        assert sub["cancellation_details"]["reason"] == "cancellation_requested"
        day = dt.datetime.fromtimestamp(churn.at, dt.UTC).date()
        assert churn.subscription not in truth(demo, day)["mrr_by_subscription"]
        if churn.at >= demo.now - RECENT:
            ended, deleted = (
                next(
                    e["id"]
                    for e in _events(demo, event_type)
                    if e["data"]["object"]["id"] == object_id
                )
                for event_type, object_id in (
                    ("customer.subscription.deleted", churn.subscription),
                    ("customer.deleted", churn.customer),
                )
            )
            assert order.index(ended) < order.index(deleted)


def test_a_deleted_customer_never_subscribes_again(demo: Simulation) -> None:
    for customer in _deleted(demo, "customer"):
        at = demo.deleted[customer].at
        subs = [s for s in demo.subscriptions.values() if s["customer"] == customer]
        assert subs and all(s["created"] <= at and s["status"] == "canceled" for s in subs)
        assert not [r for r in demo.ledger.reactivations if r.customer == customer and r.at > at]


def test_only_products_without_prices_are_deleted(demo: Simulation) -> None:
    priced = {price["product"] for price in demo.prices.values()}
    assert priced <= set(demo.products)
    assert not priced & set(_deleted(demo, "product"))


def test_a_deleted_coupon_is_not_redeemed_again_but_keeps_discounting(demo: Simulation) -> None:
    deleted_at = demo.deleted["PARTNER15"].at
    discounts = [d for d in demo.discounts.values() if d["source"]["coupon"] == "PARTNER15"]
    assert discounts and max(d["start"] for d in discounts) < deleted_at
    later = [
        invoice
        for invoice in demo.invoices.values()
        if invoice["created"] > deleted_at
        and set(invoice["discounts"]) & {d["id"] for d in discounts}
        and invoice["total_discount_amounts"]
    ]
    assert later  # a forever coupon deleted still discounts every renewal


def test_a_live_clock_deletes_what_a_direct_run_deletes() -> None:
    direct = simulate(SEED, UNTIL, "demo")
    live = simulate(SEED, UNTIL, "demo", now=day_end(UNTIL) - 20 * DAY_SECONDS)
    assert len(live.deleted) < len(direct.deleted)
    live.advance(day_end(UNTIL))
    assert {i: d.at for i, d in live.deleted.items()} == {
        i: d.at for i, d in direct.deleted.items()
    }
    assert set(live.customers) == set(direct.customers)
