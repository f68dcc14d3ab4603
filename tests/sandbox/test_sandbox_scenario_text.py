"""A scenario's free text: `description` and `metadata` on customers, products, subscriptions and
charges, a price's `nickname` and `metadata`, served exactly as given (Stripe's field names) over
real HTTP; metadata outside Stripe's limits, or text holding NUL, is one ScenarioError naming
the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from sandbox.api.server import start_server
from sandbox.scenario import ScenarioError, load_scenario, scenario_ids, simulate_scenario
from sandbox.sim import Simulation

TEXT = """
[scenario]
name = "text"
start = 2025-01-01
until = 2025-02-20

[products.pro]
name = "Pro"
description = "The <b>pro</b> plan"
metadata = { tier = "top", "<!channel>" = "[x](http://x)" }

[prices.pro_monthly]
product = "pro"
currency = "usd"
unit_amount = 10000
interval = "month"
nickname = "Pro \\u200bmonthly \\u202eylhtnom"
metadata = { billing = "monthly" }

[[timeline]]
at = 2025-01-25
op = "create_customer"
customer = "ann"
description = "<script>alert(1)</script>"
metadata = { crm_id = "42", note = "<img src=x onerror=alert(1)>" }

[[timeline]]
at = 2025-01-25
op = "subscribe"
subscription = "ann_pro"
customer = "ann"
items = [{ price = "pro_monthly" }]
description = "<http://evil|click>"
metadata = { origin = "web" }

[[timeline]]
at = 2025-02-10
op = "update_charge"
customer = "ann"
charge = 1
description = "first **renewal**"
metadata = { order = "A-1" }
"""


@pytest.fixture(scope="module")
def text_sim(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    path = tmp_path_factory.mktemp("text") / "text.toml"
    path.write_text(TEXT, encoding="utf-8")
    return simulate_scenario(load_scenario(path))


@pytest.fixture(scope="module")
def client(text_sim: Simulation) -> Iterator[stripe.StripeClient]:
    with start_server(text_sim) as server:
        yield stripe.StripeClient(
            server.api_key, base_addresses={"api": server.url}, max_network_retries=0
        )


def test_customer_product_and_price_carry_their_text_exactly(
    text_sim: Simulation, client: stripe.StripeClient
) -> None:
    ids = scenario_ids(text_sim)
    customer = client.v1.customers.retrieve(ids["ann"])
    assert customer.description == "<script>alert(1)</script>"
    assert customer.metadata.to_dict() == {
        "scenario_name": "ann", "crm_id": "42", "note": "<img src=x onerror=alert(1)>",
    }  # fmt: skip
    product = client.v1.products.retrieve(ids["pro"])
    assert product.description == "The <b>pro</b> plan"
    assert product.metadata.to_dict() == {
        "scenario_name": "pro", "tier": "top", "<!channel>": "[x](http://x)",
    }  # fmt: skip
    price = client.v1.prices.retrieve(ids["pro_monthly"])
    assert price.nickname == "Pro \u200bmonthly \u202eylhtnom"
    assert price.lookup_key == "pro_monthly"
    assert price.metadata.to_dict() == {"scenario_name": "pro_monthly", "billing": "monthly"}


def test_a_subscription_carries_its_text_from_its_created_event_on(
    text_sim: Simulation, client: stripe.StripeClient
) -> None:
    ids = scenario_ids(text_sim)
    sub = client.v1.subscriptions.retrieve(ids["ann_pro"])
    assert sub.description == "<http://evil|click>"
    assert sub.metadata.to_dict() == {"scenario_name": "ann_pro", "origin": "web"}
    created = client.v1.events.list(params={"type": "customer.subscription.created"}).data
    assert [e.data.object["description"] for e in created] == ["<http://evil|click>"]


def test_update_charge_changes_the_charge_and_says_so_in_charge_updated(
    text_sim: Simulation, client: stripe.StripeClient
) -> None:
    ids = scenario_ids(text_sim)
    charges = client.v1.charges.list(params={"customer": ids["ann"]}).data
    [first] = charges
    assert (first.description, first.metadata.to_dict()) == ("first **renewal**", {"order": "A-1"})
    [updated] = client.v1.events.list(params={"type": "charge.updated"}).data
    assert updated.data.object["id"] == first.id
    assert updated.data.previous_attributes.to_dict() == {
        "description": "Subscription creation", "metadata": {},
    }  # fmt: skip


def _with(tmp_path: Path, old: str, new: str) -> Path:
    assert TEXT.count(old) == 1, old
    path = tmp_path / "case.toml"
    path.write_text(TEXT.replace(old, new), encoding="utf-8")
    return path


MANY = "{ " + ", ".join(f'k{i} = "v"' for i in range(50)) + " }"


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        ('metadata = { billing = "monthly" }', 'metadata = "monthly"', "prices.pro_monthly",
         "metadata: expected a table of strings, got 'monthly'"),
        ('metadata = { billing = "monthly" }', "metadata = { billing = 1 }",
         "prices.pro_monthly", "metadata: billing: expected a string, got 1"),
        ('metadata = { tier = "top", "<!channel>" = "[x](http://x)" }', f"metadata = {MANY}",
         "products.pro", "metadata: has 50 keys; Stripe allows 50, one of them 'scenario_name' "
         "(so at most 49 here)"),
        ('metadata = { origin = "web" }', f'metadata = {{ {"k" * 41} = "v" }}',
         "timeline[1] (subscribe)", f"metadata: key '{'k' * 41}': Stripe takes 1 to 40 "
         "characters without square brackets"),
        ('metadata = { origin = "web" }', 'metadata = { "a[b]" = "v" }',
         "timeline[1] (subscribe)", "metadata: key 'a[b]': Stripe takes 1 to 40 characters "
         "without square brackets"),
        ('metadata = { order = "A-1" }', f'metadata = {{ order = "{"x" * 501}" }}',
         "timeline[2] (update_charge)", "metadata: order: 501 characters; Stripe allows 500"),
        ('metadata = { order = "A-1" }', 'metadata = { scenario_name = "mine" }',
         "timeline[2] (update_charge)", "metadata: key 'scenario_name' is the sandbox's own "
         "(the object's name in the file)"),
        ('description = "<script>alert(1)</script>"', 'description = "a\\u0000b"',
         "timeline[0] (create_customer)",
         "description: contains a NUL character (U+0000), which Stripe refuses"),
        ('metadata = { crm_id = "42",', 'metadata = { crm_id = "4\\u00002",',
         "timeline[0] (create_customer)",
         "metadata: crm_id: contains a NUL character (U+0000), which Stripe refuses"),
        ('description = "first **renewal**"\nmetadata = { order = "A-1" }', "",
         "timeline[2] (update_charge)", "give description, metadata or both"),
    ],
)  # fmt: skip
def test_bad_text_is_one_error_naming_the_field(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    path = _with(tmp_path, old, new)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.where, caught.value.problem) == (where, problem)


def test_a_json_scenario_takes_the_same_text(tmp_path: Path) -> None:
    path = tmp_path / "text.json"
    doc = {
        "scenario": {"name": "j", "start": "2025-01-01", "until": "2025-01-31"},
        "products": {"pro": {"name": "Pro", "metadata": {"a": "\u202e"}}},
        "timeline": [{"at": "2025-01-02", "op": "create_customer", "customer": "c",
                      "description": "x" * 10_000}],
    }  # fmt: skip
    path.write_text(json.dumps(doc), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.products["pro"].metadata == {"a": "\u202e"}
    assert scenario.timeline[0].fields["description"] == "x" * 10_000
