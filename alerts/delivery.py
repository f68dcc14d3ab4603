"""Delivering the outbox to Slack: the transport, what each answer means, and the loop.

The outbox owns the retries (the SDK's retry handlers are off): a row is claimed, posted once,
and its answer recorded at once in a small transaction of its own. 2xx: sent. 429: again after
Retry-After. 5xx and network errors: again after an exponential backoff. Any other answer
(404 no_service, 410 channel_is_archived, 403 action_prohibited, 400 invalid_payload): failed
with Slack's words as the reason, and the next row goes out. Rows leave in the order they were
queued: one waiting for a retry holds back those after it. At most one post a second.

The webhook URL is a secret: it is held only by `SlackTransport`, and kept out of its repr,
of every log line and of every error text, which is also what reaches the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import duckdb
from slack_sdk.webhook import WebhookClient

from alerts.store import OutboxRow, outbox, to_db

log = logging.getLogger("paylens.alerts")

Outcome = Literal["sent", "retry", "failed"]
MIN_INTERVAL = 1.0  # seconds between two posts to one webhook (Slack: 1 message a second)
DEFAULT_RETRY_AFTER = 30.0  # a 429 without a usable Retry-After
BACKOFF_FIRST = 5.0  # 5xx / network: 5 s, 10 s, 20 s ... 5 min
BACKOFF_MAX = 300.0
JITTER = 0.1  # up to +10% of the backoff, from the injected rng
# A claimed row is not sent again before this: longer than a post can take (the transport's
# timeout), short enough that a process killed mid-send resends soon after its restart.
LEASE = timedelta(seconds=20)

# The SDK logs the URL at DEBUG (and errors at ERROR): it gets a logger that says nothing.
_SILENT = logging.Logger("paylens.alerts.slack_sdk", level=logging.CRITICAL + 1)


@dataclass(frozen=True)
class Answer:
    """What one post got back: an HTTP status and body, or (status None) the network error."""

    status: int | None
    body: str
    retry_after: float | None = None  # seconds, from a Retry-After header
    error: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0  # rows still queued after the round (due later, or held back behind one)
    next_due: datetime | None = None  # when the first of them may go (machine time)


class Transport(Protocol):
    def send(self, body: Mapping[str, Any]) -> Answer: ...


class SlackTransport:
    """Posts webhook bodies with `slack_sdk`'s WebhookClient, without its retries."""

    def __init__(self, url: str, *, timeout: float = 10) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the Slack webhook URL must start with https://")
        self._url = url
        self._secret = urlsplit(url).path  # /services/T…/B…/token: what must never show
        self._timeout = timeout
        self._client = WebhookClient(
            url,
            timeout=timeout,  # type: ignore[arg-type]  # urllib takes float seconds
            retry_handlers=[],
            logger=_SILENT,
        )

    def __repr__(self) -> str:
        return f"SlackTransport(url='***', timeout={self._timeout})"

    __str__ = __repr__

    def send(self, body: Mapping[str, Any]) -> Answer:
        """One POST. Never raises: a refused connection or a timeout is an Answer too."""
        try:
            response = self._client.send_dict(dict(body))
        except Exception as exc:  # URLError, TimeoutError, SSL errors, SlackRequestError
            return Answer(None, "", error=self._scrub(f"{type(exc).__name__}: {exc}"))
        headers = {str(k).lower(): str(v) for k, v in dict(response.headers or {}).items()}
        return Answer(
            response.status_code,
            self._scrub(str(response.body or "")),
            retry_after=_seconds(headers.get("retry-after")),
        )

    def _scrub(self, text: str) -> str:
        text = text.replace(self._url, "<webhook URL>")
        return text.replace(self._secret, "/<secret>") if len(self._secret) > 1 else text


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:  # an HTTP date: Slack sends seconds; treat it as absent
        return None
    return None if seconds is None or seconds < 0 else seconds


def classify(answer: Answer) -> tuple[Outcome, str]:
    """What an answer means for its row, and the reason recorded ("404 no_service")."""
    if answer.status is None:
        return "retry", f"network: {answer.error or 'no answer'}"
    body = " ".join(answer.body.split())[:200]
    reason = f"{answer.status} {body}".strip()
    if 200 <= answer.status < 300:
        return "sent", reason
    if answer.status in (408, 429) or answer.status >= 500:
        return "retry", reason
    return "failed", reason


def retry_delay(answer: Answer, attempts: int, rng: Callable[[], float] | None = None) -> float:
    """Seconds before the next attempt: Retry-After for a 429, else 5 s doubling to 5 min."""
    if answer.status == 429:
        return answer.retry_after if answer.retry_after is not None else DEFAULT_RETRY_AFTER
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    return base + (base * JITTER * rng() if rng is not None else 0.0)


def deliver_due(
    con: duckdb.DuckDBPyConnection,
    transport: Transport,
    *,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    limit: int | None = None,
    rng: Callable[[], float] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    write_lock: AbstractContextManager[Any] | None = None,
) -> DeliveryReport:
    """Send the queued rows that are due, oldest first, at most `limit` posts.

    Steps, per row: stop at the first row not yet due (the order holds); wait out the second
    since the last post; claim the row (a lease, so no other round sends it meanwhile); post;
    record the answer. A row to retry ends the round; a failed one does not. `write_lock`, if
    given, is held around each write: the publisher can hold it around its CHECKPOINT (which
    fails while another write transaction is open) and the copy. No write spans a post.
    """
    lock = write_lock if write_lock is not None else nullcontext()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for row in outbox(con, "queued"):
        if should_stop() or (limit is not None and sum(counts.values()) >= limit):
            break
        if row.next_attempt > now():
            break
        _pace(con, row.channel, now, sleep)
        if should_stop():
            break
        with lock:
            claimed = _claim(con, row, now())
        if not claimed:
            break  # another round has it: what follows must wait for it
        answer = transport.send(row.payload)
        outcome, reason = classify(answer)
        with lock:
            delay = _record(con, row, answer, outcome, reason, now(), rng)
        counts[outcome] += 1
        _log(row, outcome, reason, delay)
        if outcome == "retry":
            break
    waiting = outbox(con, "queued")
    return DeliveryReport(
        counts["sent"],
        counts["retry"],
        counts["failed"],
        len(waiting),
        waiting[0].next_attempt if waiting else None,
    )


def _pace(
    con: duckdb.DuckDBPyConnection,
    channel: str,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> None:
    """Sleep until MIN_INTERVAL has passed since the last post to this channel (by any round:
    the last one is in the outbox)."""
    row = con.execute(
        "SELECT max(last_attempt) FROM alert_outbox WHERE channel = ?", [channel]
    ).fetchone()
    if row is None or row[0] is None:
        return
    since = (now() - row[0].replace(tzinfo=UTC)).total_seconds()
    gap = MIN_INTERVAL - max(0.0, since)  # a clock stepping back waits one interval at most
    if gap > 0:
        sleep(gap)


def _claim(con: duckdb.DuckDBPyConnection, row: OutboxRow, at: datetime) -> bool:
    """Take the row for one post (healthchecks' conditional update): False if another round
    took it first."""
    try:
        taken = con.execute(
            "UPDATE alert_outbox SET next_attempt = ?, last_attempt = ? "
            "WHERE key = ? AND status = 'queued' AND next_attempt <= ? RETURNING key",
            [to_db(at + LEASE), to_db(at), row.key, to_db(at)],
        ).fetchall()
    except duckdb.TransactionException:  # a concurrent update of the same row won
        return False
    return bool(taken)


def _record(
    con: duckdb.DuckDBPyConnection,
    row: OutboxRow,
    answer: Answer,
    outcome: Outcome,
    reason: str,
    at: datetime,
    rng: Callable[[], float] | None,
) -> float | None:
    """Store the answer; the seconds until the next attempt when it is to be retried."""
    attempts = row.attempts + 1
    delay = retry_delay(answer, attempts, rng) if outcome == "retry" else None
    con.execute(
        "UPDATE alert_outbox SET attempts = ?, status = ?, answer_status = ?, "
        "last_error = CASE WHEN ? THEN last_error ELSE ? END, next_attempt = ?, sent_at = ? "
        "WHERE key = ?",
        [
            attempts,
            "queued" if outcome == "retry" else outcome,
            answer.status,
            outcome == "sent",  # a row that got through keeps what it recovered from
            reason,
            to_db(at + timedelta(seconds=delay or 0)),
            to_db(at) if outcome == "sent" else None,
            row.key,
        ],
    ).fetchall()
    return delay


def _log(row: OutboxRow, outcome: Outcome, reason: str, delay: float | None) -> None:
    attempt = row.attempts + 1
    if outcome == "sent":
        log.info("slack: sent %s (attempt %d)", row.key, attempt)
    elif outcome == "retry":
        next_in = delay or 0.0
        log.warning(
            "slack: %s not delivered (%s), attempt %d; next in %.0f s",
            row.key,
            reason,
            attempt,
            next_in,
        )
    else:
        log.error("slack: %s failed for good (%s) after %d attempts", row.key, reason, attempt)


class DeliveryLoop:
    """Runs `deliver_due` every `interval` seconds (sooner when a retry falls due, or on
    `wake()`), on a thread and a DuckDB cursor of its own, so that the end of a Slack outage
    does not wait for the next sync. A failing round is logged; the next one runs anyway."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        transport: Transport,
        *,
        now: Callable[[], datetime],
        interval: float = 5.0,
        rng: Callable[[], float] | None = None,
        write_lock: threading.Lock | None = None,
    ) -> None:
        self._cursor = con.cursor()
        self._transport = transport
        self._now = now
        self._interval = interval
        self._rng = rng
        self.write_lock = write_lock if write_lock is not None else threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._round = threading.Lock()  # one round at a time on the cursor
        self._thread: threading.Thread | None = None

    def run_once(self) -> DeliveryReport:
        with self._round:
            return deliver_due(
                self._cursor,
                self._transport,
                now=self._now,
                sleep=self._sleep,
                rng=self._rng,
                should_stop=self._stop.is_set,
                write_lock=self.write_lock,
            )

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="paylens-slack", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Deliver now (the service calls this after queuing a message)."""
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop promptly: a wait is cut short; a post in flight finishes (its timeout bounds it)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._round:
            self._cursor.close()

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self._interval
            try:
                report = self.run_once()
                if report.next_due is not None:
                    due = (report.next_due - self._now()).total_seconds()
                    wait = min(wait, max(0.05, due))
            except Exception:  # the database, not Slack (Slack's answers never raise)
                log.exception("slack: a delivery round failed; the next one will retry")
            self._wake.wait(wait)
            self._wake.clear()
