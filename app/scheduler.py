"""`paylens run`: the scheduled service — one sync + publish cycle every interval, for good.

An APScheduler 3 `BlockingScheduler` runs the cycle with `max_instances=1` (a slow cycle is
never doubled), `coalesce=True` (cycles missed while one ran collapse into one) and a misfire
grace of minutes (a late cycle still runs). The process holds the writer lock
(`<data>/master.lock`, `sync.lock`) for its lifetime, so a second writer stops at once with a
clear message, and it keeps the master file open: it is the warehouse's only writer.

`Service.after_sync` hooks run inside every cycle, on the open master connection, before the
snapshot is published: the first is the alert job (`app.alerting.AlertJob`: evaluate the rules
at the account's clock, record, send). With a Slack webhook configured a second job sends the
alert outbox every few seconds between cycles, on its own cursor, and a second hook queues the
weekly digest when it is due (`app.alerting.DigestJob`; not without a webhook, nor with
`PAYLENS_WEEKLY_DIGEST=off`). `Service.scheduler` takes further jobs
(`add_job(..., max_instances=1, coalesce=True)`).

SIGTERM (or Ctrl-C) asks the running cycle to stop: the backfill stops handing out pages,
flushes what it has (its windows stay resumable) and records the run as `abandoned`; an events
poll is short and finishes. Then the process exits 0. A cycle stuck in a stalled read is waited
for no longer than the request timeout (`run_to_exit`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

import duckdb
from apscheduler.schedulers.blocking import BlockingScheduler

from app.alerting import DELIVERY_SECONDS, AlertJob, DigestJob
from app.service import InstanceLock, open_master, sync_and_publish
from app.settings import Settings
from sync import RunResult, remove_stale_temps

__all__ = ["InstanceLock", "Service", "run_to_exit"]
log = logging.getLogger("paylens.service")
Hook = Callable[[duckdb.DuckDBPyConnection, RunResult], None]


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        interval_seconds: float | None = None,
        account_speed: float = 1.0,
        lock: InstanceLock | None = None,
    ) -> None:
        """`account_speed`: account seconds per machine second (the demo's sandbox runs 60×
        faster than Stripe's 1), for the alert rules that count sync intervals. `lock`: the
        writer lock, when the caller took it already (the demo, before clearing its directory);
        else `run` takes it."""
        self.settings = settings
        self.lock = lock or InstanceLock(settings.data_dir)
        # True once `run` has returned while a cycle was still stuck in a read from Stripe (see
        # `run_to_exit`); `publishing`: the running cycle is past its reads
        self.stuck = False
        self.publishing = threading.Event()
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
        """Steps: take the writer lock; open the master; remove what an interrupted publish
        left; schedule until stopped; wait for the running cycle (`_wait_for_cycle`); clean up."""
        self.lock.acquire()
        try:
            self._con = open_master(self.settings)
            removed = remove_stale_temps(self.settings.snapshot_dir)
            if removed:
                log.info("removed %d unfinished snapshot copies", len(removed))
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
            self.stuck = not self._wait_for_cycle()
        finally:
            for callback in self.on_stop:
                callback()
            if not self.stuck:  # else the stuck cycle still uses both; the exit drops them
                if self._con is not None:
                    self._con.close()
                self.lock.release()
        log.info("paylens service stopped")
        return 0

    def _wait_for_cycle(self) -> bool:
        """Wait for the cycle that was running when asked to stop; False if it is still reading
        from Stripe after the request timeout. A read stalled on the network cannot be cut
        short (the SDK retries it, each try up to the timeout), and a stop must not wait for
        minutes: what that cycle had not committed is read again at the next start, as after
        a kill. A cycle past its reads (history, metrics, alerts, publish) is waited for."""
        if self._busy.acquire(timeout=self.settings.sync_timeout_seconds):
            self._busy.release()
            return True
        if self.publishing.is_set():
            with self._busy:
                return True
        log.warning(
            "the running sync is still waiting on Stripe after %g s; stopping without it "
            "(what it had not committed is fetched again at the next start)",
            self.settings.sync_timeout_seconds,
        )
        return False

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
            self.publishing.clear()
            try:
                result = sync_and_publish(
                    self.settings,
                    should_stop=self.stopping.is_set,
                    con=self._con,
                    before_publish=[self._past_reads, *self.after_sync],
                    publish_lock=self.write_lock,
                )
                self.cycles.append(result)
            except Exception as exc:
                log.error("sync cycle failed: %s", exc)
                self.cycles.append(None)

    def _past_reads(self, _con: duckdb.DuckDBPyConnection, _result: RunResult) -> None:
        """The first hook of every cycle: its reads are over (see `_wait_for_cycle`)."""
        self.publishing.set()

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


def run_to_exit(service: Service) -> int:
    """Run `service` as the command's whole life: if it returned with a cycle stuck in a read
    (`Service._wait_for_cycle`), end the process now, as its thread cannot be interrupted and
    would hold the exit for minutes; the warehouse survives that as it survives a kill."""
    code = service.run()
    if service.stuck:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
