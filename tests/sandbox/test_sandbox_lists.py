"""Stripe list semantics through the real stripe SDK over real HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import stripe

from sandbox.sim import Simulation


def _newest_first(objects: dict[str, dict[str, Any]]) -> list[str]:
    """Stripe's order: newest first; within one second, the later-created first."""
    rank = {object_id: i for i, object_id in enumerate(objects)}
    return [
        o["id"] for o in sorted(objects.values(), key=lambda o: (-o["created"], -rank[o["id"]]))
    ]


def test_paging_forward_covers_every_customer_exactly_once_newest_first(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    pages = client.v1.customers.list(params={"limit": 7})
    seen = [c.id for c in pages.auto_paging_iter()]
    assert seen == _newest_first(sim.customers)


def test_paging_backward_from_the_oldest_covers_every_charge_exactly_once(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    expected = _newest_first(sim.charges)
    pages = client.v1.charges.list(params={"limit": 9, "ending_before": expected[-1]})
    seen = [c.id for c in pages.auto_paging_iter()]
    assert seen == list(reversed(expected[:-1]))


def test_ending_before_returns_the_newer_neighbours_newest_first(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    order = _newest_first(sim.invoices)
    page = client.v1.invoices.list(params={"limit": 2, "ending_before": order[4]})
    assert [i.id for i in page.data] == order[2:4]
    assert page.has_more is True
    page = client.v1.invoices.list(params={"limit": 10, "ending_before": order[4]})
    assert [i.id for i in page.data] == order[:4]
    assert page.has_more is False


def test_has_more_says_whether_another_page_exists(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    total = len(sim.prices)
    assert client.v1.prices.list(params={"limit": total - 1}).has_more is True
    full = client.v1.prices.list(params={"limit": total})
    assert full.has_more is False
    assert len(full.data) == total
    default = client.v1.prices.list()
    assert len(default.data) == 10
    assert default.url == "/v1/prices"


def test_raw_requests_return_the_stripe_list_envelope(client: stripe.StripeClient) -> None:
    response = client.raw_request("get", "/v1/customers", limit=100)
    body = response.data
    assert body["object"] == "list"
    assert body["url"] == "/v1/customers"
    assert len(body["data"]) == 100
    assert body["has_more"] is True


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"created[gte]": 0}, lambda c, t: c >= t),
        ({"created[gt]": 0}, lambda c, t: c > t),
        ({"created[lte]": 0}, lambda c, t: c <= t),
        ({"created[lt]": 0}, lambda c, t: c < t),
        ({"created": 0}, lambda c, t: c == t),
    ],
)
def test_created_filters_select_exactly_the_matching_charges(
    sim: Simulation, client: stripe.StripeClient, params: dict[str, int], keep: Any
) -> None:
    order = _newest_first(sim.charges)
    threshold = sim.charges[order[len(order) // 3]]["created"]
    query = {key: threshold for key in params} | {"limit": 100}
    seen = [c.id for c in client.v1.charges.list(params=query).auto_paging_iter()]
    assert seen == [i for i in order if keep(sim.charges[i]["created"], threshold)]
    assert seen


def test_a_created_range_combines_its_bounds(sim: Simulation, client: stripe.StripeClient) -> None:
    order = _newest_first(sim.invoices)
    newest, oldest = sim.invoices[order[10]]["created"], sim.invoices[order[60]]["created"]
    params = {"created": {"gte": oldest, "lt": newest}, "limit": 100}
    seen = [i.id for i in client.v1.invoices.list(params=params).auto_paging_iter()]
    assert seen == [i for i in order if oldest <= sim.invoices[i]["created"] < newest]


def test_subscriptions_exclude_canceled_unless_status_all_is_asked(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    by_default = {
        s.id for s in client.v1.subscriptions.list(params={"limit": 100}).auto_paging_iter()
    }
    everything = {
        s.id
        for s in client.v1.subscriptions.list(
            params={"limit": 100, "status": "all"}
        ).auto_paging_iter()
    }
    canceled = {
        s.id
        for s in client.v1.subscriptions.list(
            params={"limit": 100, "status": "canceled"}
        ).auto_paging_iter()
    }
    assert everything == set(sim.subscriptions)
    assert canceled == {i for i, s in sim.subscriptions.items() if s["status"] == "canceled"}
    assert by_default == everything - canceled
    assert canceled


def test_an_unknown_subscription_status_is_a_400_naming_status(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.list(params={"status": "sleeping"})
    assert raised.value.http_status == 400
    assert raised.value.param == "status"


def test_customer_and_subscription_filters_narrow_the_list(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    invoice = next(i for i in sim.invoices.values() if i["attempt_count"] > 1)
    customer = invoice["customer"]
    subscription = invoice["parent"]["subscription_details"]["subscription"]
    charges = client.v1.charges.list(params={"customer": customer})
    assert {c.customer for c in charges.data} == {customer}
    assert len(charges.data) == sum(c["customer"] == customer for c in sim.charges.values())
    invoices = client.v1.invoices.list(params={"subscription": subscription, "limit": 100})
    assert {i.id for i in invoices.data} == {
        i["id"]
        for i in sim.invoices.values()
        if i["parent"]["subscription_details"]["subscription"] == subscription
    }
    subs = client.v1.subscriptions.list(params={"customer": customer, "status": "all"})
    assert [s.id for s in subs.data] == [subscription]


@pytest.mark.parametrize("limit", [0, 101, -5])
def test_a_limit_outside_1_to_100_is_a_400_naming_limit(
    client: stripe.StripeClient, limit: int
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list(params={"limit": limit})
    assert raised.value.http_status == 400
    assert raised.value.param == "limit"


def test_retrieving_an_object_returns_the_same_object_as_the_list(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    charge_id = next(iter(sim.charges))
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.to_dict() == sim.charges[charge_id]
    subscription = client.v1.subscriptions.retrieve(next(iter(sim.subscriptions)))
    assert subscription.items.data[0].current_period_end > 0


def test_concurrent_clients_each_page_through_everything(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    results: list[list[str]] = []

    def crawl() -> None:
        pages = client.v1.invoices.list(params={"limit": 50})
        results.append([i.id for i in pages.auto_paging_iter()])

    threads = [threading.Thread(target=crawl) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [_newest_first(sim.invoices)] * 4
