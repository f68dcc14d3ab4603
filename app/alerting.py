"""Alerts in the app: the rules and stores from the settings, the cycle after each sync, delivery.

`AlertJob` is a `Service.after_sync` hook: after every sync it evaluates the rules at the
account's clock (the time of Stripe's last answer), records states, transitions and the cycle's
message in the master (before the snapshot is published, so the dashboard sees them), and sends
what the outbox holds. `DeliveryJob` sends the outbox on its own schedule between syncs, so the
end of a Slack outage does not wait for the next cycle.

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
from alerts.evaluate import Context
from alerts.model import Rule, Silence
from alerts.rules import SYNC_METRICS, RuleError, load_rules
from alerts.store import SilenceStore
from app.errors import CommandError
from app.report import summary_for
from app.settings import Settings
from metrics.summary import Summary
from sync.engine import RunResult

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
    con: duckdb.DuckDBPyConnection, settings: Settings, at: datetime, *, account_speed: float = 1.0
) -> Context:
    """`account_speed`: account seconds per machine second (1 for Stripe; the demo's sandbox
    runs faster), so that the sync interval is measured on the account's clock as well."""

    def summarise(since: date, as_of: date) -> Summary:
        return summary_for(con, settings, as_of, since)

    return Context(
        at=at,
        sync_interval=timedelta(seconds=settings.sync_interval_seconds * account_speed),
        summarise=summarise,
    )


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
            context_for(con, self.settings, at, account_speed=self.account_speed),
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
