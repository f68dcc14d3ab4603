"""The Slack stand-in answers as an incoming webhook does, over real HTTP."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

from sandbox.slack_standin import SlackStandin


def _post(url: str, body: bytes) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_it_answers_ok_as_text_html_and_keeps_the_message(standin: SlackStandin) -> None:
    status, body, headers = _post(standin.url, b'{"text": "hello"}')
    assert (status, body) == (200, "ok")
    assert headers["Content-Type"].startswith("text/html")
    assert standin.messages == [{"text": "hello"}]
    assert standin.url.startswith("http://127.0.0.1:")
    assert standin.url.endswith("/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")


def test_it_refuses_a_body_without_text_or_blocks_as_invalid_payload(
    standin: SlackStandin,
) -> None:
    assert _post(standin.url, b'{"attachments": []}')[:2] == (400, "invalid_payload")
    assert _post(standin.url, b"not json")[:2] == (400, "invalid_payload")
    assert _post(standin.url, b'["text"]')[:2] == (400, "invalid_payload")
    assert standin.messages == []
    assert [r.status for r in standin.requests] == [400, 400, 400]


def test_another_path_is_no_service(standin: SlackStandin) -> None:
    assert _post(standin.base_url + "/services/T000/B000/other", b'{"text": "x"}')[:2] == (
        404,
        "no_service",
    )


def test_scripted_answers_come_first_then_slack_is_healthy_again(standin: SlackStandin) -> None:
    standin.script([(503, "service unavailable"), (429, "rate_limited", {"Retry-After": "2"})])
    assert _post(standin.url, b'{"text": "1"}')[:2] == (503, "service unavailable")
    status, body, headers = _post(standin.url, b'{"text": "2"}')
    assert (status, body, headers["Retry-After"]) == (429, "rate_limited", "2")
    assert _post(standin.url, b'{"text": "3"}')[:2] == (200, "ok")
    assert standin.messages == [{"text": "3"}]
    assert [(r.status, json.loads(r.body)["text"]) for r in standin.requests] == [
        (503, "1"),
        (429, "2"),
        (200, "3"),
    ]


def test_get_messages_lists_what_it_accepted_as_json(standin: SlackStandin) -> None:
    _post(standin.url, b'{"text": "a", "blocks": [{"type": "divider"}]}')
    with urllib.request.urlopen(standin.base_url + "/messages", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        assert json.loads(response.read()) == [{"text": "a", "blocks": [{"type": "divider"}]}]


def test_waiting_for_messages_times_out_when_none_arrive(standin: SlackStandin) -> None:
    assert standin.wait_for_messages(1, timeout=0.05) is False
    _post(standin.url, b'{"text": "a"}')
    assert standin.wait_for_messages(1, timeout=1) is True


def test_a_held_post_waits_and_one_whose_sender_went_away_is_not_accepted(
    standin: SlackStandin,
) -> None:
    standin.hold()
    host, port = standin.base_url.removeprefix("http://").split(":")
    path = standin.url.removeprefix(standin.base_url)
    body = b'{"text": "first"}'
    sender = socket.create_connection((host, int(port)), timeout=5)
    sender.sendall(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    assert standin.wait_for_requests(1, timeout=5)
    sender.close()  # the sender is killed while Slack hangs
    standin.release()
    deadline = time.monotonic() + 5
    while not standin.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(r.method, r.status) for r in standin.requests] == [("POST", 0)]
    assert standin.messages == []
    assert _post(standin.url, b'{"text": "again"}')[:2] == (200, "ok")
    assert standin.messages == [{"text": "again"}]
