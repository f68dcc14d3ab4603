"""Each business behaviour occurs in the `demo` preset and matches the simulator's truth."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from sandbox.objects.catalog import tiered_amount
from sandbox.objects.clock import date_of
from sandbox.sim import Simulation, simulate, truth

UNTIL = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def demo() -> Simulation:
    return simulate(3, UNTIL, "demo")


def _items(sim: Simulation) -> list[dict[str, Any]]:
    return [i for items in sim.subscription_items.values() for i in items]


def _events(sim: Simulation, kind: str) -> list[dict[str, Any]]:
    return [e for e in sim.events.values() if e["type"] == kind]


def test_prices_are_weekly_monthly_quarterly_and_yearly_in_four_currencies(
    demo: Simulation,
) -> None:
    recurring = {
        (i["price"]["recurring"]["interval"], i["price"]["recurring"]["interval_count"])
        for i in _items(demo)
    }
    assert recurring == {("week", 1), ("month", 1), ("month", 3), ("year", 1)}
    assert {s["currency"] for s in demo.subscriptions.values()} == {"usd", "eur", "gbp", "jpy"}
    assert all(
        isinstance(c["amount"], int) for c in demo.charges.values() if c["currency"] == "jpy"
    )


def test_a_graduated_tiered_plan_is_valued_by_its_tiers(demo: Simulation) -> None:
    report = truth(demo, UNTIL)
    sub_id, item = next(
        (s, items[0])
        for s, items in demo.subscription_items.items()
        if items[0]["price"]["tiers_mode"] == "graduated"
        and s in report["mrr_by_subscription"]
        and len(items) == 1
        and not demo.subscriptions[s]["discounts"]
    )
    price = item["price"]
    tiers = tuple((t["up_to"], t["unit_amount"], t["flat_amount"]) for t in price["tiers"])
    amount = tiered_amount(tiers, "graduated", item["quantity"])
    months = {"week": 12 / 52, "month": 1, "year": 12}[price["recurring"]["interval"]]
    months *= price["recurring"]["interval_count"]
    minor = 1 if price["currency"] == "jpy" else 100
    assert report["mrr_by_subscription"][sub_id] == round(amount / months / minor, 2)
    volume = [i for i in _items(demo) if i["price"]["tiers_mode"] == "volume"]
    assert volume and all(i["price"]["billing_scheme"] == "tiered" for i in volume)


def test_metered_items_are_billed_in_arrears_and_left_out_of_mrr(demo: Simulation) -> None:
    metered = {i["id"] for i in _items(demo) if i["price"]["recurring"]["usage_type"] == "metered"}
    lines = [
        line
        for lines in demo.invoice_lines.values()
        for line in lines
        if line["parent"]["subscription_item_details"]["subscription_item"] in metered
    ]
    assert lines and all(line["amount"] >= 0 and "usage" in line["description"] for line in lines)
    invoice = demo.invoices[lines[0]["invoice"]]
    assert lines[0]["period"]["end"] <= invoice["created"]  # last period's usage


def test_a_forever_coupon_lowers_net_mrr_and_shows_on_invoices(demo: Simulation) -> None:
    report = truth(demo, UNTIL)
    discounted = [
        s
        for s in demo.subscriptions.values()
        if s["discounts"]
        and s["id"] in report["mrr_by_subscription"]
        and demo.discounts[s["discounts"][0]]["source"]["coupon"] == "PARTNER15"
    ]
    assert discounted
    assert report["mrr_by_currency"] != report["list_mrr_by_currency"]
    listed = truth(demo, UNTIL, subtract_repeating=False)
    for sub in discounted:
        invoice = demo.invoices[sub["latest_invoice"]]
        assert invoice["discounts"] == sub["discounts"]
        assert (
            invoice["total"] == invoice["subtotal"] - invoice["total_discount_amounts"][0]["amount"]
        )
    gross = sum(report["mrr_by_subscription"][s["id"]] for s in discounted)
    assert gross == pytest.approx(sum(listed["mrr_by_subscription"][s["id"]] for s in discounted))
    kinds = Counter(c["duration"] for c in demo.coupons.values() if c["times_redeemed"])
    assert set(kinds) == {"once", "repeating", "forever"}
    assert any(
        c["amount_off"] and c["currency"] for c in demo.coupons.values() if c["times_redeemed"]
    )


def test_upgrades_leave_proration_lines_and_silent_changes_are_unobservable(
    demo: Simulation,
) -> None:
    prorations = [
        line
        for lines in demo.invoice_lines.values()
        for line in lines
        if line["parent"]["subscription_item_details"]["proration"]
    ]
    assert any(p["amount"] < 0 for p in prorations) and any(p["amount"] > 0 for p in prorations)
    reasons = Counter(demo.invoices[p["invoice"]]["billing_reason"] for p in prorations)
    assert {"subscription_cycle", "subscription_update"} <= set(reasons)
    assert truth(demo, UNTIL)["unobservable_changes"]


def test_a_past_due_subscription_that_recovered_counted_in_mrr_every_day(demo: Simulation) -> None:
    history = next(
        h
        for h in demo.ledger.histories.values()
        if [s.status for s in h.states][:3] == ["incomplete", "active", "past_due"]
        or any(
            a.status == "past_due" and b.status == "active"
            for a, b in zip(h.states, h.states[1:], strict=False)
        )
    )
    index = next(i for i, s in enumerate(history.states) if s.status == "past_due")
    day = dt.date.fromordinal(history.days[index])
    assert history.subscription in truth(demo, day)["mrr_by_subscription"]


def test_failed_unpaid_disputed_and_voluntary_churns_appear_on_the_day_they_happened(
    demo: Simulation,
) -> None:
    churns = truth(demo, UNTIL)["churn_events"]
    assert {c["cause"] for c in churns} == {"voluntary", "payment_failed", "unpaid", "disputed"}
    failed = next(c for c in churns if c["cause"] == "payment_failed")
    sub = demo.subscriptions[failed["subscription"]]
    assert sub["cancellation_details"]["reason"] == "payment_failed"
    assert failed["date"] == date_of(sub["ended_at"]).isoformat() and failed["mrr_lost"] > 0
    unpaid = next(c for c in churns if c["cause"] == "unpaid")
    assert demo.subscriptions[unpaid["subscription"]]["status"] == "unpaid"


def test_a_cancellation_at_period_end_leaves_mrr_when_requested_by_default(
    demo: Simulation,
) -> None:
    sub = next(
        s
        for s in demo.subscriptions.values()
        if s["cancel_at_period_end"] and s["status"] == "canceled"
    )
    assert sub["canceled_at"] < sub["ended_at"] == sub["cancel_at"]
    assert sub["cancellation_details"]["reason"] == "cancellation_requested"
    between = date_of(sub["canceled_at"]) + dt.timedelta(days=1)
    assert between < date_of(sub["ended_at"])
    assert sub["id"] not in truth(demo, between)["mrr_by_subscription"]
    assert sub["id"] in truth(demo, between, churn_at_period_end=True)["mrr_by_subscription"]


def test_trials_without_a_card_pause_and_some_resume(demo: Simulation) -> None:
    paused = {e["data"]["object"]["id"] for e in _events(demo, "customer.subscription.paused")}
    resumed = {e["data"]["object"]["id"] for e in _events(demo, "customer.subscription.resumed")}
    assert paused and resumed
    sub, ordinal = next(
        (history.subscription, day)
        for history in demo.ledger.histories.values()
        for day, state in zip(history.days, history.states, strict=True)
        if state.status == "paused"
    )
    assert sub not in truth(demo, dt.date.fromordinal(ordinal))["mrr_by_subscription"]
    still = demo.subscriptions[sub]
    assert still["trial_settings"]["end_behavior"]["missing_payment_method"] == "pause"


def test_refunds_are_full_or_partial_and_change_their_charge(demo: Simulation) -> None:
    kinds = set()
    for refund in demo.refunds.values():
        charge = demo.charges[refund["charge"]]
        assert charge["amount_refunded"] >= refund["amount"]
        assert charge["refunded"] == (charge["amount_refunded"] == charge["amount"])
        kinds.add(charge["refunded"])
    assert kinds == {True, False}


def test_disputes_have_deadlines_and_move_to_won_or_lost(demo: Simulation) -> None:
    statuses = Counter(d["status"] for d in demo.disputes.values())
    assert {"won", "lost"} <= set(statuses)
    for dispute in demo.disputes.values():
        days = (dispute["evidence_details"]["due_by"] - dispute["created"]) / 86_400
        assert 7 <= days <= 21
        assert demo.charges[dispute["charge"]]["disputed"] is True
        evidence = dispute["evidence_details"]
        if dispute["status"] in ("under_review", "won"):
            assert evidence["has_evidence"] and evidence["submission_count"] == 1
        if dispute["status"] == "needs_response":
            assert not evidence["has_evidence"]


def test_churned_customers_come_back_as_reactivations(demo: Simulation) -> None:
    reactivations = truth(demo, UNTIL)["reactivations"]
    assert reactivations
    customer = reactivations[0]["customer"]
    subs = [s for s in demo.subscriptions.values() if s["customer"] == customer]
    assert len(subs) >= 2


def test_declines_are_realistic_and_likelier_for_some_countries(demo: Simulation) -> None:
    failed = [c for c in demo.charges.values() if c["status"] == "failed"]
    assert {c["outcome"]["type"] for c in failed} == {"issuer_declined", "blocked"}
    assert any(c["outcome"]["network_decline_code"] == "51" for c in failed)
    rate: dict[str, list[int]] = {}
    for charge in demo.charges.values():
        country = charge["payment_method_details"]["card"]["country"]
        rate.setdefault(country, []).append(charge["status"] == "failed")
    assert sum(rate["BR"]) / len(rate["BR"]) > 1.5 * sum(rate["DE"]) / len(rate["DE"])
