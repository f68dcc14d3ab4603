"""The simulated business: deterministic, Stripe-shaped, and showing each behaviour."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox.objects.clock import day_start
from sandbox.sim import RESOURCES, Simulation, simulate

FIXTURES = Path(__file__).resolve().parents[1] / "reference" / "stripe-fixtures3.json"
ID_PATTERN = re.compile(r"^[a-z]+_[A-Za-z0-9]{14}$")


def _all_objects(sim: Simulation) -> list[dict[str, Any]]:
    objects = [o for name in RESOURCES for o in sim.resource(name).values()]
    objects += [i for items in sim.subscription_items.values() for i in items]
    objects += [line for lines in sim.invoice_lines.values() for line in lines]
    return objects


def test_the_same_seed_gives_identical_objects_and_a_different_seed_does_not(
    sim: Simulation,
) -> None:
    again = simulate(sim.seed, sim.until, "small")
    other = simulate(sim.seed + 1, sim.until, "small")
    assert json.dumps(_all_objects(again)) == json.dumps(_all_objects(sim))
    assert list(other.customers) != list(sim.customers)


def test_the_simulated_range_ends_at_the_last_second_of_until(sim: Simulation) -> None:
    assert (sim.start, sim.until) == (dt.date(2024, 12, 30), dt.date(2025, 6, 30))
    assert sim.now == day_start(sim.until) + 86_399


def test_every_object_has_a_stripe_like_id_object_livemode_and_past_created(
    sim: Simulation,
) -> None:
    for obj in _all_objects(sim):
        if obj["object"] != "coupon":  # a coupon's id is its code
            assert ID_PATTERN.match(obj["id"]), obj["id"]
        assert isinstance(obj["object"], str)
        assert obj.get("livemode", False) is False  # subscription items have no livemode
        if "created" in obj:
            assert day_start(sim.start) <= obj["created"] <= sim.now


def test_ids_are_unique_across_all_objects(sim: Simulation) -> None:
    ids = [o["id"] for o in _all_objects(sim)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("resource", "sample"),
    [
        ("customer", lambda s: next(iter(s.customers.values()))),
        ("product", lambda s: next(iter(s.products.values()))),
        ("price", lambda s: next(iter(s.prices.values()))),
        ("subscription", lambda s: next(iter(s.subscriptions.values()))),
        ("subscription_item", lambda s: next(iter(s.subscription_items.values()))[0]),
        ("invoice", lambda s: next(iter(s.invoices.values()))),
        ("line_item", lambda s: next(iter(s.invoice_lines.values()))[0]),
        ("charge", lambda s: next(iter(s.charges.values()))),
    ],
)
def test_field_names_are_those_of_the_current_api_version(
    sim: Simulation, resource: str, sample: Any
) -> None:
    reference = json.loads(FIXTURES.read_text())["resources"][resource]
    assert set(sample(sim)) <= set(reference) | {"id", "object"}


def test_subscriptions_go_through_every_skeleton_state(sim: Simulation) -> None:
    subs = list(sim.subscriptions.values())
    statuses = Counter(s["status"] for s in subs)
    reasons = Counter(
        s["cancellation_details"]["reason"] for s in subs if s["status"] == "canceled"
    )
    assert {"active", "trialing", "past_due", "canceled"} <= set(statuses)
    assert {"payment_failed", "cancellation_requested"} <= set(reasons)
    for sub in subs:
        if sub["status"] == "canceled":
            assert sub["ended_at"] == sub["canceled_at"] is not None
    assert any(s["trial_start"] is not None and s["status"] == "active" for s in subs)


def test_team_plans_are_per_seat_and_items_carry_their_billing_period(sim: Simulation) -> None:
    items = [i for items in sim.subscription_items.values() for i in items]
    assert max(i["quantity"] or 0 for i in items) > 1
    for item in items:
        assert item["current_period_start"] < item["current_period_end"]
        metered = item["price"]["recurring"]["usage_type"] == "metered"
        assert (item["quantity"] is None) == metered


def test_charges_fail_with_realistic_codes_outcomes_brands_and_countries(sim: Simulation) -> None:
    charges = list(sim.charges.values())
    failed = [c for c in charges if c["status"] == "failed"]
    assert 0.02 < len(failed) / len(charges) < 0.15
    assert {c["failure_code"] for c in failed} <= {
        "card_declined",
        "insufficient_funds",
        "expired_card",
        "incorrect_cvc",
        "processing_error",
    }
    assert {c["outcome"]["type"] for c in failed} <= {"issuer_declined", "blocked"}
    assert {c["outcome"]["type"] for c in charges if c["paid"]} == {"authorized"}
    cards = [c["payment_method_details"]["card"] for c in charges]
    assert {"visa", "mastercard", "amex"} == {card["brand"] for card in cards}
    assert len({card["country"] for card in cards}) >= 5


def test_a_dunning_retry_reuses_the_invoices_payment_intent(sim: Simulation) -> None:
    by_intent = Counter(c["payment_intent"] for c in sim.charges.values())
    retried = [pi for pi, n in by_intent.items() if n > 1]
    assert retried
    retried_invoices = [i for i in sim.invoices.values() if i["attempt_count"] > 1]
    assert retried_invoices
    assert any(i["status"] == "open" and i["attempt_count"] >= 1 for i in sim.invoices.values())


def test_invoices_point_at_their_subscription_and_add_up(sim: Simulation) -> None:
    for invoice in sim.invoices.values():
        subscription = invoice["parent"]["subscription_details"]["subscription"]
        assert subscription in sim.subscriptions
        lines = sim.invoice_lines[invoice["id"]]
        off = sum(d["amount"] for d in invoice["total_discount_amounts"])
        assert invoice["subtotal"] == sum(line["amount"] for line in lines)
        assert invoice["total"] == invoice["subtotal"] - off
        assert invoice["billing_reason"] in {
            "subscription_create",
            "subscription_cycle",
            "subscription_update",
        }
        assert (invoice["amount_paid"] == invoice["amount_due"]) == (invoice["status"] == "paid")


def test_the_demo_preset_has_about_a_thousand_customers_over_two_years() -> None:
    demo = simulate(1, dt.date(2025, 1, 31), "demo")
    deleted = sum(1 for d in demo.deleted.values() if d.object["object"] == "customer")
    assert 950 <= len(demo.customers) + deleted <= 1_050  # signups arrive as a Poisson process
    assert demo.start == dt.date(2023, 1, 31)
    assert any(len(items) > 10 for items in demo.subscription_items.values())


def test_an_unknown_preset_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="demo"):
        simulate(1, dt.date(2025, 6, 30), "huge")
