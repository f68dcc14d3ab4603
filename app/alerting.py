"""Alerts in the app: the rules and stores from the settings, the cycle after each sync, delivery.

`AlertJob` is a `Service.after_sync` hook: after every sync it evaluates the rules at the
account's clock (the time of Stripe's last answer), records states, transitions and the cycle's
message in the master (before the snapshot is published, so the dashboard sees them), and sends
what the outbox holds. `DeliveryJob` sends the outbox on its own schedule between syncs, so the
end of a Slack outage does not wait for the next cycle. `DigestJob`, the next hook, queues the
weekly digest once it is due (`PAYLENS_WEEKLY_DIGEST`) and sends it the same way.

Silences are made by people in their own time: a silence "for 2 hours" lasts two hours of this
machine's clock. The rules run on the account's clock (the demo's sandbox runs 60× faster), so
each cycle shifts the silences in force into the account's time before deciding.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from alerts.cycle import CycleOutcome, run_cycle
from alerts.delivery import DeliveryReport, SlackTransport, deliver_due
from alerts.digest import digest_blocks, digest_key, due_week
from alerts.evaluate import Context
from alerts.model import Rule, Silence
from alerts.rules import SYNC_METRICS, RuleError, load_rules
from alerts.store import SilenceStore, SilenceStoreError, enqueue, ensure_schema
from app.errors import CommandError
from app.report import summary_for
from app.service import wrote_data
from app.settings import Settings
from app.weekly import review_for, timezone
from metrics.integration import IntegrationReport, Monitoring, Setup, integration_report
from metrics.summary import Summary
from metrics.weekly_model import IsoWeek, WeeklyReview
from sync import RunResult, backfill_finished

log = logging.getLogger("paylens.alerts")
DELIVERY_SECONDS = 5.0  # how often the outbox is retried between syncs


def alert_rules(settings: Settings) -> tuple[Rule, ...]:
    """The built-in rules merged with the user's file; a bad file is one CommandError."""
    try:
        return load_rules(settings.alerts_file)
    except RuleError as exc:
        raise CommandError(str(exc)) from None


def silence_store(settings: Settings) -> SilenceStore:
    """Silences and acknowledgements: their own file, never the master (SPEC §2)."""
    return SilenceStore(settings.data_dir / "silences.sqlite")


def transport(settings: Settings) -> SlackTransport | None:
    if settings.slack_webhook_url is None:
        return None
    return SlackTransport(settings.slack_webhook_url.reveal())


def context_for(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    at: datetime,
    *,
    account_speed: float = 1.0,
    kept: dict[tuple[Any, ...], Any] | None = None,
) -> Context:
    """`account_speed`: account seconds per machine second (1 for Stripe; the demo's sandbox
    runs faster), so that the sync interval is measured on the account's clock as well.
    `kept`: the summaries and integration scores already computed on the same data (the alert
    job's `Kept`), by their arguments; new ones are added to it."""
    memo = {} if kept is None else kept
    setup = integration_setup(settings)

    def summarise(since: date, as_of: date) -> Summary:
        key = ("summary", since, as_of)
        if key not in memo:
            memo[key] = summary_for(con, settings, as_of, since)
        found: Summary = memo[key]
        return found

    def score(day: date) -> IntegrationReport:
        key = ("integration", day, setup)
        if key not in memo:
            memo[key] = integration_report(con, day, setup)
        found: IntegrationReport = memo[key]
        return found

    return Context(
        at=at,
        sync_interval=timedelta(seconds=settings.sync_interval_seconds * account_speed),
        summarise=summarise,
        integration=setup,
        score=score,
    )


class Kept:
    """The costly readings of the alert rules kept across cycles while what they read stands
    still: the summary behind the summary rules (the churn rates: ~1.7 s on `large`) and the
    integration score (~0.9 s). Both are of a day, so within a day an idle cycle reuses them.
    Everything is dropped when the cycle wrote data (objects, history, a backfill), when the
    run's outcome or its gaps differ from the last cycle's (what the data is missing), or when
    the outbox moved (integration health reads the last delivery)."""

    def __init__(self) -> None:
        self.values: dict[tuple[Any, ...], Any] = {}
        self._inputs: tuple[Any, ...] | None = None

    def for_cycle(
        self, con: duckdb.DuckDBPyConnection, result: RunResult
    ) -> dict[tuple[Any, ...], Any]:
        """The values still valid for this cycle (emptied when its inputs moved)."""
        inputs = (result.status, tuple(result.degraded), _outbox_state(con))
        if wrote_data(result) or inputs != self._inputs:
            self.values.clear()
        self._inputs = inputs
        return self.values


def _outbox_state(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """A digest of the outbox's deliveries (none before its table exists)."""
    found = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE table_name = 'alert_outbox' AND NOT temporary"
    ).fetchall()
    if not found:
        return ()
    rows = con.execute(
        "SELECT count(*), coalesce(bit_xor(hash(key, status, attempts, sent_at)), 0) "
        "FROM alert_outbox"
    ).fetchall()
    return tuple(rows[0])


def integration_setup(settings: Settings) -> Setup:
    """What integration health needs besides the warehouse: the declarations people recorded
    (the control store) and paylens' own alerting (the enabled rules, whether Slack is set).
    The page, `paylens health` and the `integration_health` rule all score with this."""
    try:
        declarations = silence_store(settings).declarations()
    except SilenceStoreError as exc:  # an unreadable control store must not stop scoring
        log.error("integration health: declarations not read (%s)", exc)
        declarations = ()
    rules = tuple(rule.metric for rule in alert_rules(settings))
    return Setup(declarations, Monitoring(rules, settings.slack_webhook_url is not None))


def in_account_time(
    silences: tuple[Silence, ...], machine_now: datetime, account_now: datetime
) -> list[Silence]:
    """Silences in force on the machine's clock, as the same spans from `account_now`."""
    shift = account_now - machine_now
    return [
        dataclasses.replace(
            silence,
            created=min(silence.created + shift, account_now),
            until=account_now + (silence.until - machine_now),
        )
        for silence in silences
        if silence.created <= machine_now < silence.until
    ]


class AlertJob:
    """After each sync: evaluate, record, deliver (a `Service.after_sync` hook)."""

    def __init__(
        self,
        settings: Settings,
        *,
        machine_now: Callable[[], datetime] = lambda: datetime.now(UTC),
        write_lock: AbstractContextManager[Any] | None = None,
        account_speed: float = 1.0,
    ) -> None:
        self.settings = settings
        self.rules = alert_rules(settings)
        self.silences = silence_store(settings)
        self.transport = transport(settings)
        self._now = machine_now
        self._write_lock = write_lock  # held around outbox writes (see `Service.write_lock`)
        self.account_speed = account_speed
        self.last: CycleOutcome | None = None
        self.kept = Kept()  # the day's summary and integration score while the data stands still
        self.lock = threading.Lock()  # one sender at a time: the cycle's or the delivery job's

    def __call__(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        machine_now = self._now()
        at = result.account_time or machine_now
        # Until a backfill is complete the warehouse holds part of the account: only the
        # sync's own health can be judged.
        rules = self.rules if result.complete else self._sync_rules()
        try:
            silences = in_account_time(self.silences.active(machine_now), machine_now, at)
            acknowledged = {
                (ack.rule, ack.segment): ack.at + (at - machine_now)
                for ack in self.silences.acknowledgements()  # oldest first: the newest wins
            }
        except Exception as exc:  # an unreadable silences file must not stop alerting
            log.error("alerts: silences not read (%s); deciding without them", exc)
            silences, acknowledged = [], {}
        self.last = run_cycle(
            con,
            rules,
            context_for(
                con,
                self.settings,
                at,
                account_speed=self.account_speed,
                kept=self.kept.for_cycle(con, result),
            ),
            silences=silences,
            dashboard_url=self.settings.dashboard_url,
            recorded=machine_now,
            deliver=self.transport is not None,
            acknowledged=acknowledged,
        )
        changes = [t for t in self.last.plan.transitions if t.notify]
        if changes:
            log.info(
                "alerts at %s: %s",
                at.isoformat(timespec="seconds"),
                "; ".join(f"{t.rule} {t.kind}" for t in changes),
            )
        self.deliver(con)

    def deliver(self, con: duckdb.DuckDBPyConnection) -> DeliveryReport | None:
        """Send what is due in the outbox (no-op without a webhook)."""
        if self.transport is None:
            return None
        with self.lock:
            return deliver_due(
                con, self.transport, now=self._now, sleep=time.sleep, write_lock=self._write_lock
            )

    def _sync_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.metric in SYNC_METRICS)


def queue_digest(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    review: WeeklyReview,
    *,
    created: datetime,
    recorded: datetime,
) -> bool:
    """Record `review`'s digest in the outbox (key `weekly:<week>`); True if it was queued now,
    False when that key is there already (queued, sent or failed: a week is posted once)."""
    ensure_schema(con)
    text, blocks = digest_blocks(review, base_url=settings.dashboard_url)
    return enqueue(
        con,
        key=digest_key(review.week),
        created=created,
        recorded=recorded,
        payload={"text": text, "blocks": blocks},
        summary=text,
    )


def digest_status(con: duckdb.DuckDBPyConnection, week: IsoWeek) -> str | None:
    """The outbox status of `week`'s digest (queued, sent, failed), None when never queued.
    One key's row, not the whole outbox: the service asks every cycle of the week."""
    tables = con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'alert_outbox'")
    if not tables.fetchall():
        return None
    row = con.execute(
        "SELECT status FROM alert_outbox WHERE key = ?", [digest_key(week)]
    ).fetchone()
    return None if row is None else str(row[0])


def complete_since(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the backfill that the warehouse holds finished, on the account's clock (None: none
    has)."""
    return backfill_finished(con)


class DigestJob:
    """After each successful sync, on the account's clock: queue the weekly digest when it is
    due and not yet in the outbox, then send (a `Service.after_sync` hook, after `AlertJob`).

    The schedule is read on the account's clock (Stripe's at the sync's last answer), the one
    the review's weeks are taken on, so the demo's faster account gets its Monday too. The
    first cycle at or after the moment posts; a service down at the moment posts on its first
    cycle later that week; a warehouse whose backfill finished after the moment (a new
    install) waits for next week's (`alerts.digest.due_week`). A failure to build the digest
    is logged (once a week) and never stops the cycle or its publish: the next cycle tries
    again.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        deliver: Callable[[duckdb.DuckDBPyConnection], object],
        machine_now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.zone = timezone(settings)
        self._deliver = deliver
        self._now = machine_now
        self._failing: IsoWeek | None = None  # the week whose failure was logged

    def __call__(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        if not result.complete or result.status not in ("ok", "degraded"):
            return  # a partial warehouse or a failed sync: the week's figures may be short
        at = result.account_time or self._now()
        week = due_week(self.settings.weekly_digest, at, self.zone, ready=complete_since(con))
        if week is None or digest_status(con, week) is not None:
            return
        try:
            review = review_for(self.settings, con, week)
            queued = queue_digest(con, self.settings, review, created=at, recorded=self._now())
        except Exception:
            if week != self._failing:
                log.exception("weekly digest of %s not queued; the next cycle tries again", week)
            self._failing = week
            return
        if queued:
            log.info("weekly digest of %s queued (due %s)", week, self.settings.weekly_digest)
        self._deliver(con)
