"""``expand[]`` and restricted keys, through the real stripe SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation

RESTRICTED = "rk_test_paylens_no_disputes_1234"


@pytest.fixture(scope="module")
def restricted_server(sim: Simulation) -> Iterator[SandboxServer]:
    with start_server(sim, restricted_keys={RESTRICTED: ["disputes", "charges"]}) as server:
        yield server


@pytest.fixture(scope="module")
def restricted(restricted_server: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        RESTRICTED, base_addresses={"api": restricted_server.url}, max_network_retries=0
    )


def test_data_customer_expands_every_subscriptions_customer(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    page = client.v1.subscriptions.list(params={"limit": 5, "expand": ["data.customer"]})
    for subscription in page.data:
        expected = sim.customers[sim.subscriptions[subscription.id]["customer"]]
        assert subscription.customer.id == expected["id"]
        assert subscription.customer.email == expected["email"]


def test_expansion_leaves_the_cached_objects_as_they_were(client: stripe.StripeClient) -> None:
    client.v1.charges.list(params={"limit": 3, "expand": ["data.customer"]})
    assert all(isinstance(c.customer, str) for c in client.v1.charges.list(params={"limit": 3}))


def test_a_retrieve_expands_nested_and_chained_paths(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    sub_id, subscription = next(
        (s, o) for s, o in sim.subscriptions.items() if o.get("latest_invoice")
    )
    got = client.v1.subscriptions.retrieve(
        sub_id, params={"expand": ["latest_invoice.customer", "customer"]}
    )
    assert got.latest_invoice.id == subscription["latest_invoice"]
    assert got.latest_invoice.customer.id == subscription["customer"]
    assert got.customer.id == subscription["customer"]


def test_an_invoice_expands_its_subscription_under_parent(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    invoice = next(i for i in sim.invoices.values() if i.get("parent"))
    got = client.v1.invoices.retrieve(
        invoice["id"], params={"expand": ["parent.subscription_details.subscription"]}
    )
    expected = invoice["parent"]["subscription_details"]["subscription"]
    assert got.parent.subscription_details.subscription.id == expected
    assert got.parent.subscription_details.subscription.object == "subscription"


def test_an_unknown_expansion_is_a_400_naming_it(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list(params={"expand": ["data.colour"]})
    assert raised.value.http_status == 400
    assert raised.value.user_message == "This property cannot be expanded (data.colour)."


def test_a_list_expansion_without_data_is_a_400_suggesting_it(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.invoices.list(params={"expand": ["customer"]})
    assert raised.value.user_message == (
        "This property cannot be expanded (customer). "
        "You may want to try expanding 'data.customer' instead."
    )


def test_more_than_four_levels_are_a_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.list(params={"expand": ["data.latest_invoice.customer.a.b"]})
    assert raised.value.user_message == "You cannot expand more than 4 levels of a property."


@pytest.mark.parametrize("path", ["/v1/disputes", "/v1/charges", "/v1/charges/ch_x"])
def test_a_restricted_key_without_the_permission_gets_stripes_403(
    restricted: stripe.StripeClient, path: str
) -> None:
    resource = path.split("/")[2]
    permission = {"disputes": "rak_dispute_read", "charges": "rak_charge_read"}[resource]
    with pytest.raises(stripe.PermissionError) as raised:
        restricted.raw_request("get", path)
    assert raised.value.http_status == 403
    assert raised.value.json_body == {
        "error": {
            "type": "invalid_request_error",
            "message": "The provided key 'rk_test_****1234' does not have the required "
            "permissions for this endpoint on account 'acct_paylenssandbox'. Having the "
            f"'{permission}' permission would allow this request to continue.",
        }
    }


def test_a_restricted_key_reads_what_it_is_allowed_to(restricted: stripe.StripeClient) -> None:
    assert len(restricted.v1.customers.list(params={"limit": 2}).data) == 2


def test_a_restricted_key_cannot_expand_into_what_it_may_not_read(
    restricted: stripe.StripeClient,
) -> None:
    restricted.v1.refunds.list(params={"limit": 1})
    with pytest.raises(stripe.PermissionError):
        restricted.v1.refunds.list(params={"limit": 1, "expand": ["data.charge"]})


def test_a_restricted_key_for_an_unknown_resource_is_refused_at_start(sim: Simulation) -> None:
    with pytest.raises(ValueError, match="unknown resources for restricted key: payouts"):
        start_server(sim, restricted_keys={"rk_test_x": ["payouts"]})
