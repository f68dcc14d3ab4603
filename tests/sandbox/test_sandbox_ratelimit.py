"""Stripe's global and per-endpoint limiters: exact with a still clock, honest under a burst."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

import pytest
import stripe

from sandbox.api.ratelimit import TokenBucket, endpoint_template
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation


class StillClock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _get(server: SandboxServer, path: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {server.api_key}"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/charges?limit=3", "/v1/charges"),
        ("/v1/charges/ch_123", "/v1/charges/{id}"),
        ("/v1/invoices/in_1/lines?limit=5", "/v1/invoices/{id}/lines"),
        ("/v1/subscription_items?subscription=sub_1", "/v1/subscription_items"),
    ],
)
def test_an_endpoint_is_its_path_with_ids_replaced(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_a_bucket_holds_its_rate_as_burst_and_refills_at_its_rate() -> None:
    bucket = TokenBucket(2.0, now=0.0)
    admitted = []
    for at in (0.0, 0.0, 0.0, 0.25, 0.5, 0.5, 1.5, 1.5, 1.5):
        ready = bucket.ready(at)
        if ready:
            bucket.take()
        admitted.append(ready)
    assert admitted == [True, True, False, False, True, False, True, True, False]


def test_the_global_limit_answers_429_with_stripes_error_and_reason(sim: Simulation) -> None:
    clock = StillClock()
    with start_server(sim, rate=2, wall_clock=clock) as server:
        statuses = [_get(server, "/v1/products")[0] for _ in range(3)]
        status, headers, body = _get(server, "/v1/customers")
        clock.now += 0.5
        after_refill = _get(server, "/v1/customers")[0]
        log = [(r.status, r.limited) for r in server.requests]
    assert statuses == [200, 200, 429]
    assert status == 429
    assert headers["Stripe-Rate-Limited-Reason"] == "global-rate"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "rate_limit"
    assert after_refill == 200
    assert log == [
        (200, None), (200, None), (429, "global-rate"), (429, "global-rate"), (200, None)
    ]  # fmt: skip


def test_each_endpoint_has_its_own_bucket(sim: Simulation) -> None:
    clock = StillClock()
    with start_server(sim, endpoint_rate=2, wall_clock=clock) as server:
        products = [_get(server, "/v1/products?limit=1")[0] for _ in range(3)]
        _, headers, _ = _get(server, "/v1/products")
        other = _get(server, "/v1/customers")[0]
        by_id = _get(server, "/v1/customers/cus_unknown")[0]
    assert products == [200, 200, 429]
    assert headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"
    assert (other, by_id) == (200, 404)


def test_the_global_limit_is_checked_before_the_endpoint_limit(sim: Simulation) -> None:
    with start_server(sim, rate=1, endpoint_rate=1, wall_clock=StillClock()) as server:
        _get(server, "/v1/products")
        _, headers, _ = _get(server, "/v1/products")
    assert headers["Stripe-Rate-Limited-Reason"] == "global-rate"


def test_a_burst_from_several_threads_never_gets_more_through_than_the_buckets_allow(
    sim: Simulation,
) -> None:
    rate = 20.0
    with start_server(sim, rate=rate) as server:

        def hammer() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            for _ in range(40):
                conn.request("GET", "/v1/prices?limit=1", headers={"Authorization": "Bearer x"})
                conn.getresponse().read()
            conn.close()

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log = server.requests.snapshot()
    admitted = sorted(r.at for r in log if r.limited is None)
    assert len(log) == 160
    assert 20 <= len(admitted) < 160
    # any run of admitted requests fits in a full bucket plus what it refilled meanwhile
    for i in range(len(admitted)):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= rate + rate * (admitted[j] - admitted[i]) + 1e-6


def test_the_stripe_sdk_does_not_retry_a_rate_limited_request(sim: Simulation) -> None:
    with start_server(sim, rate=1, wall_clock=StillClock()) as server:
        client = stripe.StripeClient(
            server.api_key, base_addresses={"api": server.url}, max_network_retries=2
        )
        client.v1.products.list()
        with pytest.raises(stripe.RateLimitError) as raised:
            client.v1.products.list()
        assert len(server.requests) == 2
    assert raised.value.json_body is not None
    assert raised.value.json_body["error"]["code"] == "rate_limit"
    assert raised.value.headers is not None
    assert raised.value.headers["Stripe-Rate-Limited-Reason"] == "global-rate"


def test_a_rate_must_be_positive(sim: Simulation) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        start_server(sim, endpoint_rate=0)
