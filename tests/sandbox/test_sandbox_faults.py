"""Injected faults: the grammar, deterministic decisions, and what a real client meets."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest
import stripe

from sandbox.api.faults import FaultPlan, Window, parse_faults
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation


def _client(server: SandboxServer, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=retries
    )


def _decisions(plan: FaultPlan, seed: int, count: int) -> list[str | None]:
    return [plan.decide(seed, seq, wall_elapsed=0.0, sim_now=0.0) for seq in range(count)]


def test_the_fault_string_parses_into_shares_in_a_fixed_order_a_window_and_a_stall() -> None:
    text = "truncate=0.01, 500=0.1,503=0.02,lock=0.02,window=wall:5-20,stall_seconds=2"
    plan = parse_faults(text)
    assert plan == FaultPlan(
        (("500", 0.1), ("503", 0.02), ("lock", 0.02), ("truncate", 0.01)),
        Window("wall", 5.0, 20.0),
        2.0,
    )


def test_a_simulated_time_window_is_read_as_utc() -> None:
    plan = parse_faults("reset=1,window=sim:2026-11-01T00:00..2026-11-02")
    assert plan.window == Window("sim", 1_793_491_200.0, 1_793_577_600.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("500=2", "500: 2 is out of range"),
        ("500=abc", "500: expected a number, got 'abc'"),
        ("418=0.1", "unknown fault '418'"),
        ("404=0.1", "404: expected names joined by"),
        ("500=0.6,503=0.6", "fault shares add up to more than 1"),
        ("500", "expected key=value"),
        ("500=0.1,500=0.2", "fault key '500' given twice"),
        ("window=wall:20-5", "ends before it starts"),
        ("window=moon:1-2", "a fault window is wall:… or sim:…"),
        ("window=sim:yesterday..today", "expected an ISO date or time, got 'yesterday'"),
    ],
)
def test_a_bad_fault_string_is_a_value_error_saying_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faults(text)


def test_decisions_depend_only_on_seed_and_sequence_number() -> None:
    plan = parse_faults("500=0.5")
    assert _decisions(plan, 7, 12) == [
        None, "500", "500", None, "500", "500", "500", None, None, "500", "500", "500",
    ]  # fmt: skip
    assert _decisions(plan, 7, 12) == _decisions(plan, 7, 12)
    assert _decisions(plan, 8, 12) != _decisions(plan, 7, 12)


def test_every_kind_is_drawn_in_proportion_to_its_share() -> None:
    plan = parse_faults("500=0.2,503=0.1,lock=0.1,reset=0.05,stall=0.05,truncate=0.1")
    drawn = _decisions(plan, 3, 20_000)
    expected = {"500": 0.2, "503": 0.1, "lock": 0.1, "reset": 0.05, "stall": 0.05, "truncate": 0.1}
    for kind, share in expected.items():
        assert abs(drawn.count(kind) / len(drawn) - share) < 0.01, kind
    assert drawn.count(None) / len(drawn) == pytest.approx(0.4, abs=0.01)


def test_outside_its_window_a_plan_never_faults() -> None:
    plan = parse_faults("500=1,window=wall:5-20")
    assert [plan.decide(0, 0, wall_elapsed=t, sim_now=0.0) for t in (4.9, 5, 19.9, 20)] == [
        None, "500", "500", None,
    ]  # fmt: skip


def test_the_same_requests_meet_the_same_faults_and_the_log_shows_them(sim: Simulation) -> None:
    def run(seed: int) -> list[tuple[int, str | None, int]]:
        faults = "500=0.3,503=0.2,lock=0.2"
        with start_server(sim, faults=faults, fault_seed=seed) as server:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            for _ in range(10):
                conn.request("GET", "/v1/products?limit=1", headers=_auth(server))
                conn.getresponse().read()
            conn.close()
            return [(r.seq, r.fault, r.status) for r in server.requests]

    first = run(11)
    assert first == run(11)
    assert first != run(12)
    statuses = {"500": 500, "503": 503, "lock": 429, None: 200}
    assert all(status == statuses[fault] for _, fault, status in first)
    assert [seq for seq, _, _ in first] == list(range(10))


def test_a_lock_timeout_is_a_429_that_asks_to_be_retried(sim: Simulation) -> None:
    with start_server(sim, faults="lock=1") as server:
        status, headers, body = _raw(server, "/v1/customers")
    assert status == 429
    assert headers["Stripe-Should-Retry"] == "true"
    assert body["error"]["code"] == "lock_timeout"
    assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503)])
def test_server_errors_are_api_errors(sim: Simulation, kind: str, status: int) -> None:
    with start_server(sim, faults=f"{kind}=1") as server:
        got, headers, body = _raw(server, "/v1/customers")
    assert got == status
    assert body["error"]["type"] == "api_error"
    assert "Stripe-Should-Retry" not in headers


@pytest.mark.parametrize(
    ("kind", "first_status"), [("500", 500), ("503", 503), ("lock", 429), ("reset", 0)]
)
def test_the_stripe_sdk_with_two_retries_recovers_from_transient_faults(
    sim: Simulation, kind: str, first_status: int
) -> None:
    # seed 1 at share 0.5: request 0 is faulted, requests 1 and 2 are not
    with start_server(sim, faults=f"{kind}=0.5", fault_seed=1) as server:
        page = _client(server, retries=2).v1.customers.list(params={"limit": 2})
        log = [(r.status, r.fault) for r in server.requests]
    assert len(page.data) == 2
    assert log == [(first_status, kind), (200, None)]


def test_a_truncated_body_is_a_connection_error_the_sdk_does_not_retry(
    sim: Simulation,
) -> None:
    with start_server(sim, faults="truncate=0.5", fault_seed=1) as server:
        with pytest.raises(stripe.APIConnectionError):
            _client(server, retries=2).v1.customers.list(params={"limit": 2})
        log = [(r.status, r.fault) for r in server.requests]
    assert log == [(200, "truncate")]


def test_a_truncated_body_promises_more_than_it_sends(sim: Simulation) -> None:
    with start_server(sim, faults="truncate=1") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/v1/products?limit=3", headers=_auth(server))
        response = conn.getresponse()
        promised = int(response.getheader("Content-Length") or 0)
        with pytest.raises(http.client.IncompleteRead) as raised:
            response.read()
        conn.close()
    assert len(raised.value.partial) == promised // 2


def test_a_reset_closes_the_connection_without_a_response_and_logs_status_0(
    sim: Simulation,
) -> None:
    with start_server(sim, faults="reset=1") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/v1/products", headers=_auth(server))
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
            conn.getresponse()
        conn.close()
        log = [(r.path, r.status, r.fault) for r in server.requests]
    assert log == [("/v1/products", 0, "reset")]


def test_a_stall_holds_a_normal_answer_back(sim: Simulation) -> None:
    with start_server(sim, faults="stall=1,stall_seconds=0.3") as server:
        started = time.monotonic()
        page = _client(server).v1.products.list(params={"limit": 1})
        waited = time.monotonic() - started
        log = [(r.status, r.fault) for r in server.requests]
    assert len(page.data) == 1
    assert waited >= 0.3
    assert log == [(200, "stall")]


def test_a_simulated_time_window_faults_only_while_the_simulation_is_inside_it(
    sim: Simulation,
) -> None:
    inside = "500=1,window=sim:2025-06-30T00:00..2025-07-01T00:00"  # sim.now: end of 30 June
    outside = "500=1,window=sim:2025-05-01..2025-06-01"
    with start_server(sim, faults=inside) as server:
        assert _raw(server, "/v1/products")[0] == 500
    with start_server(sim, faults=outside) as server:
        assert _raw(server, "/v1/products")[0] == 200


def _auth(server: SandboxServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


def _raw(server: SandboxServer, path: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path, headers=_auth(server))
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()
