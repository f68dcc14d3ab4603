"""Each bundled scenario file plays to the exact truth its header promises."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import pytest

from sandbox.scenario import EXAMPLES, example, load_scenario, scenario_ids, simulate_scenario
from sandbox.sim import Simulation, truth


@cache
def _played(name: str) -> tuple[Simulation, dict[str, str]]:
    sim = simulate_scenario(load_scenario(example(name)))
    return sim, scenario_ids(sim)


def _truth(name: str, day: str, **rules: bool) -> dict[str, Any]:
    sim, _ = _played(name)
    return truth(sim, dt.date.fromisoformat(day), **rules)


def _mrr_of(name: str, day: str, **rules: bool) -> dict[str, float]:
    """MRR per subscription, keyed by the file's names."""
    _, ids = _played(name)
    names = {v: k for k, v in ids.items()}
    by_id = _truth(name, day, **rules)["mrr_by_subscription"]
    return {names[sub]: amount for sub, amount in by_id.items()}


def _churns(name: str, **rules: bool) -> list[tuple[str, str, str, float]]:
    sim, ids = _played(name)
    names = {v: k for k, v in ids.items()}
    report = truth(sim, sim.until, **rules)
    return [
        (names[c["subscription"]], c["date"], c["cause"], c["mrr_lost"])
        for c in report["churn_events"]
    ]


def _invoices(name: str, subscription: str) -> list[tuple[str, int, str]]:
    sim, ids = _played(name)
    return [
        (i["billing_reason"], i["total"], i["status"])
        for i in sim.invoices.values()
        if i["parent"]["subscription_details"]["subscription"] == ids[subscription]
    ]


def test_every_bundled_scenario_loads_and_plays() -> None:
    names = sorted(path.stem for path in EXAMPLES.glob("*.toml"))
    assert names == [
        "cancellations", "coupons", "currencies", "decline_spike_live", "dunning",
        "normalisation", "payment_health", "payments", "plan_changes", "spec_example", "trials",
    ]  # fmt: skip
    for name in names:
        sim, _ = _played(name)
        assert sim.ledger.histories


def test_the_spec_example_gives_exactly_12500_dollars() -> None:
    report = _truth("spec_example", "2025-03-31")
    assert report["mrr_by_currency"] == {"usd": 12500.00}
    assert report["list_mrr_by_currency"] == {"usd": 12500.00}
    assert report["active_subscriptions"] == 150
    assert sorted(set(report["mrr_by_customer"].values())) == [50.00, 100.00]
    assert report["churn_events"] == []


def test_a_trial_is_out_of_mrr_until_it_converts_on_its_last_day() -> None:
    assert _truth("trials", "2025-01-14")["mrr_by_currency"] == {"usd": 0.00}
    assert _truth("trials", "2025-01-14")["active_subscriptions"] == 0
    assert _mrr_of("trials", "2025-01-15") == {"alice_basic": 50.00}
    assert _mrr_of("trials", "2025-02-01") == {"alice_basic": 50.00, "bob_basic": 50.00}
    assert _churns("trials") == []
    assert _invoices("trials", "bob_basic") == [
        ("subscription_create", 0, "paid"),
        ("subscription_update", 5000, "paid"),
        ("subscription_cycle", 5000, "paid"),
    ]


def test_past_due_counts_and_exhausted_dunning_churns_with_its_cause() -> None:
    assert _mrr_of("dunning", "2025-02-07") == dict.fromkeys(
        ("dave_pro", "erin_pro", "frank_pro", "grace_pro"), 100.00
    )
    assert _truth("dunning", "2025-02-19")["mrr_by_currency"] == {"usd": 400.00}
    assert _mrr_of("dunning", "2025-02-20") == {"dave_pro": 100.00, "grace_pro": 100.00}
    assert _churns("dunning") == [
        ("erin_pro", "2025-02-20", "payment_failed", 100.00),
        ("frank_pro", "2025-02-20", "unpaid", 100.00),
    ]
    assert _invoices("dunning", "erin_pro")[-1] == ("subscription_cycle", 10000, "uncollectible")
    assert _invoices("dunning", "frank_pro")[-1] == ("subscription_cycle", 10000, "open")


def test_the_past_due_span_shows_in_the_subscription_status_history() -> None:
    sim, ids = _played("dunning")
    history = sim.ledger.histories[ids["dave_pro"]]
    spans = [(dt.date.fromordinal(d).isoformat(), s.status) for d, s in zip(
        history.days, history.states, strict=True)]  # fmt: skip
    assert spans == [("2025-01-05", "active"), ("2025-02-05", "past_due"), ("2025-02-13", "active")]
    grace = sim.ledger.histories[ids["grace_pro"]]
    assert [dt.date.fromordinal(d).isoformat() for d in grace.days] == [
        "2025-01-05", "2025-02-05", "2025-02-10",
    ]  # fmt: skip


def test_failed_charges_carry_the_scripted_decline_code() -> None:
    sim, ids = _played("dunning")
    failed = [c for c in sim.charges.values() if c["customer"] == ids["erin"] and not c["paid"]]
    assert [c["failure_code"] for c in failed] == ["expired_card"] * 4
    assert {c["payment_method_details"]["card"]["brand"] for c in failed} == {"mastercard"}


def test_intervals_quantities_and_tiers_normalise_and_metered_items_are_left_out() -> None:
    assert _mrr_of("normalisation", "2025-02-15") == {
        "weekly_sub": 43.33, "daily_sub": 30.42, "quarterly_sub": 90.00,
        "biennial_sub": 100.00, "seats_sub": 105.00, "graduated_sub": 280.00,
        "volume_sub": 48.00, "api_sub": 20.00,
    }  # fmt: skip
    assert _truth("normalisation", "2025-02-15")["mrr_by_currency"] == {"usd": 716.75}
    assert _invoices("normalisation", "api_sub")[:2] == [
        ("subscription_create", 2000, "paid"),
        ("subscription_cycle", 52000, "paid"),
    ]


@pytest.mark.parametrize(
    ("day", "rules", "expected"),
    [
        ("2025-01-10", {}, {"forever_20": 80.0, "repeating_25": 75.0, "once_50": 100.0,
                            "amount_30": 70.0, "yearly_120": 90.0, "later_10": 100.0}),
        ("2025-02-09", {"subtract_once": True}, {"once_50": 50.0}),
        ("2025-02-10", {"subtract_once": True}, {"once_50": 100.0}),
        ("2025-02-14", {}, {"later_10": 100.0}),
        ("2025-02-15", {}, {"later_10": 90.0}),
        ("2025-03-09", {}, {"repeating_25": 75.0}),
        ("2025-03-09", {"subtract_repeating": False}, {"repeating_25": 100.0}),
        ("2025-03-10", {}, {"repeating_25": 100.0}),
    ],
)  # fmt: skip
def test_each_kind_of_coupon_lowers_net_mrr_as_the_conventions_say(
    day: str, rules: dict[str, bool], expected: dict[str, float]
) -> None:
    mrr = _mrr_of("coupons", day, **rules)
    assert {name: mrr[name] for name in expected} == expected
    assert _truth("coupons", day, **rules)["list_mrr_by_currency"] == {"usd": 600.00}


def test_coupons_show_on_the_invoices_they_discount() -> None:
    assert [total for _, total, _ in _invoices("coupons", "once_50")] == [5000, 10000, 10000, 10000]
    assert [total for _, total, _ in _invoices("coupons", "repeating_25")] == [
        7500, 7500, 10000, 10000,
    ]  # fmt: skip
    assert [total for _, total, _ in _invoices("coupons", "later_10")] == [
        10000, 10000, 9000, 9000,
    ]  # fmt: skip
    assert _invoices("coupons", "yearly_120") == [("subscription_create", 108000, "paid")]


def test_cancellation_now_and_at_period_end_churn_on_the_right_day() -> None:
    assert _truth("cancellations", "2025-02-14")["mrr_by_currency"] == {"usd": 200.00}
    assert _truth("cancellations", "2025-02-15")["mrr_by_currency"] == {"usd": 0.00}
    assert _mrr_of("cancellations", "2025-03-04", churn_at_period_end=True) == {"iris_pro": 100.0}
    assert _mrr_of("cancellations", "2025-03-05", churn_at_period_end=True) == {}
    assert _churns("cancellations") == [
        ("henry_pro", "2025-02-15", "voluntary", 100.00),
        ("iris_pro", "2025-02-15", "voluntary", 100.00),
    ]
    assert _churns("cancellations", churn_at_period_end=True)[1] == (
        "iris_pro", "2025-03-05", "voluntary", 100.00,
    )  # fmt: skip


def test_a_returning_customer_is_a_reactivation_on_the_day_they_pay_again() -> None:
    sim, ids = _played("cancellations")
    report = truth(sim, dt.date(2025, 4, 30))
    assert report["reactivations"] == [
        {"customer": ids["henry"], "subscription": ids["henry_again"], "date": "2025-04-10"}
    ]
    assert _mrr_of("cancellations", "2025-04-10") == {"henry_again": 100.00}


def test_upgrades_and_downgrades_mid_month_change_mrr_that_day_with_their_prorations() -> None:
    assert _mrr_of("plan_changes", "2025-01-15") == {
        "jack_sub": 50.0, "kate_sub": 100.0, "leo_sub": 50.0,
    }  # fmt: skip
    assert _mrr_of("plan_changes", "2025-01-16") == {
        "jack_sub": 100.0, "kate_sub": 50.0, "leo_sub": 50.0,
    }  # fmt: skip
    assert _mrr_of("plan_changes", "2025-01-20")["leo_sub"] == 80.0
    assert _mrr_of("plan_changes", "2025-02-20")["leo_sub"] == 30.0
    assert _invoices("plan_changes", "jack_sub")[1] == ("subscription_cycle", 12580, "paid")
    assert _invoices("plan_changes", "leo_sub")[1] == ("subscription_update", 1162, "paid")
    sim, ids = _played("plan_changes")
    jack_lines = sim.invoice_lines[sim.subscriptions[ids["jack_sub"]]["latest_invoice"]]
    assert jack_lines[0]["amount"] == 10000


def test_a_change_without_proration_is_listed_as_unobservable() -> None:
    sim, ids = _played("plan_changes")
    report = truth(sim, sim.until)
    assert report["unobservable_changes"] == [
        {"subscription": ids["kate_sub"], "customer": ids["kate"], "date": "2025-01-16",
         "kind": "change_without_proration"},
    ]  # fmt: skip


def test_currencies_stay_apart_and_yen_are_whole_units() -> None:
    sim, ids = _played("currencies")
    report = _truth("currencies", "2025-02-15")
    assert report["mrr_by_currency"] == {"eur": 90.0, "gbp": 80.0, "jpy": 55000.0, "usd": 120.0}
    assert report["active_subscriptions"] == 6
    assert report["mrr_by_customer"][ids["mia"]] == 120.00
    assert len(report["mrr_by_customer"]) == 5
    assert _invoices("currencies", "pat_pro")[0] == ("subscription_create", 45000, "paid")
    assert _invoices("currencies", "yuki_pro") == [("subscription_create", 119500, "paid")]
    assert sim.customers[ids["noah"]]["currency"] == "eur"


def test_refunds_disputes_and_a_pause_happen_as_scripted() -> None:
    sim, ids = _played("payments")
    refunds = sorted((r["customer"], r["amount"]) for r in sim.refunds.values())
    assert refunds == [(ids["quinn"], 2500), (ids["quinn"], 10000)]
    disputes = {d["charge"]: d for d in sim.disputes.values()}
    outcomes = sorted((sim.charges[c]["customer"], d["status"]) for c, d in disputes.items())
    assert outcomes == sorted([(ids["rose"], "won"), (ids["sam"], "lost")])
    assert _churns("payments") == [("sam_pro", "2025-01-20", "disputed", 100.00)]
    assert sim.subscriptions[ids["sam_pro"]]["cancellation_details"]["reason"] == (
        "payment_disputed"
    )
    days = ("2025-01-19", "2025-01-20", "2025-02-10", "2025-03-01")
    mrr = [_truth("payments", day)["mrr_by_currency"]["usd"] for day in days]
    assert mrr == [400.0, 300.0, 200.0, 300.0]
    assert _invoices("payments", "tom_pro") == [
        ("subscription_create", 10000, "paid"),
        ("subscription_cycle", 10000, "paid"),
        ("subscription_update", 10000, "paid"),
    ]


def test_the_same_file_always_gives_the_same_ids_and_objects() -> None:
    first = simulate_scenario(load_scenario(example("coupons")))
    second = simulate_scenario(load_scenario(example("coupons")))
    assert first.invoices == second.invoices
    assert first.events.keys() == second.events.keys()


def test_stopping_early_leaves_later_operations_to_the_live_clock() -> None:
    scenario = load_scenario(example("cancellations"))
    early = simulate_scenario(scenario, until=dt.date(2025, 2, 1))
    assert truth(early, dt.date(2025, 2, 1))["mrr_by_currency"] == {"usd": 200.00}
    early.advance(int(dt.datetime(2025, 4, 30, 23, 59, 59, tzinfo=dt.UTC).timestamp()))
    full, _ = _played("cancellations")
    assert truth(early, dt.date(2025, 4, 30)) == truth(full, dt.date(2025, 4, 30))


def test_a_running_subscription_paused_is_listed_as_unobservable() -> None:
    sim = simulate_scenario(load_scenario(example("payments")))
    changes = truth(sim, dt.date(2025, 3, 31))["unobservable_changes"]
    assert [(c["date"], c["kind"]) for c in changes] == [("2025-02-10", "pause")]
