"""One sync cycle as the CLI, the demo and the scheduled service run it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import duckdb

from app.errors import CommandError
from app.settings import Settings
from metrics.refresh import refresh_pending
from sync import (
    AuthError,
    Growing,
    Options,
    Progress,
    RateLimiter,
    RunResult,
    StripeReader,
    WarehouseLocked,
    WriterLock,
    default_rate,
    publish_changed,
    sync,
)
from sync import open_master as sync_open_master

log = logging.getLogger("paylens.sync")
# What readers read beyond the cycle's data (`sync.publish_changed`): `whole`, the small state
# tables every cycle restates (the sync's and the alert job's), and `growing`, the runs, travel
# in the status file beside CURRENT; a change of a `watched` table (an alert transition, an
# outbox delivery between cycles, a quarantined object) publishes a new snapshot.
STATUS: dict[str, Any] = {
    "whole": ("sync_state", "alert_state"),
    "growing": (Growing("sync_runs", "run_id", "started_at"),),
    "watched": ("alert_transitions", "alert_outbox", "quarantine", "sync_windows"),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_reader(settings: Settings) -> StripeReader:
    """The Stripe reader with the configured limits (rate by key type unless set)."""
    key = settings.require_api_key().reveal()
    rate = settings.sync_rate if settings.sync_rate is not None else default_rate(key)
    return StripeReader(
        key,
        settings.stripe_api_base,
        limiter=RateLimiter(rate, settings.sync_endpoint_rate),
        max_network_retries=settings.sync_network_retries,
        timeout_seconds=settings.sync_timeout_seconds,
    )


def sync_options(settings: Settings) -> Options:
    """The sync's options for the configured workers (each resource may use a quarter of
    them: `sync.Options.for_workers`)."""
    return Options.for_workers(
        settings.sync_workers, events_overlap_seconds=settings.sync_events_overlap_seconds
    )


def sync_and_publish(
    settings: Settings,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    con: duckdb.DuckDBPyConnection | None = None,
    before_publish: Sequence[Callable[[duckdb.DuckDBPyConnection, RunResult], None]] = (),
    publish_lock: AbstractContextManager[Any] | None = None,
) -> RunResult:
    """Steps: take the writer lock and open the master file (unless given a connection); sync
    (on Stripe's clock, which the reader takes from Stripe's answers); store the MRR segments
    of what changed (`metrics.refresh.refresh_pending`); run the hooks; publish a snapshot for
    the readers when they would see a change, else only the status file (`sync.publish_changed`;
    snapshots are named by the machine's clock: the files are this machine's, sorted by name).

    A refused key raises CommandError (nothing else can work until it is fixed). A snapshot is
    published only when the warehouse holds a complete backfill, so readers never see half of
    one; any other failure is recorded in sync_runs and returned. `publish_lock` is held around
    the publish (its CHECKPOINT fails while another cursor of the master has a write open: the
    alert delivery job writes between cycles under the same lock).
    """
    reader = build_reader(settings)
    lock = InstanceLock(settings.data_dir) if con is None else None
    if lock is not None:
        lock.acquire()
    try:
        con = open_master(settings) if con is None else con
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    try:
        result = sync(
            reader,
            con,
            sync_options(settings),
            progress=progress or _log_progress,
            should_stop=should_stop,
        )
        if isinstance(result.exception, AuthError):
            raise CommandError(str(result.exception))
        changed = result.complete and wrote_data(result)
        if result.complete:  # the MRR tables of what the history rebuilt (`mrr_pending`)
            started = time.monotonic()
            refreshed = refresh_pending(con)
            changed = changed or refreshed.mode != "none"
            result.seconds["metrics"] = time.monotonic() - started
        started = time.monotonic()
        for hook in before_publish:
            hook(con, result)
        if before_publish:
            result.seconds["after_sync"] = time.monotonic() - started
        published = None
        if result.complete and result.status != "abandoned":
            started = time.monotonic()
            with publish_lock or nullcontext():
                published = publish_changed(
                    con,
                    settings.master_path,
                    settings.snapshot_dir,
                    utc_now(),
                    changed=changed,
                    **STATUS,
                )
            result.seconds["publish"] = time.monotonic() - started
    finally:
        if lock is not None:  # the file first: the lock guards it until it is closed
            con.close()
            lock.release()
    _log_result(result, published)
    return result


def wrote_data(result: RunResult) -> bool:
    """Whether the run wrote anything the MRR tables or readers' data read: objects (events
    applied, a refresh, a reconciliation), history, or a backfill."""
    return result.kind == "backfill" or result.history_rebuilt > 0 or any(result.objects.values())


def _log_result(result: RunResult, published: str | None) -> None:
    objects = ", ".join(f"{table} {count}" for table, count in result.objects.items()) or "none"
    where = (
        f"published {published}"
        if published
        else "nothing new to publish"
        if result.complete
        else "not published (backfill incomplete)"
    )
    if result.status == "ok":
        log.info("sync %s ok: %d reads; %s; %s", result.kind, result.reads, objects, where)
        return
    if result.status == "abandoned":  # a stop was asked for: nothing went wrong
        log.info("sync %s stopped on request after %d reads; %s", result.kind, result.reads, where)
        return
    errors = "; ".join(f"{name}: {error}" for name, error in result.errors.items())
    if result.status == "degraded":  # synced and published, with gaps every surface names
        log.warning(
            "sync %s degraded: %d reads; %s; %s; %s",
            result.kind,
            result.reads,
            result.error or errors,
            objects,
            where,
        )
        return
    log.error(
        "sync %s %s after %d reads: %s; %s",
        result.kind,
        result.status,
        result.reads,
        result.error or errors,
        where,
    )


class InstanceLock(WriterLock):
    """The warehouse's writer lock (`sync.lock`), refusing in one line (a CommandError). Held
    by `paylens run` for its life, and by `paylens sync` and the digest post while they write."""

    def acquire(self) -> None:
        try:
            super().acquire()
        except WarehouseLocked as exc:
            raise CommandError(str(exc)) from None


def open_master(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The master read-write (`sync.open_master`); callers hold the writer lock first. DuckDB's
    own lock still refuses a program that is not paylens, in one line (a CommandError)."""
    try:
        return sync_open_master(settings.master_path)
    except WarehouseLocked as exc:
        raise CommandError(str(exc)) from None


def _log_progress(resource: str, objects: int, finished: bool) -> None:
    if finished:
        log.info("backfill %s: %d objects", resource, objects)
