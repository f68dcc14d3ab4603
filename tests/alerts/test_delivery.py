"""The outbox delivered over real HTTP to the Slack stand-in, with a clock moved by hand."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from alerts.delivery import (
    Answer,
    DeliveryLoop,
    DeliveryReport,
    SlackTransport,
    classify,
    deliver_due,
    retry_delay,
)
from alerts.store import enqueue, outbox
from sandbox.slack_standin import SlackStandin
from tests.alerts.conftest import FakeClock

ACCOUNT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def queue(con: duckdb.DuckDBPyConnection, clock: FakeClock, *keys: str) -> list[dict[str, Any]]:
    """Queue one message per key, as cycles would, and return their bodies."""
    bodies = []
    for key in keys:
        body = {"text": f"message {key}", "blocks": [{"type": "divider"}]}
        enqueue(con, key=key, created=ACCOUNT, recorded=clock.now(), payload=body, summary=key)
        bodies.append(body)
    return bodies


def deliver(
    con: duckdb.DuckDBPyConnection, transport: SlackTransport, clock: FakeClock
) -> DeliveryReport:
    return deliver_due(con, transport, now=clock.now, sleep=clock.sleep)


def until_empty(
    con: duckdb.DuckDBPyConnection, transport: SlackTransport, clock: FakeClock
) -> list[DeliveryReport]:
    """Rounds until nothing is queued, jumping the clock to each next due time."""
    reports = []
    for _ in range(50):
        reports.append(deliver(con, transport, clock))
        if reports[-1].next_due is None:
            return reports
        clock.advance_to(reports[-1].next_due)
    raise AssertionError("the outbox never emptied")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/T000/B000/SECRETSECRETSECRET"


def test_an_outage_loses_nothing_and_delivers_in_order_exactly_once(
    master: duckdb.DuckDBPyConnection, standin: SlackStandin, clock: FakeClock
) -> None:
    bodies = queue(master, clock, "n1", "n2", "n3")
    standin.script(
        [(503, "service unavailable")] * 3 + [(429, "rate_limited", {"Retry-After": "2"})]
    )
    reports = until_empty(master, SlackTransport(standin.url), clock)
    assert standin.messages == bodies
    assert [r.status for r in standin.requests] == [503, 503, 503, 429, 200, 200, 200]
    # every retry held the rows behind it back: only n1 was tried during the outage
    assert [r.body for r in standin.requests[:5]] == [standin.requests[0].body] * 5
    assert [(r.sent, r.retried, r.failed) for r in reports] == [
        (0, 1, 0),
        (0, 1, 0),
        (0, 1, 0),
        (0, 1, 0),
        (3, 0, 0),
    ]
    rows = outbox(master)
    assert [(r.key, r.status, r.attempts, r.answer_status) for r in rows] == [
        ("n1", "sent", 5, 200),
        ("n2", "sent", 1, 200),
        ("n3", "sent", 1, 200),
    ]
    assert rows[0].last_error == "429 rate_limited"  # what it recovered from


def test_backoff_doubles_after_each_5xx_and_429_waits_its_retry_after(
    master: duckdb.DuckDBPyConnection, standin: SlackStandin, clock: FakeClock
) -> None:
    queue(master, clock, "n1")
    standin.script(
        [(503, "service unavailable")] * 3 + [(429, "rate_limited", {"Retry-After": "2"})]
    )
    transport = SlackTransport(standin.url)
    waits = []
    for _ in range(4):
        answered = clock.now()
        report = deliver(master, transport, clock)
        assert report.next_due is not None
        waits.append((report.next_due - answered).total_seconds())
        clock.advance_to(report.next_due - timedelta(milliseconds=1))
        assert deliver(master, transport, clock).retried == 0  # not due yet: nothing is sent
        clock.advance(0.001)
    assert waits == [5.0, 10.0, 20.0, 2.0]
    assert deliver(master, transport, clock).sent == 1


def test_a_permanent_answer_fails_the_row_with_slacks_reason_and_the_next_goes_out(
    master: duckdb.DuckDBPyConnection,
    standin: SlackStandin,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bodies = queue(master, clock, "n1", "n2")
    standin.script([(404, "no_service")])
    with caplog.at_level(logging.INFO, logger="paylens.alerts"):
        report = deliver(master, SlackTransport(standin.url), clock)
    assert report == DeliveryReport(sent=1, retried=0, failed=1, waiting=0, next_due=None)
    failed, sent = outbox(master)
    assert (failed.status, failed.last_error, failed.answer_status, failed.attempts) == (
        "failed",
        "404 no_service",
        404,
        1,
    )
    assert (sent.status, sent.sent_at) == ("sent", clock.now())
    assert standin.messages == bodies[1:]
    assert "n1 failed for good (404 no_service)" in caplog.text
    assert deliver(master, SlackTransport(standin.url), clock) == DeliveryReport()  # never again


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (410, "channel_is_archived"),
        (403, "action_prohibited"),
        (403, "invalid_token"),
        (404, "channel_not_found"),
        (400, "invalid_payload"),
    ],
)
def test_other_permanent_answers_fail_the_row(
    master: duckdb.DuckDBPyConnection,
    standin: SlackStandin,
    clock: FakeClock,
    status: int,
    body: str,
) -> None:
    queue(master, clock, "n1")
    standin.script([(status, body)])
    assert deliver(master, SlackTransport(standin.url), clock).failed == 1
    assert outbox(master)[0].last_error == f"{status} {body}"


def test_a_refused_connection_is_retried(
    master: duckdb.DuckDBPyConnection, clock: FakeClock
) -> None:
    queue(master, clock, "n1")
    report = deliver(master, SlackTransport(closed_port_url(), timeout=2), clock)
    assert (report.retried, report.waiting, report.next_due) == (
        1,
        1,
        clock.now() + timedelta(seconds=5),
    )
    row = outbox(master)[0]
    assert (row.status, row.attempts, row.answer_status) == ("queued", 1, None)
    assert row.last_error is not None and row.last_error.startswith("network: URLError")
    assert "Connection refused" in row.last_error


def test_posts_to_one_webhook_are_a_second_apart(
    master: duckdb.DuckDBPyConnection, standin: SlackStandin, clock: FakeClock
) -> None:
    queue(master, clock, "n1", "n2", "n3")
    transport = SlackTransport(standin.url)
    assert deliver(master, transport, clock).sent == 3
    assert clock.sleeps == [1.0, 1.0]
    clock.advance(0.25)  # the next round follows closely: it waits out the rest of the second
    queue(master, clock, "n4")
    assert deliver(master, transport, clock).sent == 1
    assert clock.sleeps == [1.0, 1.0, 0.75]


def test_a_round_sends_at_most_its_limit(
    master: duckdb.DuckDBPyConnection, standin: SlackStandin, clock: FakeClock
) -> None:
    queue(master, clock, "n1", "n2", "n3")
    report = deliver_due(
        master, SlackTransport(standin.url), now=clock.now, sleep=clock.sleep, limit=2
    )
    assert (report.sent, report.waiting) == (2, 1)


def test_the_webhook_url_appears_in_no_log_no_repr_and_no_row(
    master: duckdb.DuckDBPyConnection,
    standin: SlackStandin,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue(master, clock, "n1", "n2", "n3")
    refused = closed_port_url()
    standin.script([(503, "service unavailable"), (404, "no_service")])
    with caplog.at_level(logging.DEBUG):  # every logger, the SDK's included
        live, dead = SlackTransport(standin.url), SlackTransport(refused, timeout=2)
        until_empty(master, live, clock)
        queue(master, clock, "n4")
        deliver(master, dead, clock)
    stored = str(master.execute("SELECT * FROM alert_outbox").fetchall())
    secrets = [standin.url, refused, "XXXXXXXXXXXXXXXXXXXXXXXX", "SECRETSECRETSECRET"]
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in stored
        assert secret not in repr(live) + repr(dead) + str(live)
    assert "n1 not delivered (503 service unavailable)" in caplog.text


@pytest.mark.parametrize(
    ("answer", "outcome", "reason"),
    [
        (Answer(200, "ok"), "sent", "200 ok"),
        (Answer(204, ""), "sent", "204"),
        (Answer(429, "rate_limited", retry_after=2), "retry", "429 rate_limited"),
        (Answer(500, "rollup_error"), "retry", "500 rollup_error"),
        (Answer(503, "<html>\n  down\n</html>"), "retry", "503 <html> down </html>"),
        (
            Answer(None, "", error="TimeoutError: timed out"),
            "retry",
            "network: TimeoutError: timed out",
        ),
        (Answer(404, "no_service"), "failed", "404 no_service"),
        (Answer(410, "channel_is_archived"), "failed", "410 channel_is_archived"),
        (Answer(403, "action_prohibited"), "failed", "403 action_prohibited"),
        (Answer(400, "invalid_payload"), "failed", "400 invalid_payload"),
        (Answer(302, ""), "failed", "302"),
    ],
)
def test_each_answer_means_sent_retry_or_failed(answer: Answer, outcome: str, reason: str) -> None:
    assert classify(answer) == (outcome, reason)


@pytest.mark.parametrize(
    ("answer", "attempts", "rng", "seconds"),
    [
        (Answer(429, "rate_limited", retry_after=7), 1, None, 7.0),
        (Answer(429, "rate_limited"), 3, None, 30.0),
        (Answer(503, ""), 1, None, 5.0),
        (Answer(503, ""), 2, None, 10.0),
        (Answer(None, ""), 4, None, 40.0),
        (Answer(503, ""), 12, None, 300.0),
        (Answer(503, ""), 2, lambda: 0.5, 10.5),
    ],
)
def test_retries_wait_retry_after_or_back_off_exponentially(
    answer: Answer, attempts: int, rng: Any, seconds: float
) -> None:
    assert retry_delay(answer, attempts, rng) == seconds


def test_a_non_http_webhook_url_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError) as raised:
        SlackTransport("webhooks.invalid/services/T1/B1/SECRET")
    assert "SECRET" not in str(raised.value)


def test_the_loop_honours_retry_after_in_real_time_and_stops_promptly(
    master: duckdb.DuckDBPyConnection, standin: SlackStandin
) -> None:
    def now() -> datetime:
        return datetime.now(UTC)

    enqueue(master, key="n1", created=ACCOUNT, recorded=now(), payload={"text": "x"}, summary="")
    standin.script([(429, "rate_limited", {"Retry-After": "1"})])
    loop = DeliveryLoop(master, SlackTransport(standin.url), now=now, interval=0.2)
    loop.start()
    try:
        assert standin.wait_for_messages(1, timeout=10)
    finally:
        started = time.monotonic()
        loop.stop()
        stopped = time.monotonic() - started
    limited, sent = standin.requests
    assert (limited.status, sent.status) == (429, 200)
    assert sent.at - limited.at >= 1.0
    assert stopped < 1.0
    assert [r.status for r in outbox(master)] == ["sent"]


def test_the_loop_delivers_what_is_queued_while_it_runs_when_woken(
    master: duckdb.DuckDBPyConnection, standin: SlackStandin
) -> None:
    def now() -> datetime:
        return datetime.now(UTC)

    loop = DeliveryLoop(master, SlackTransport(standin.url), now=now, interval=30)
    loop.start()
    try:
        time.sleep(0.1)  # its first round found nothing; the next is 30 s away
        enqueue(
            master, key="n1", created=ACCOUNT, recorded=now(), payload={"text": "x"}, summary=""
        )
        loop.wake()
        assert standin.wait_for_messages(1, timeout=5)
    finally:
        loop.stop()
