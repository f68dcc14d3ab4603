"""Every field paylens reads is served with Stripe's nesting and JSON type.

The reference is Stripe's own example objects (``fixtures3.json`` from stripe/openapi). A field
matches when both sides have it at the same path with the same JSON type; ``null`` on either
side matches anything (nullable fields). Paths marked ``?`` are absent from the fixture (Stripe
omits them from its examples) and are only required of the sandbox; paths marked ``~`` are
optional in Stripe's schema (``quantity`` of a metered item) and only typed when present.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from sandbox.api.listing import dumps
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation, simulate

FIXTURES = Path(__file__).resolve().parents[1] / "reference" / "stripe-fixtures3.json"
MISSING = "missing"

# served resource -> (fixture name, fields paylens reads)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "customers": ("customer", ("id", "created", "email", "name", "currency")),
    "products": ("product", ("id", "created", "name", "active")),
    "prices": (
        "price",
        (
            "id", "created", "product", "currency", "unit_amount", "billing_scheme",
            "tiers_mode", "type", "recurring.interval", "recurring.interval_count",
            "recurring.usage_type", "nickname", "active",
        ),
    ),
    "coupons": (
        "coupon",
        (
            "id", "created", "duration", "duration_in_months", "percent_off", "amount_off",
            "currency",
        ),
    ),
    "subscriptions": (
        "subscription",
        (
            "id", "created", "customer", "status", "currency", "start_date", "trial_start",
            "trial_end", "cancel_at_period_end", "cancel_at", "canceled_at", "ended_at",
            "cancellation_details.reason", "items.object", "items.data", "items.has_more",
            "items.url", "latest_invoice", "discounts",
        ),
    ),
    "subscription_items": (
        "subscription_item",
        (
            "id", "subscription", "price.id", "~quantity", "created", "current_period_start",
            "current_period_end",
        ),
    ),
    "invoices": (
        "invoice",
        (
            "id", "created", "customer", "parent.subscription_details.subscription", "status",
            "billing_reason", "currency", "subtotal", "total", "amount_due", "amount_paid",
            "attempt_count", "period_start", "period_end", "lines.object", "lines.data",
            "lines.has_more", "lines.url",
        ),
    ),
    "invoice_lines": (
        "line_item",
        (
            "id", "invoice", "parent.subscription_item_details.subscription",
            "parent.subscription_item_details.subscription_item",
            "parent.subscription_item_details.proration",
            "?pricing.price_details.price", "quantity", "amount", "currency", "period.start",
            "period.end",
        ),
    ),
    "charges": (
        "charge",
        (
            "id", "created", "customer", "payment_intent", "amount", "amount_refunded",
            "currency", "status", "paid", "failure_code", "outcome.type", "outcome.reason",
            "outcome.network_decline_code", "payment_method_details.card.brand",
            "payment_method_details.card.country", "payment_method_details.card.funding",
            "refunded", "disputed",
        ),
    ),
    "refunds": ("refund", ("id", "created", "amount", "charge", "currency", "status")),
    "disputes": (
        "dispute",
        (
            "id", "created", "amount", "currency", "charge", "payment_intent", "status",
            "reason", "evidence_details.due_by", "evidence_details.has_evidence",
        ),
    ),
    "events": (
        "event",
        ("id", "created", "type", "pending_webhooks", "data.object", "api_version", "request"),
    ),
    "webhook_endpoints": (
        "webhook_endpoint",
        ("id", "created", "status", "enabled_events", "url"),
    ),
}  # fmt: skip


def json_type(value: Any) -> str:
    kinds = ((bool, "boolean"), (int | float, "number"), (str, "string"), (list, "array"))
    if value is None:
        return "null"
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    assert isinstance(value, dict), value
    return "object"


def type_at(obj: Any, path: str) -> str:
    """The JSON type at a dotted path: ``null`` if a parent on the way is null."""
    value = obj
    for key in path.split("."):
        if value is None:
            return "null"
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return json_type(value)


def mismatches(objects: list[Any], fixture: Any, fields: tuple[str, ...]) -> list[str]:
    """Every (object, field) whose served type differs from the fixture's."""
    problems = []
    for field in fields:
        sandbox_only, path = field.startswith("?"), field.lstrip("?~")
        expected = type_at(fixture, path)
        assert sandbox_only or expected != MISSING, f"fixture has no {path}: mark it '?'"
        for obj in objects:
            got = type_at(obj, path)
            if got == MISSING and field.startswith("~"):
                continue
            if got == MISSING or ("null" not in (got, expected) and MISSING != expected != got):
                problems.append(f"{obj.get('id')}.{path}: {got}, fixture {expected}")
    return problems


@pytest.fixture(scope="module")
def demo() -> Simulation:
    return simulate(42, dt.date(2026, 11, 20), "demo")


@pytest.fixture(scope="module")
def demo_server(demo: Simulation) -> Iterator[SandboxServer]:
    with start_server(demo) as server:
        yield server


@pytest.fixture(scope="module")
def fixtures() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return resources


@pytest.fixture(scope="module")
def served(demo: Simulation) -> dict[str, list[Any]]:
    """Every object of every resource exactly as the server serialises it (parsed once)."""
    nested = {
        "subscription_items": [i for items in demo.subscription_items.values() for i in items],
        "invoice_lines": [line for lines in demo.invoice_lines.values() for line in lines],
    }
    return {
        name: [
            json.loads(dumps(obj)) for obj in nested.get(name) or list(demo.resource(name).values())
        ]
        for name in FIELDS
    }


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_every_object_of_each_resource_has_the_fields_paylens_reads_with_stripes_types(
    served: dict[str, list[Any]], fixtures: dict[str, Any], name: str
) -> None:
    fixture_name, fields = FIELDS[name]
    objects = served[name]
    assert objects, f"demo serves no {name}"
    assert mismatches(objects, fixtures[fixture_name], fields) == []


@pytest.mark.parametrize("name", sorted(set(FIELDS) - {"subscription_items", "invoice_lines"}))
def test_a_page_over_http_carries_the_same_fields(
    demo_server: SandboxServer, fixtures: dict[str, Any], name: str
) -> None:
    client = stripe.StripeClient(
        demo_server.api_key, base_addresses={"api": demo_server.url}, max_network_retries=0
    )
    params: dict[str, Any] = {"limit": 100}
    if name == "subscriptions":
        params["status"] = "all"
    data = client.raw_request("get", f"/v1/{name}", **params).data["data"]
    assert data, f"the first page of {name} is empty"
    fixture_name, fields = FIELDS[name]
    assert mismatches(data, fixtures[fixture_name], fields) == []


def test_every_update_event_says_what_changed(served: dict[str, list[Any]]) -> None:
    updates = [e for e in served["events"] if e["type"].endswith(".updated")]
    assert updates
    assert [e["id"] for e in updates if type_at(e, "data.previous_attributes") != "object"] == []


def test_every_event_carries_the_object_its_type_names(served: dict[str, list[Any]]) -> None:
    objects = {
        "customer": "customer", "invoice": "invoice", "charge": "charge", "refund": "refund",
        "customer.subscription": "subscription", "charge.dispute": "dispute",
    }  # fmt: skip
    wrong = []
    for event in served["events"]:
        prefix = event["type"].rsplit(".", 1)[0]
        expected = objects.get(prefix)
        if expected is not None and event["data"]["object"]["object"] != expected:
            wrong.append(event["id"])
    assert wrong == []
