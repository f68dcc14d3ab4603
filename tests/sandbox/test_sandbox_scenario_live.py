"""Scenario entries after the file's last day wait for the live clock, which plays them while the
sandbox serves: their objects and events appear over HTTP once simulated time reaches them, and
never before."""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import stripe

from sandbox.api.server import SandboxServer, start_server
from sandbox.cli import configure_parser, main
from sandbox.objects.clock import day_end
from sandbox.scenario import (
    example,
    live_entries,
    live_entries_error,
    load_scenario,
    scenario_ids,
    simulate_scenario,
)
from sandbox.sim import Simulation, truth

SPEED = 600.0  # ten simulated minutes a wall second
SPIKE = example("decline_spike_live")
LIVE_OPS = """
[scenario]
name = "live_ops"
start = 2025-03-01
until = 2025-03-31

[products.pro]
name = "Pro"

[prices.pro_monthly]
product = "pro"
currency = "usd"
unit_amount = 10000
interval = "month"

[[timeline]]
at = 2025-03-05
op = "create_customer"
customer = "ann"

[[timeline]]
at = 2025-03-05
op = "subscribe"
subscription = "ann_pro"
customer = "ann"
items = [{ price = "pro_monthly" }]

[[timeline]]
at = 2025-03-10
op = "create_customer"
customer = "cat"

[[timeline]]
at = 2025-03-10
op = "subscribe"
subscription = "cat_pro"
customer = "cat"
items = [{ price = "pro_monthly" }]

[[timeline]]
at = 2025-04-01T00:02:00Z
op = "create_customer"
customer = "bob"

[[timeline]]
at = 2025-04-01T00:03:00Z
op = "subscribe"
subscription = "bob_pro"
customer = "bob"
items = [{ price = "pro_monthly" }]

[[timeline]]
at = 2025-04-01T00:04:00Z
op = "change"
subscription = "ann_pro"
quantity = 3
proration_behavior = "always_invoice"

[[timeline]]
at = 2025-04-01T00:05:00Z
op = "refund"
customer = "ann"
charge = 1

[[timeline]]
at = 2025-04-01T00:06:00Z
op = "dispute"
customer = "cat"
outcome = "won"
closes = 2025-04-01T06:00:00Z

[[timeline]]
at = 2025-04-01T00:07:00Z
op = "cancel"
subscription = "cat_pro"
"""


def _at(day: str, clock: str) -> int:
    """Unix seconds of ``day`` at ``clock`` (UTC)."""
    return int(dt.datetime.fromisoformat(f"{day}T{clock}+00:00").timestamp())


class StillClock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Served:
    """A simulation served with a live clock that the test moves to simulated moments."""

    def __init__(self, sim: Simulation) -> None:
        self.sim, self.clock, self.start = sim, StillClock(), sim.now
        self.server: SandboxServer = start_server(sim, speed=SPEED, wall_clock=self.clock)
        self.client = stripe.StripeClient(
            self.server.api_key, base_addresses={"api": self.server.url}, max_network_retries=0
        )

    def go(self, moment: int) -> None:
        """Move the wall clock to where the live clock reads ``moment`` (the next request)."""
        self.clock.now = 1_000.0 + (moment - self.start) / SPEED

    def charges(self) -> list[Any]:
        """The charges created after the file's last day, oldest first, through the SDK."""
        params = {"limit": 100, "created": {"gt": self.start}}
        return list(self.client.v1.charges.list(params=params).auto_paging_iter())[::-1]

    def events(self) -> list[tuple[str, int]]:
        """(type, created) of the events after the file's last day, over plain HTTP."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        headers = {"Authorization": f"Bearer {self.server.api_key}"}
        found: list[tuple[str, int]] = []
        base = f"/v1/events?limit=100&created[gt]={self.start}"
        query = base
        try:
            while query:
                conn.request("GET", query, headers=headers)
                page = json.loads(conn.getresponse().read())
                found.extend((e["type"], e["created"]) for e in page["data"])
                more = page["has_more"]
                query = f"{base}&starting_after={page['data'][-1]['id']}" if more else ""
        finally:
            conn.close()
        return sorted(found, key=lambda pair: pair[1])


@pytest.fixture
def spike() -> Iterator[Served]:
    served = Served(simulate_scenario(load_scenario(SPIKE)))
    yield served
    served.server.shutdown()


def _card(charge: Any) -> tuple[str, str]:
    card = charge.payment_method_details.card
    return card.brand, card.country


def test_entries_after_the_last_day_are_loaded_and_left_queued() -> None:
    scenario = load_scenario(SPIKE)
    assert [(op.where, op.at) for op in live_entries(scenario)] == [
        ("timeline[6] (fail_payments)", _at("2025-03-01", "00:15:00")),
        ("timeline[7] (recover)", _at("2025-03-01", "02:30:00")),
    ]
    sim = simulate_scenario(scenario)
    assert sim.now == day_end(dt.date(2025, 2, 28))
    assert len(sim.customers) == 100
    assert [c["status"] for c in sim.charges.values()] == ["succeeded"] * 100
    report = truth(sim, dt.date(2025, 2, 28))
    assert (report["mrr_by_currency"], report["active_subscriptions"]) == ({"usd": 5000.0}, 100)
    assert report["churn_events"] == []


def test_the_decline_spike_fails_visa_br_renewals_with_its_code_then_recovers(
    spike: Served,
) -> None:
    assert spike.charges() == []
    spike.go(_at("2025-03-01", "00:29:30"))
    early = spike.charges()
    assert early and {_card(c) for c in early} <= {("visa", "US"), ("mastercard", "BR")}
    assert {c.status for c in early} == {"succeeded"}

    spike.go(_at("2025-03-01", "01:31:00"))  # every renewal is collected within the hour
    charges = spike.charges()
    failed = [c for c in charges if c.status == "failed"]
    assert len(failed) == 40 and {_card(c) for c in failed} == {("visa", "BR")}
    assert {(c.failure_code, c.outcome.reason, c.outcome.network_decline_code,
             c.outcome.type) for c in failed} == {
        ("card_declined", "do_not_honor", "05", "issuer_declined")
    }  # fmt: skip
    assert all(_at("2025-03-01", "00:30:00") < c.created <= _at("2025-03-01", "01:30:00")
               for c in failed)  # fmt: skip
    others = [c for c in charges if _card(c) != ("visa", "BR")]
    assert len(others) == 60 and {c.status for c in others} == {"succeeded"}
    ids = scenario_ids(spike.sim)
    past_due = spike.client.v1.subscriptions.retrieve(ids["visa_br_pro_7"])
    assert past_due.status == "past_due"
    assert [t for t, _ in spike.events()].count("invoice.payment_failed") == 40

    spike.go(_at("2025-03-01", "02:29:30"))
    assert [c.id for c in spike.charges()] == [c.id for c in charges]

    spike.go(_at("2025-03-01", "02:30:30"))
    recovered = [c for c in spike.charges() if c.id not in {c.id for c in charges}]
    assert len(recovered) == 40 and {_card(c) for c in recovered} == {("visa", "BR")}
    assert {(c.status, c.created) for c in recovered} == {
        ("succeeded", _at("2025-03-01", "02:30:00"))
    }
    subscriptions = spike.client.v1.subscriptions.list(params={"limit": 100}).data
    assert len(subscriptions) == 100 and {s.status for s in subscriptions} == {"active"}


def test_every_kind_of_operation_is_played_when_its_time_comes(tmp_path: Path) -> None:
    path = tmp_path / "live_ops.toml"
    path.write_text(LIVE_OPS, encoding="utf-8")
    served = Served(simulate_scenario(load_scenario(path)))
    ids = scenario_ids(served.sim)

    def new_since(moment: str, before: list[tuple[str, int]]) -> list[tuple[str, str]]:
        served.go(_at("2025-04-01", moment))
        events = served.events()
        assert all(created <= _at("2025-04-01", moment) for _, created in events)
        fresh = events[len(before) :]
        assert events[: len(before)] == before
        before[:] = events
        clock = dt.datetime.fromtimestamp
        return sorted((t, clock(c, dt.UTC).strftime("%H:%M")) for t, c in fresh)

    seen: list[tuple[str, int]] = []
    try:
        assert new_since("00:01:30", seen) == []
        assert new_since("00:02:30", seen) == [("customer.created", "00:02")]
        bob = served.client.v1.customers.list(params={"limit": 100}).data[0]
        assert bob.metadata["scenario_name"] == "bob"
        assert bob.created == _at("2025-04-01", "00:02:00")
        assert new_since("00:03:30", seen) == [
            ("customer.subscription.created", "00:03"), ("customer.subscription.updated", "00:03"),
            ("invoice.created", "00:03"), ("invoice.finalized", "00:03"),
        ]  # fmt: skip
        assert new_since("00:04:30", seen) == [
            ("customer.subscription.updated", "00:04"), ("customer.subscription.updated", "00:04"),
            ("invoice.created", "00:04"), ("invoice.finalized", "00:04"),
        ]  # fmt: skip
        ann_pro = served.client.v1.subscriptions.retrieve(ids["ann_pro"])
        assert ann_pro["items"].data[0].quantity == 3
        refunded = [("charge.refunded", "00:05"), ("refund.created", "00:05")]
        assert new_since("00:05:30", seen) == refunded
        assert new_since("00:06:30", seen) == [("charge.dispute.created", "00:06")]
        assert new_since("00:07:30", seen) == [("customer.subscription.deleted", "00:07")]
        cat_pro = served.client.v1.subscriptions.retrieve(ids["cat_pro"])
        assert cat_pro.status == "canceled"
        assert new_since("01:00:00", seen) == [
            ("charge.succeeded", "00:08"), ("charge.succeeded", "00:45"),
            ("customer.subscription.updated", "00:45"), ("invoice.paid", "00:08"),
            ("invoice.paid", "00:45"), ("invoice.payment_succeeded", "00:08"),
            ("invoice.payment_succeeded", "00:45"),
        ]  # fmt: skip
        bob_pro = served.client.v1.subscriptions.list(params={"customer": bob.id}).data[0]
        assert bob_pro.status == "active"  # its first payment went through at 00:45
        assert new_since("06:00:30", seen) == [
            ("charge.dispute.closed", "06:00"), ("charge.dispute.updated", "03:03"),
        ]  # fmt: skip
        assert served.client.v1.disputes.list().data[0].status == "won"
    finally:
        served.server.shutdown()


def test_the_real_wall_clock_brings_an_entry_in_on_time(tmp_path: Path) -> None:
    path = tmp_path / "late.toml"
    path.write_text(
        LIVE_OPS.split("[[timeline]]\nat = 2025-04-01T00:02:00Z")[0]
        + '[[timeline]]\nat = 2025-04-01T00:05:00Z\nop = "create_customer"\ncustomer = "late"\n',
        encoding="utf-8",
    )
    due = _at("2025-04-01", "00:05:00")
    sim = simulate_scenario(load_scenario(path))
    with start_server(sim, speed=300) as server:  # 00:05 is about a wall second away
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {"Authorization": f"Bearer {server.api_key}"}
        seen: list[tuple[int, bool]] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (seen and seen[-1][1]):
            conn.request("GET", "/v1/customers?limit=100", headers=headers)
            reply = conn.getresponse()
            names = {c["metadata"]["scenario_name"] for c in json.loads(reply.read())["data"]}
            date = int(parsedate_to_datetime(reply.getheader("Date") or "").timestamp())
            seen.append((date, "late" in names))
            time.sleep(0.05)
        conn.close()
    assert not seen[0][1] and seen[-1][1], seen
    assert all(date >= due for date, present in seen if present)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="paylens sandbox")
    configure_parser(parser, dt.date(2030, 1, 1))
    return parser.parse_args(argv)


def test_serving_live_entries_without_speed_is_one_argparse_error_naming_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _parse("--scenario", str(SPIKE), "--port", "0")
    with pytest.raises(SystemExit) as exited:
        main(args, io.StringIO())
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert errors == [
        f"paylens sandbox: error: argument --scenario: {SPIKE}: timeline: timeline[6] "
        "(fail_payments) at 2025-03-01T00:15:00Z, timeline[7] (recover) at "
        "2025-03-01T02:30:00Z come after the last day (until 2025-02-28); only the live clock "
        "plays them: serve with --speed"
    ]


@pytest.mark.parametrize(
    ("count", "listed"),
    [
        (1, "timeline[4] (create_customer) at 2025-04-01T00:01:00Z comes after the last day "
            "(until 2025-03-31); only the live clock plays it"),
        (7, "timeline[4] (create_customer) at 2025-04-01T00:01:00Z, timeline[5] "
            "(create_customer) at 2025-04-01T00:02:00Z, timeline[6] (create_customer) at "
            "2025-04-01T00:03:00Z, timeline[7] (create_customer) at 2025-04-01T00:04:00Z, "
            "timeline[8] (create_customer) at 2025-04-01T00:05:00Z, and 2 more come after the "
            "last day (until 2025-03-31); only the live clock plays them"),
    ],
)  # fmt: skip
def test_the_refusal_names_each_live_entry_and_counts_the_rest(
    tmp_path: Path, count: int, listed: str
) -> None:
    base = LIVE_OPS.split("[[timeline]]\nat = 2025-04-01T00:02:00Z")[0]
    entries = "".join(
        f'[[timeline]]\nat = 2025-04-01T00:{n:02d}:00Z\nop = "create_customer"\ncustomer = "c{n}"\n'
        for n in range(1, count + 1)
    )
    path = tmp_path / "many.toml"
    path.write_text(base + entries, encoding="utf-8")
    error = live_entries_error(load_scenario(path))
    assert (error.where, error.problem) == ("timeline", f"{listed}: serve with --speed")


def test_truth_and_stats_of_a_live_file_cover_its_days() -> None:
    out = io.StringIO()
    assert (
        main(_parse("truth", "--scenario", str(SPIKE), "--as-of", "2025-02-28", "--json"), out) == 0
    )
    assert json.loads(out.getvalue())["mrr_by_currency"] == {"usd": 5000.0}
    assert main(_parse("stats", "--scenario", str(SPIKE)), io.StringIO()) == 0


def test_the_cli_with_speed_serves_the_spike_as_it_happens() -> None:
    args = _parse("--scenario", str(SPIKE), "--port", "0", "--speed", "7200")
    out = io.StringIO()
    seen: dict[str, set[str]] = {"failed": set(), "recovered": set()}

    def watch_then_terminate() -> None:
        deadline = time.monotonic() + 20
        while "Press Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        url = re.search(r"URL:\s+(\S+)", out.getvalue())
        client = stripe.StripeClient(
            "sk_test_paylens_sandbox", base_addresses={"api": url.group(1) if url else ""},
            max_network_retries=0,
        )  # fmt: skip
        while url and time.monotonic() < deadline and len(seen["recovered"]) < 40:
            listed = client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
            for charge in reversed(list(listed)):  # oldest first: a failure before its recovery
                if charge.status == "failed" and charge.outcome.reason == "do_not_honor":
                    seen["failed"].add(charge.customer)
                elif charge.customer in seen["failed"]:  # paid again once the cards recover
                    seen["recovered"].add(charge.customer)
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=watch_then_terminate)
    helper.start()
    assert main(args, out) == 0
    helper.join()
    assert (len(seen["failed"]), len(seen["recovered"])) == (40, 40)
    assert "scenario decline_spike_live" in out.getvalue() and "speed 7200.0" in out.getvalue()
