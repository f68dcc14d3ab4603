"""Auth, unknown URLs and ids, bad parameters and response headers, like Stripe."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from sandbox import DEFAULT_API_KEY
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation


@pytest.fixture
def conn(server: SandboxServer) -> Iterator[http.client.HTTPConnection]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    yield connection
    connection.close()


def _get(
    conn: http.client.HTTPConnection, path: str, key: str | None = DEFAULT_API_KEY
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read()), dict(response.getheaders())


def test_a_wrong_key_gets_401_with_stripe_error_json_and_a_masked_key(
    server: SandboxServer,
) -> None:
    wrong = "sk_test_not_the_right_key_1234"
    bad = stripe.StripeClient(wrong, base_addresses={"api": server.url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as raised:
        bad.v1.customers.list()
    assert raised.value.http_status == 401
    assert raised.value.json_body == {
        "error": {
            "message": "Invalid API Key provided: sk_test_****1234",
            "type": "invalid_request_error",
        }
    }
    assert wrong not in str(raised.value)


def test_a_short_wrong_key_is_not_echoed_at_all(conn: http.client.HTTPConnection) -> None:
    status, body, _ = _get(conn, "/v1/customers", key="sk_test_abc")
    assert status == 401
    assert body["error"]["message"] == "Invalid API Key provided: sk_test_****"


def test_a_missing_key_gets_401(conn: http.client.HTTPConnection) -> None:
    status, body, _ = _get(conn, "/v1/customers", key=None)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in body["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/x", "/v2/customers", "/", "/v1/customers/a/b"])
def test_an_unknown_url_is_a_404_unrecognized_request(
    conn: http.client.HTTPConnection, path: str
) -> None:
    status, body, _ = _get(conn, path)
    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(f"Unrecognized request URL (GET: {path})")


def test_an_unknown_id_is_a_404_resource_missing_naming_id(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.retrieve("sub_doesnotexist00")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "id"
    assert raised.value.user_message == "No such subscription: 'sub_doesnotexist00'"


@pytest.mark.parametrize("cursor", ["starting_after", "ending_before"])
def test_an_unknown_cursor_is_a_400_naming_it(client: stripe.StripeClient, cursor: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list(params={cursor: "cus_x"})
    assert raised.value.http_status == 400
    assert raised.value.param == cursor
    assert raised.value.user_message == "No such customer: 'cus_x'"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=ten", "limit"),
        ("created[gte]=yesterday", "created[gte]"),
        ("colour=blue", "colour"),
        ("starting_after=cus_a&ending_before=cus_b", "ending_before"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    conn: http.client.HTTPConnection, query: str, param: str
) -> None:
    status, body, _ = _get(conn, f"/v1/customers?{query}")
    assert status == 400
    assert body["error"]["param"] == param


def test_responses_carry_request_id_stripe_version_and_json_content_type(
    conn: http.client.HTTPConnection,
) -> None:
    _, _, first = _get(conn, "/v1/products?limit=1")
    _, _, second = _get(conn, "/v1/products?limit=1")  # same keep-alive connection
    assert first["Content-Type"] == "application/json"
    assert first["Stripe-Version"]
    assert first["Request-Id"].startswith("req_")
    assert first["Request-Id"] != second["Request-Id"]


def test_every_request_is_logged_with_its_status(sim: Simulation) -> None:
    with start_server(sim) as server:
        client = stripe.StripeClient(
            server.api_key, base_addresses={"api": server.url}, max_network_retries=0
        )
        client.v1.customers.list(params={"limit": 3})
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.retrieve("cus_missing")
        log = list(server.requests)
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/v1/customers?limit=3", 200),
        ("GET", "/v1/customers/cus_missing", 404),
    ]
    assert log[0].at <= log[1].at


def test_the_server_refuses_to_listen_beyond_loopback(sim: Simulation) -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_server(sim, host="0.0.0.0")
