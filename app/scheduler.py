"""`paylens run`: the scheduled service — one sync + publish cycle every interval, for good.

An APScheduler 3 `BlockingScheduler` runs the cycle with `max_instances=1` (a slow cycle is
never doubled), `coalesce=True` (cycles missed while one ran collapse into one) and a misfire
grace of minutes (a late cycle still runs). The process holds an exclusive lock on
`<data>/paylens.lock` for its lifetime, so a second `paylens run` stops at once with a clear
message, and it keeps the master file open: it is the warehouse's only writer.

`Service.after_sync` hooks run inside every cycle, on the open master connection, before the
snapshot is published: the first is the alert job (`app.alerting.AlertJob`: evaluate the rules
at the account's clock, record, send). With a Slack webhook configured a second job sends the
alert outbox every few seconds between cycles, on its own cursor, and a second hook queues the
weekly digest when it is due (`app.alerting.DigestJob`; not without a webhook, nor with
`PAYLENS_WEEKLY_DIGEST=off`). `Service.scheduler` takes further jobs
(`add_job(..., max_instances=1, coalesce=True)`).

SIGTERM (or Ctrl-C) asks the running cycle to stop: the backfill stops handing out pages,
flushes what it has (its windows stay resumable) and records the run as `abandoned`; an events
poll is short and finishes. Then the process exits 0.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

import duckdb
from apscheduler.schedulers.blocking import BlockingScheduler

from app.alerting import DELIVERY_SECONDS, AlertJob, DigestJob
from app.errors import CommandError
from app.service import open_master, sync_and_publish
from app.settings import Settings
from sync.engine import RunResult

log = logging.getLogger("paylens.service")
Hook = Callable[[duckdb.DuckDBPyConnection, RunResult], None]


class InstanceLock:
    """An exclusive advisory lock on a file in the data directory, held while the service runs."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "paylens.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for life)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise CommandError(
                f"another `paylens run` is already running for {self.path.parent} "
                f"(pid {holder}); stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        interval_seconds: float | None = None,
        account_speed: float = 1.0,
    ) -> None:
        """`account_speed`: account seconds per machine second (the demo's sandbox runs 60×
        faster than Stripe's 1), for the alert rules that count sync intervals."""
        self.settings = settings
        self.interval = interval_seconds or settings.sync_interval_seconds
        self.stopping = threading.Event()
        # the master's writers between cycles (alert delivery) and the publish take turns
        self.write_lock = threading.Lock()
        self.alerts = AlertJob(  # a bad rules file stops start-up here
            settings, write_lock=self.write_lock, account_speed=account_speed
        )
        self.after_sync: list[Hook] = [self.alerts]
        self.digest: DigestJob | None = None
        if self.alerts.transport is not None and settings.weekly_digest is not None:
            self.digest = DigestJob(settings, deliver=self.alerts.deliver)
            self.after_sync.append(self.digest)
        self.on_stop: list[Callable[[], None]] = []  # run once the scheduler has ended
        # The latest cycles' results (None: a cycle that failed before syncing), bounded.
        self.cycles: deque[RunResult | None] = deque(maxlen=100)
        self._busy = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": max(60, int(self.interval)),
            },
        )
        self.scheduler.add_job(
            self.cycle,
            "interval",
            seconds=self.interval,
            id="sync",
            name="sync and publish",
            next_run_time=datetime.now(UTC),
        )
        if self.alerts.transport is not None:
            self.scheduler.add_job(
                self.deliver, "interval", seconds=DELIVERY_SECONDS, id="deliver", name="alerts"
            )

    def run(self) -> int:
        """Steps: take the instance lock; open the master; schedule until stopped; clean up."""
        lock = InstanceLock(self.settings.data_dir)
        lock.acquire()
        try:
            self._con = open_master(self.settings)
            self._install_signals()
            log.info(
                "paylens service: a sync every %ss into %s", self.interval, self.settings.data_dir
            )
            if self.digest is not None:
                log.info(
                    "weekly digest: %s %s on the account's clock",
                    self.settings.weekly_digest,
                    self.settings.timezone,
                )
            self.scheduler.start()
            with self._busy:  # the cycle that was running when asked to stop has ended
                pass
        finally:
            for callback in self.on_stop:
                callback()
            if self._con is not None:
                self._con.close()
            lock.release()
        log.info("paylens service stopped")
        return 0

    def stop(self, *_args: object) -> None:
        """Ask the running cycle to wrap up and the scheduler to end (signal-handler safe)."""
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def cycle(self) -> None:
        """One sync + publish; a failure is logged and recorded, and the next cycle still runs."""
        if self.stopping.is_set() or self._con is None:
            return
        with self._busy:
            try:
                result = sync_and_publish(
                    self.settings,
                    should_stop=self.stopping.is_set,
                    con=self._con,
                    before_publish=self.after_sync,
                    publish_lock=self.write_lock,
                )
                self.cycles.append(result)
            except Exception as exc:
                log.error("sync cycle failed: %s", exc)
                self.cycles.append(None)

    def deliver(self) -> None:
        """Send the alert outbox between syncs, on a connection of its own."""
        if self.stopping.is_set() or self._con is None:
            return
        cursor = self._con.cursor()
        try:
            self.alerts.deliver(cursor)
        except Exception as exc:  # the next run retries; the service goes on
            log.error("alert delivery failed: %s", exc)
        finally:
            cursor.close()

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("received signal %d: finishing the current cycle and stopping", signum)
            self.stop()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)
