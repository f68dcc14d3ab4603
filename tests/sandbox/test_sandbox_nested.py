"""Nested lists: embedded truncated to 10 with has_more/url, the rest via their endpoint."""

from __future__ import annotations

import pytest
import stripe

from sandbox.sim import Simulation


def test_a_subscription_with_many_items_embeds_ten_and_lists_the_rest(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    sub_id, items = next((s, i) for s, i in sim.subscription_items.items() if len(i) > 10)
    subscription = client.v1.subscriptions.retrieve(sub_id)
    embedded = subscription["items"]
    assert len(embedded.data) == 10
    assert embedded.has_more is True
    assert embedded.url == f"/v1/subscription_items?subscription={sub_id}"
    listed = client.v1.subscription_items.list(params={"subscription": sub_id, "limit": 3})
    assert [i.id for i in listed.auto_paging_iter()] == [i["id"] for i in items]


def test_an_invoice_with_many_lines_embeds_ten_and_the_lines_endpoint_returns_all(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    invoice_id, lines = next((i, ls) for i, ls in sim.invoice_lines.items() if len(ls) > 10)
    invoice = client.v1.invoices.retrieve(invoice_id)
    assert len(invoice.lines.data) == 10
    assert invoice.lines.has_more is True
    assert invoice.lines.url == f"/v1/invoices/{invoice_id}/lines"
    rest = client.v1.invoices.line_items.list(
        invoice_id, params={"limit": 100, "starting_after": invoice.lines.data[-1].id}
    )
    assert [line.id for line in invoice.lines.data] + [line.id for line in rest.data] == [
        line["id"] for line in lines
    ]
    assert rest.has_more is False


def test_a_small_invoice_embeds_all_its_lines_without_has_more(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    invoice_id = next(i for i, ls in sim.invoice_lines.items() if len(ls) == 1)
    invoice = client.v1.invoices.retrieve(invoice_id)
    assert len(invoice.lines.data) == 1
    assert invoice.lines.has_more is False
    line = invoice.lines.data[0]
    assert line.parent.subscription_item_details.subscription == (
        invoice.parent.subscription_details.subscription
    )
    assert line.pricing.price_details.price.startswith("price_")


def test_subscription_items_need_a_subscription(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.raw_request("get", "/v1/subscription_items")
    assert raised.value.http_status == 400
    assert raised.value.param == "subscription"


def test_a_subscription_item_can_be_retrieved_by_id(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    item = next(iter(sim.subscription_items.values()))[0]
    assert client.v1.subscription_items.retrieve(item["id"]).quantity == item["quantity"]


def test_lines_of_an_unknown_invoice_are_a_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.invoices.line_items.list("in_doesnotexist000")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
