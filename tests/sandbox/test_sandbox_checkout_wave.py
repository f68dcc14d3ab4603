"""A checkout wave (an incident) makes many one-off card payments an hour by existing customers,
in the simulated past or on the live clock, without touching subscriptions, invoices or MRR;
a decline spike over it fails the matching payments as it fails renewals."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections import Counter
from typing import Any

import pytest
import stripe

from sandbox.api.listing import dumps
from sandbox.api.server import start_server
from sandbox.cli import configure_parser
from sandbox.objects.catalog import convert
from sandbox.objects.clock import day_end, day_start
from sandbox.objects.people import COUNTRIES
from sandbox.sim import simulate, truth
from sandbox.sim.checkouts import PRICE_POINTS
from sandbox.sim.incidents import Incident, parse_incident
from sandbox.sim.model import Simulation
from sandbox.truth.stats import monthly_stats
from tests.sandbox.test_sandbox_fixtures import FIELDS, FIXTURES, mismatches

HOUR = 3_600
SEED = 42
UNTIL = dt.date(2025, 6, 30)
PAST = "start=2025-06-15T10:00,hours=6"  # 15 days before the end: clear of small's outage
AFTER = "start=2025-07-01T00:00,hours=4"  # the live clock starts at 2025-06-30T23:59:59Z
CHECKOUT_AMOUNTS = {
    (currency, convert(usd, currency, "month", 1, step=True))
    for usd, _ in PRICE_POINTS
    for currency in ("usd", "eur", "gbp", "jpy")
}


def _wave_charges(sim: Simulation, calm: Simulation) -> list[dict[str, Any]]:
    """The charges ``sim`` has and ``calm`` (the same business without the wave) has not."""
    return [c for c in sim.charges.values() if c["id"] not in calm.charges]


def _per_hour(charges: list[dict[str, Any]], start: int) -> Counter[int]:
    return Counter((c["created"] - start) // HOUR for c in charges)


@pytest.fixture(scope="module")
def calm() -> Simulation:
    return simulate(SEED, UNTIL, "small")


@pytest.fixture(scope="module")
def wave() -> Incident:
    return parse_incident(f"checkout_wave:brand=visa,country=US,{PAST},per_hour=60,rate=0.02")


@pytest.fixture(scope="module")
def waved(wave: Incident) -> Simulation:
    return simulate(SEED, UNTIL, "small", incidents=[wave])


def test_the_cli_form_gives_the_dataclass_python_builds() -> None:
    text = (
        "checkout_wave:brand=Visa,country=us,start=2026-11-27T10:00,hours=48,per_hour=60,rate=0.02"
    )
    start = int(dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC).timestamp())
    built = Incident("checkout_wave", start, start + 48 * HOUR, 0.02, "visa", "US", per_hour=60)
    assert parse_incident(text) == built


def test_a_wave_left_without_brand_country_per_hour_or_rate_pays_60_an_hour_at_2_percent() -> None:
    parsed = parse_incident("checkout_wave:start=2026-11-27T10:00,hours=1.5")
    start = int(dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC).timestamp())
    assert parsed == Incident("checkout_wave", start, start + 5_400, 0.02, per_hour=60)


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ("hours=2,per_hour=0", "per_hour must be a whole number from 1 to 3600"),
        ("hours=2,per_hour=3601", "per_hour must be a whole number from 1 to 3600"),
        ("hours=2,per_hour=1.5", "per_hour must be a whole number from 1 to 3600"),
        ("hours=2,per_hour=-5", "per_hour must be a whole number from 1 to 3600"),
        ("hours=2,per_hour=many", "per_hour must be a whole number from 1 to 3600"),
        ("hours=2,rate=1.5", "hours must be positive and rate between 0 and 1"),
        ("hours=0", "hours must be positive and rate between 0 and 1"),
        ("hours=2,brand=discover", "unknown brand 'discover' (known: visa, mastercard, amex)"),
        ("hours=2,country=XX", f"unknown country 'XX' (known: {', '.join(COUNTRIES)})"),
    ],
)
def test_a_bad_wave_value_is_one_error_saying_what_is_wrong(keys: str, problem: str) -> None:
    text = f"checkout_wave:start=2026-11-27T10:00,{keys}"
    with pytest.raises(ValueError) as raised:
        parse_incident(text)
    assert str(raised.value) == f"incident {text!r}: {problem}"


def test_a_bad_wave_on_the_command_line_is_one_argparse_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser(prog="paylens sandbox")
    configure_parser(parser, UNTIL)
    text = "checkout_wave:start=2025-07-01T00:00,hours=48,per_hour=0"
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--incident", text])
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert errors == [
        f"paylens sandbox: error: argument --incident: incident {text!r}: "
        "per_hour must be a whole number from 1 to 3600"
    ]


def test_a_wave_takes_no_decline_code_and_needs_a_start_and_hours() -> None:
    with pytest.raises(ValueError, match="bad part 'code=do_not_honor'"):
        parse_incident("checkout_wave:start=2026-11-27T10:00,hours=2,code=do_not_honor")
    with pytest.raises(ValueError, match="missing hours"):
        parse_incident("checkout_wave:start=2026-11-27T10:00")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"per_hour": 0}, "per_hour must be a whole number from 1 to 3600"),
        ({"per_hour": 2.5}, "per_hour must be a whole number from 1 to 3600"),
        ({"rate": -0.1}, "rate must be between 0 and 1"),
        ({"end": 0}, "a checkout wave must end after it starts"),
        ({"brand": "Visa"}, "unknown brand 'Visa'"),
    ],
)
def test_python_gets_the_same_checks(changes: dict[str, Any], problem: str) -> None:
    fields: dict[str, Any] = {"start": 0, "end": HOUR, "rate": 0.02, "per_hour": 60, **changes}
    with pytest.raises(ValueError, match=problem):
        Incident("checkout_wave", **fields)


def test_a_past_wave_pays_per_hour_times_an_hour_one_in_each_slot(
    waved: Simulation, calm: Simulation, wave: Incident
) -> None:
    made = _wave_charges(waved, calm)
    assert len(made) == 6 * 60
    assert all(wave.covers(c["created"]) for c in made)
    assert _per_hour(made, wave.start) == dict.fromkeys(range(6), 60)
    slots = sorted((c["created"] - wave.start) // 60 for c in made)
    assert slots == list(range(360))  # evenly spaced: one a minute, at a drawn second of it


def test_each_payment_is_a_one_off_charge_by_a_matching_customer_with_its_event(
    waved: Simulation, calm: Simulation
) -> None:
    made = _wave_charges(waved, calm)
    assert len({c["payment_intent"] for c in made}) == len(made)  # a PaymentIntent each
    events = {e["data"]["object"]["id"]: e for e in waved.events.values()}
    for charge in made:
        customer = waved.customers[charge["customer"]]
        card = charge["payment_method_details"]["card"]
        assert (card["brand"], card["country"]) == ("visa", "US")
        assert charge["payment_method"] == customer["invoice_settings"]["default_payment_method"]
        assert charge["payment_intent"].startswith("pi_") and charge["description"] is None
        assert (charge["currency"], charge["amount"]) in CHECKOUT_AMOUNTS
        assert charge["currency"] == customer["currency"]
        event = events[charge["id"]]
        assert event["type"] == f"charge.{charge['status']}"
        assert event["created"] == charge["created"]
        assert event["data"]["object"] == charge
    assert len({c["customer"] for c in made}) > 10
    assert len({c["amount"] for c in made}) == len(PRICE_POINTS)


def test_a_wave_charge_has_the_fields_paylens_reads_with_stripes_types(
    waved: Simulation, calm: Simulation
) -> None:
    fixture_name, fields = FIELDS["charges"]
    fixture = json.loads(FIXTURES.read_text())["resources"][fixture_name]
    served = [json.loads(dumps(c)) for c in _wave_charges(waved, calm)]
    assert mismatches(served, fixture, fields) == []


def test_a_wave_leaves_subscriptions_invoices_and_the_truth_as_they_were(
    waved: Simulation, calm: Simulation
) -> None:
    for name in ("customers", "subscriptions", "invoices", "refunds", "disputes"):
        assert waved.resource(name) == calm.resource(name), name
    assert {i: c for i, c in waved.charges.items() if i in calm.charges} == calm.charges
    for day in (dt.date(2025, 6, 15), UNTIL):
        assert truth(waved, day) == truth(calm, day)


def test_the_stats_count_the_waves_payments(
    waved: Simulation, calm: Simulation, wave: Incident
) -> None:
    june = {r["month"]: r for r in monthly_stats(waved)}["2025-06"]
    calm_june = {r["month"]: r for r in monthly_stats(calm)}["2025-06"]
    made = _wave_charges(waved, calm)
    succeeded = sum(c["status"] == "succeeded" for c in made)
    assert june["charges"] == calm_june["charges"] + len(made)
    assert june["succeeded"] == calm_june["succeeded"] + succeeded
    assert june["payment_success_rate"] == june["succeeded"] / june["charges"]


def test_a_wave_fails_at_its_rate_with_codes_drawn_as_usual(calm: Simulation) -> None:
    shaky = parse_incident(f"checkout_wave:{PAST},per_hour=300,rate=0.3")
    made = _wave_charges(simulate(SEED, UNTIL, "small", incidents=[shaky]), calm)
    failed = [c for c in made if c["status"] == "failed"]
    assert 0.25 < len(failed) / len(made) < 0.35
    assert len({c["outcome"]["reason"] for c in failed}) >= 5
    assert {c["payment_method_details"]["card"]["brand"] for c in made} == {
        "visa", "mastercard", "amex",
    }  # fmt: skip


def test_a_wave_with_no_matching_customer_pays_nothing_and_a_stopped_clock_shows_only_the_past(
    calm: Simulation,
) -> None:
    first = day_start(calm.start)  # the first signup comes after 10:00 on the first day
    early = Incident("checkout_wave", first, first + 2 * HOUR, 0.02, per_hour=600)
    assert simulate(SEED, UNTIL, "small", incidents=[early]).charges == calm.charges
    half = parse_incident(f"checkout_wave:{PAST},per_hour=60")
    now = half.start + 90 * 60
    stopped = simulate(SEED, UNTIL, "small", now=now, incidents=[half])
    made = [c for c in stopped.charges.values() if c["created"] >= half.start]
    assert len(made) == 90 and max(c["created"] for c in made) <= now


def test_a_live_wave_stepped_unevenly_gives_what_one_step_gives() -> None:
    live = parse_incident(f"checkout_wave:{AFTER},per_hour=90")
    stepped = simulate(SEED, UNTIL, "small", incidents=[live])
    direct = simulate(SEED, UNTIL, "small", incidents=[live])
    steps = random.Random(4)
    while stepped.now < live.end:
        stepped.advance(min(live.end, stepped.now + steps.randint(1, 1_500)))
    direct.advance(live.end)
    for name in ("customers", "subscriptions", "invoices", "charges", "events"):
        assert stepped.resource(name) == direct.resource(name), name
    assert sum(c["created"] >= live.start for c in direct.charges.values()) >= 4 * 90


class _StillClock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _split(charges: list[Any], spike: Incident) -> Counter[tuple[bool, bool, str]]:
    """(in the spike's window, on a card it matches, status) -> how many."""
    counts: Counter[tuple[bool, bool, str]] = Counter()
    for charge in charges:
        card = charge.payment_method_details.card
        key = (spike.covers(charge.created), spike.matches_card(card.brand, card.country))
        counts[(*key, charge.status)] += 1
    return counts


def test_a_spike_over_a_live_wave_fails_its_cards_with_its_code_only_in_its_window() -> None:
    wave = parse_incident(f"checkout_wave:{AFTER},per_hour=180,rate=0.02")
    spike = parse_incident(
        "decline_spike:brand=visa,country=US,code=do_not_honor,start=2025-07-01T01:00,hours=2,"
        "rate=0.7"
    )
    sim = simulate(SEED, UNTIL, "small", incidents=[wave, spike])
    start, clock, speed = sim.now, _StillClock(), 600.0
    assert wave.start == start + 1 == day_end(UNTIL) + 1  # all of it on the live clock
    with start_server(sim, speed=speed, wall_clock=clock) as server:
        client = stripe.StripeClient(
            server.api_key, base_addresses={"api": server.url}, max_network_retries=0
        )

        def checkouts() -> list[Any]:  # the wave's charges (renewals have a description)
            params = {"limit": 100, "created": {"gt": start}}
            listed = client.v1.charges.list(params=params).auto_paging_iter()
            return [c for c in listed if c.description is None]

        assert checkouts() == []
        clock.now = (wave.start + 30 * 60 - start) / speed  # 00:30: half an hour of them
        early = checkouts()
        moment = server.simulated_now()
        assert len(early) == 90 and max(c.created for c in early) <= moment
        clock.now = (wave.end - start) / speed
        made = checkouts()
    assert len(made) == 4 * 180
    counts = _split(made, spike)
    inside = counts[(True, True, "failed")] + counts[(True, True, "succeeded")]
    assert inside > 40
    assert counts[(True, True, "failed")] / inside > 0.55  # the spike's 0.7
    for in_window, on_card in ((True, False), (False, True), (False, False)):
        total = counts[(in_window, on_card, "failed")] + counts[(in_window, on_card, "succeeded")]
        assert total > 40
        assert counts[(in_window, on_card, "failed")] / total < 0.08  # the wave's 0.02
    spiked = [
        c
        for c in made
        if c.status == "failed" and spike.covers(c.created)
        and spike.matches_card(c.payment_method_details.card.brand,
                               c.payment_method_details.card.country)
    ]  # fmt: skip
    assert {(c.failure_code, c.outcome.reason, c.outcome.network_decline_code) for c in spiked} == {
        ("card_declined", "do_not_honor", "05")
    }
    served = {(c.id, c.status) for c in made}
    assert served == {
        (c["id"], c["status"])
        for c in sim.charges.values()
        if c["created"] > start and c["description"] is None
    }


def test_a_spike_rate_below_the_waves_is_a_floor_not_a_cap_and_its_code_still_holds(
    calm: Simulation,
) -> None:
    failing = parse_incident(f"checkout_wave:{PAST},per_hour=120,rate=1")
    spike = parse_incident(
        "decline_spike:brand=visa,code=expired_card,start=2025-06-15T10:00,hours=6,rate=0.1"
    )
    made = _wave_charges(simulate(SEED, UNTIL, "small", incidents=[failing, spike]), calm)
    assert {c["status"] for c in made} == {"failed"}
    reasons = Counter(
        (c["payment_method_details"]["card"]["brand"] == "visa", c["outcome"]["reason"])
        for c in made
    )
    assert {reason for visa, reason in reasons if visa} == {"expired_card"}
    assert len({reason for visa, reason in reasons if not visa}) >= 5
