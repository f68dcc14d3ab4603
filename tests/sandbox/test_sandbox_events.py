"""Events, webhook delivery, the live clock and incidents."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest

from sandbox.objects.clock import day_end, day_start, within_day
from sandbox.sim import Simulation, simulate, truth
from sandbox.sim.incidents import Incident, parse_incident

UNTIL = dt.date(2026, 11, 20)
HOUR = 3_600


@pytest.fixture(scope="module")
def demo() -> Simulation:
    return simulate(5, UNTIL, "demo")


def _of(sim: Simulation, kind: str) -> list[dict[str, Any]]:
    return [e for e in sim.events.values() if e["type"] == kind]


def test_every_kind_of_state_change_emits_its_stripe_event(demo: Simulation) -> None:
    kinds = {e["type"] for e in demo.events.values()}
    assert {
        "customer.created", "customer.subscription.created", "customer.subscription.updated",
        "customer.subscription.deleted", "customer.subscription.trial_will_end",
        "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed",
        "invoice.payment_succeeded", "invoice.marked_uncollectible", "charge.succeeded",
        "charge.failed", "charge.refunded", "refund.created", "charge.dispute.created",
        "coupon.created",
    } <= kinds  # fmt: skip
    event = next(iter(demo.events.values()))
    assert event["api_version"] == "2026-10-28.endive" and event["livemode"] is False
    assert event["request"] == {"id": None, "idempotency_key": None}


def test_events_are_kept_from_forty_days_before_the_end(demo: Simulation) -> None:
    oldest = min(e["created"] for e in demo.events.values())
    assert day_end(UNTIL) - 40 * 86_400 <= oldest < day_end(UNTIL) - 39 * 86_400


def test_late_work_stays_in_its_day_without_piling_up_on_its_last_second(
    demo: Simulation,
) -> None:
    assert within_day(day_start(UNTIL) + HOUR, 600) == day_start(UNTIL) + HOUR + 600
    late = day_end(UNTIL) - 100  # 100 s left: a delay of 3,000 s folds back into them
    assert [within_day(late, d) for d in (100, 101, 3_000)] == [late + 100, late + 1, late + 100]
    assert within_day(day_end(UNTIL), 60) == day_end(UNTIL)
    per_second: dict[int, int] = {}
    for event in demo.events.values():
        per_second[event["created"]] = per_second.get(event["created"], 0) + 1
    last_seconds = [n for at, n in per_second.items() if at % 86_400 == 86_399]
    busiest = sorted(per_second.values())[-len(last_seconds) :]
    assert sum(last_seconds) < sum(busiest) / 2  # the day's last second is not the busiest


def test_an_update_carries_exactly_the_fields_that_changed_with_their_old_values(
    demo: Simulation,
) -> None:
    updates = _of(demo, "customer.subscription.updated")
    assert updates
    for event in updates:
        previous, now = event["data"]["previous_attributes"], event["data"]["object"]
        assert previous
        assert all(previous[key] != now[key] for key in previous)
    changed = {key for e in updates for key in e["data"]["previous_attributes"]}
    assert {"status", "items", "latest_invoice", "cancel_at_period_end"} <= changed


def test_a_status_change_names_the_old_status(demo: Simulation) -> None:
    event = next(
        e
        for e in _of(demo, "customer.subscription.updated")
        if e["data"]["previous_attributes"].get("status") == "past_due"
    )
    assert event["data"]["object"]["status"] in {"active", "unpaid"}


def test_an_events_snapshot_does_not_change_when_its_object_does(demo: Simulation) -> None:
    created = _of(demo, "invoice.created")
    assert all(e["data"]["object"]["status"] == "draft" for e in created)
    ended = {e["data"]["object"]["id"] for e in _of(demo, "customer.subscription.deleted")}
    early = [
        e for e in _of(demo, "customer.subscription.created") if e["data"]["object"]["id"] in ended
    ]
    assert early and all(e["data"]["object"]["status"] != "canceled" for e in early)


def test_the_same_seed_gives_the_same_events(demo: Simulation) -> None:
    again = simulate(5, UNTIL, "demo")
    assert json.dumps(list(again.events.values())) == json.dumps(list(demo.events.values()))


def test_an_outage_keeps_events_pending_until_the_endpoint_recovers() -> None:
    start = day_start(dt.date(2025, 6, 20)) + 12 * HOUR
    outage = parse_incident("webhook_outage:endpoint=1,start=2025-06-20T12:00,hours=6")
    assert outage.start == start
    sim = simulate(42, dt.date(2025, 6, 20), "small", now=start + 3 * HOUR, incidents=[outage])
    pending = [e for e in sim.events.values() if e["pending_webhooks"] > 0]
    assert pending and all(e["created"] >= start for e in pending)
    assert not any(sim.delivery_success(e["id"]) for e in pending)
    revision = sim.revision
    sim.advance(start + 12 * HOUR)
    assert all(e["pending_webhooks"] == 0 for e in pending)
    assert all(sim.delivery_success(e["id"]) for e in pending)
    assert sim.revision > revision


def test_events_whose_retries_ran_out_are_never_delivered() -> None:
    outage = Incident(
        "webhook_outage", day_end(dt.date(2025, 6, 10)), day_end(dt.date(2025, 6, 20))
    )
    sim = simulate(42, dt.date(2025, 6, 30), "small", incidents=[outage])
    lost = truth(sim, dt.date(2025, 6, 30))["undelivered_webhooks"]
    assert lost
    event = sim.events[lost[0]["event"]]
    assert event["pending_webhooks"] == 0 and not sim.delivery_success(event["id"])


def test_advancing_the_clock_adds_charges_and_events_and_bumps_the_revision() -> None:
    sim = simulate(42, dt.date(2025, 6, 30), "small", now=day_end(dt.date(2025, 6, 30)) - 86_399)
    charges, events, revision = len(sim.charges), len(sim.events), sim.revision
    sim.advance(sim.now + 5 * 86_400)
    assert len(sim.charges) > charges and len(sim.events) > events
    assert sim.revision > revision
    assert truth(sim, dt.date(2025, 7, 4))["active_subscriptions"] > 0


def test_a_live_run_serves_what_a_full_run_serves_up_to_its_clock() -> None:
    until = dt.date(2025, 6, 30)
    stopped = simulate(42, until, "small", now=day_end(until) - 10 * 86_400)
    stopped.advance(day_end(until))
    full = simulate(42, until, "small")
    assert list(stopped.charges) == list(full.charges)
    assert stopped.subscriptions == full.subscriptions


def test_past_the_last_day_the_live_clock_never_holds_an_object_before_its_time() -> None:
    sim = simulate(5, dt.date(2025, 3, 31), "small")
    later = []
    for _ in range(24 * 10):
        sim.advance(sim.now + HOUR)
        for name in ("customers", "subscriptions", "invoices", "charges", "events"):
            later += [o for o in sim.resource(name).values() if o["created"] > sim.now]
    assert later == []


def test_a_live_clock_in_uneven_steps_gives_what_one_step_gives() -> None:
    until, steps = dt.date(2025, 3, 31), random.Random(3)
    stepped, direct = simulate(5, until, "small"), simulate(5, until, "small")
    end = stepped.now + 10 * 86_400
    while stepped.now < end:
        stepped.advance(min(end, stepped.now + steps.randint(1, 2 * HOUR)))
    direct.advance(end)
    for name in ("customers", "subscriptions", "invoices", "charges", "events"):
        assert stepped.resource(name) == direct.resource(name), name


def test_a_decline_spike_raises_that_brand_and_countrys_failure_rate_in_its_window() -> None:
    spike = parse_incident("decline_spike:brand=visa,start=2025-04-01T00:00,hours=720,rate=0.6")
    until = dt.date(2025, 6, 30)
    calm, stormy = simulate(42, until, "small"), simulate(42, until, "small", incidents=[spike])

    def failure_rate(sim: Simulation) -> float:
        hit = [
            c["status"] == "failed"
            for c in sim.charges.values()
            if spike.covers(c["created"]) and c["payment_method_details"]["card"]["brand"] == "visa"
        ]
        return sum(hit) / len(hit)

    assert failure_rate(calm) < 0.15 < 0.4 < failure_rate(stormy)


def _first_attempts_in(sim: Simulation, spike: Incident) -> list[dict[str, Any]]:
    """First attempts on a payment intent, on a card the spike covers, in its window (a retry
    keeps the decline kind of its first failure, which may predate the spike)."""
    seen: set[str] = set()
    found = []
    for charge in sim.charges.values():
        first = charge["payment_intent"] not in seen
        seen.add(charge["payment_intent"])
        card = charge["payment_method_details"]["card"]
        if (
            first
            and spike.covers(charge["created"])
            and spike.matches_card(card["brand"], card["country"])
        ):
            found.append(charge)
    return found


def _failed_first_attempts_in(sim: Simulation, spike: Incident) -> list[dict[str, Any]]:
    return [c for c in _first_attempts_in(sim, spike) if c["status"] == "failed"]


def test_a_decline_spike_with_a_code_fails_the_same_charges_all_with_that_code() -> None:
    window = "brand=visa,start=2025-04-01T00:00,hours=720,rate=0.6"
    drawn = parse_incident(f"decline_spike:{window}")
    named = parse_incident(f"decline_spike:{window},code=expired_card")
    until = dt.date(2025, 6, 30)
    plain = simulate(42, until, "small", incidents=[drawn])
    coded = simulate(42, until, "small", incidents=[named])
    statuses = [(c["id"], c["status"]) for c in coded.charges.values()]
    assert statuses == [(c["id"], c["status"]) for c in plain.charges.values()]
    assert len({c["outcome"]["reason"] for c in _failed_first_attempts_in(plain, drawn)}) > 3
    spiked = _failed_first_attempts_in(coded, named)
    assert len(spiked) >= 10
    expected = ("expired_card", "Your card has expired.", "expired_card", "54", "issuer_declined")
    assert {
        (c["failure_code"], c["failure_message"], c["outcome"]["reason"],
         c["outcome"]["network_decline_code"], c["outcome"]["type"])
        for c in spiked
    } == {expected}  # fmt: skip


def test_a_coded_spike_after_the_last_day_plays_on_the_live_clock() -> None:
    spike = parse_incident(
        "decline_spike:brand=visa,start=2025-07-01T00:00,hours=240,rate=1,code=do_not_honor"
    )
    sim = simulate(42, dt.date(2025, 6, 30), "small", incidents=[spike])
    assert not [c for c in sim.charges.values() if c["created"] >= spike.start]
    sim.advance(spike.end)
    attempts = _first_attempts_in(sim, spike)  # rate 1: every one of them fails
    assert len(attempts) >= 5
    assert {(c["status"], c["outcome"]["reason"]) for c in attempts} == {("failed", "do_not_honor")}


def test_a_spikes_code_and_country_are_normalised_and_kept() -> None:
    spike = parse_incident(
        "decline_spike:brand=Visa,country=br,code=DO_NOT_HONOR,start=2025-01-01T00:00,hours=2,"
        "rate=0.6"
    )
    start = day_start(dt.date(2025, 1, 1))
    assert spike == Incident("decline_spike", start, start + 2 * HOUR, 0.6, "visa", "BR",
                             code="do_not_honor")  # fmt: skip
    assert spike.decline is not None and spike.decline.network_decline_code == "05"


def test_an_unknown_decline_code_is_one_error_listing_the_known_ones() -> None:
    text = "decline_spike:start=2025-01-01T00:00,hours=2,rate=0.5,code=lost_card"
    with pytest.raises(ValueError) as raised:
        parse_incident(text)
    assert str(raised.value) == (
        f"incident {text!r}: unknown decline code 'lost_card' (known: generic_decline, "
        "do_not_honor, insufficient_funds, expired_card, incorrect_cvc, processing_error, "
        "highest_risk_level)"
    )
    with pytest.raises(ValueError, match="unknown decline code 'lost_card'"):
        Incident("decline_spike", 0, HOUR, 0.5, code="lost_card")
    with pytest.raises(ValueError, match="code is for decline_spike, not webhook_outage"):
        Incident("webhook_outage", 0, HOUR, code="do_not_honor")


def test_a_dispute_wave_disputes_charges_in_its_window() -> None:
    wave = parse_incident("dispute_wave:start=2025-05-01T00:00,hours=240,rate=0.5")
    sim = simulate(42, dt.date(2025, 6, 30), "small", incidents=[wave])
    inside = [d for d in sim.disputes.values() if wave.start <= d["created"] < wave.end + 6 * HOUR]
    assert len(inside) >= 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("meteor:start=2025-01-01T00:00,hours=1", "unknown kind 'meteor'"),
        ("decline_spike:brand=visa,hours=2,rate=0.5", "missing start"),
        ("decline_spike:start=2025-01-01T00:00,hours=2,rate=2", "rate between 0 and 1"),
        ("webhook_outage:endpoint=1,start=tomorrow,hours=2", "Invalid isoformat"),
        (
            "dispute_wave:start=2025-01-01T00:00,hours=2,rate=0.1,colour=red",
            "bad part 'colour=red'",
        ),
        (
            "webhook_outage:endpoint=1,start=2025-01-01T00:00,hours=2,code=do_not_honor",
            "bad part 'code=do_not_honor'",
        ),
    ],
)
def test_a_bad_incident_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_incident(text)
