"""Ground truth: Stripe's MRR definition, from the simulator's own bookkeeping."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from typing import Any

import pytest
import stripe

from sandbox.cli import truth_json
from sandbox.objects.clock import day_start
from sandbox.sim import Simulation, truth
from sandbox.truth.ledger import SubscriptionState, TruthItem, TruthLedger, monthly_amount
from sandbox.truth.report import truth_report

DAY = dt.date(2025, 3, 1)
MONTHS = {"week": Fraction(12, 52), "month": Fraction(1), "year": Fraction(12)}


@pytest.mark.parametrize(
    ("item", "expected_minor"),
    [
        (TruthItem(10_000, 1, "month", 1), Fraction(10_000)),
        (TruthItem(60_000, 1, "year", 1), Fraction(5_000)),
        (TruthItem(1_500, 4, "month", 3), Fraction(2_000)),
        (TruthItem(120_000, 1, "year", 2), Fraction(5_000)),
        (TruthItem(1_200, 1, "week", 1), Fraction(5_200)),
        (TruthItem(120, 1, "day", 1), Fraction(3_650)),
        (TruthItem(9_999, 3, "month", 1, usage_type="metered"), Fraction(0)),
    ],
)
def test_items_are_normalised_to_a_month_like_stripe(
    item: TruthItem, expected_minor: Fraction
) -> None:
    assert monthly_amount(item) == expected_minor


def _ledger(*subs: tuple[str, str, TruthItem]) -> TruthLedger:
    ledger = TruthLedger()
    for n, (status, currency, item) in enumerate(subs):
        ledger.record(
            f"sub_{n}", f"cus_{n}", day_start(DAY), SubscriptionState(status, currency, (item,))
        )
    return ledger


def test_the_spec_example_gives_12500_dollars_of_mrr() -> None:
    monthly = [("active", "usd", TruthItem(10_000, 1, "month", 1))] * 100
    annual = [("active", "usd", TruthItem(60_000, 1, "year", 1))] * 50
    report = truth_report(
        _ledger(*monthly, *annual),
        DAY,
        first_day=DAY,
        last_day=DAY,
        currencies=("usd",),
        minor_units={"usd": 100},
    )
    assert report["as_of"] == "2025-03-01"
    assert report["mrr_by_currency"] == report["list_mrr_by_currency"] == {"usd": 12_500.0}
    assert report["active_subscriptions"] == 150


def test_only_active_and_past_due_count_and_jpy_is_zero_decimal() -> None:
    ledger = _ledger(
        ("active", "jpy", TruthItem(4_400, 1, "month", 1)),
        ("past_due", "jpy", TruthItem(1_000, 2, "month", 1)),
        ("trialing", "jpy", TruthItem(9_000, 1, "month", 1)),
        ("canceled", "usd", TruthItem(9_000, 1, "month", 1)),
        ("unpaid", "usd", TruthItem(9_000, 1, "month", 1)),
        ("incomplete", "usd", TruthItem(9_000, 1, "month", 1)),
    )
    report = truth_report(
        ledger,
        DAY,
        first_day=DAY,
        last_day=DAY,
        currencies=("jpy", "usd"),
        minor_units={"jpy": 1, "usd": 100},
    )
    assert report["mrr_by_currency"] == {"jpy": 6_400.0, "usd": 0.0}
    assert report["active_subscriptions"] == 2


def test_a_later_change_on_the_same_day_replaces_the_days_state() -> None:
    ledger = TruthLedger()
    item = (TruthItem(5_000, 1, "month", 1),)
    yesterday = DAY - dt.timedelta(days=1)
    for at, status in (
        (day_start(yesterday) + 5, "active"),
        (day_start(DAY) + 10, "past_due"),
        (day_start(DAY) + 20, "canceled"),
    ):
        ledger.record("sub_1", "cus_1", at, SubscriptionState(status, "usd", item))
    assert [s.status for s in ledger.histories["sub_1"].states] == ["active", "canceled"]
    bounds = {"first_day": yesterday, "last_day": DAY, "currencies": ("usd",)}
    before = truth_report(ledger, yesterday, **bounds, minor_units={"usd": 100})
    after = truth_report(ledger, DAY, **bounds, minor_units={"usd": 100})
    assert before["mrr_by_currency"] == {"usd": 50.0}
    assert after["active_subscriptions"] == 0


def test_truth_on_until_equals_the_served_active_subscriptions(
    sim: Simulation, client: stripe.StripeClient
) -> None:
    expected: dict[str, int] = {"usd": 0, "eur": 0}
    count = 0
    subs = client.v1.subscriptions.list(params={"status": "all", "limit": 100})
    for sub in subs.auto_paging_iter():
        if sub.status not in ("active", "past_due"):
            continue
        count += 1
        items = client.v1.subscription_items.list(params={"subscription": sub.id, "limit": 100})
        for item in items.auto_paging_iter():
            recurring = item.price.recurring
            assert recurring is not None and item.price.billing_scheme == "per_unit"
            if recurring.usage_type == "metered":
                continue
            months = MONTHS[recurring.interval] * recurring.interval_count
            expected[sub.currency] += Fraction(item.price.unit_amount * item.quantity) / months
    report = truth(sim, sim.until)
    assert report["active_subscriptions"] == count
    assert report["mrr_by_currency"] == {
        c: round(float(v / 100), 2) for c, v in sorted(expected.items())
    }


def test_truth_is_known_for_every_simulated_day_and_refused_outside(sim: Simulation) -> None:
    assert truth(sim, sim.start)["active_subscriptions"] == 0
    middle = truth(sim, sim.start + dt.timedelta(days=90))
    assert 0 < middle["active_subscriptions"] < truth(sim, sim.until)["active_subscriptions"]
    with pytest.raises(ValueError, match="outside"):
        truth(sim, sim.until + dt.timedelta(days=1))
    with pytest.raises(ValueError, match="outside"):
        truth(sim, sim.start - dt.timedelta(days=1))


def test_churn_events_record_their_cause_for_every_paying_subscription_that_ended(
    sim: Simulation,
) -> None:
    causes = {event.cause for event in sim.ledger.churn_events}
    assert {"payment_failed", "voluntary"} <= causes <= {"payment_failed", "voluntary", "disputed"}
    ended = {
        s["id"]
        for s in sim.subscriptions.values()
        if s["status"] == "canceled" and s["id"] in {h.subscription for h in _paid(sim)}
    }
    assert {event.subscription for event in sim.ledger.churn_events} == ended


def _paid(sim: Simulation) -> list[Any]:
    """Histories of subscriptions that were in MRR at some point."""
    return [
        h
        for h in sim.ledger.histories.values()
        if any(s.status in ("active", "past_due") for s in h.states)
    ]


def test_truth_json_is_the_report_as_text(sim: Simulation) -> None:
    text = truth_json(sim.seed, sim.until, sim.until, "small")
    assert json.loads(text) == json.loads(json.dumps(truth(sim, sim.until)))
