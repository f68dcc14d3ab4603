"""One sync cycle as the CLI, the demo and (later) the scheduled service run it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import duckdb

from app.errors import CommandError
from app.settings import Settings
from sync.client import AuthError, StripeReader
from sync.engine import RunResult, backfill
from sync.snapshots import publish
from sync.store import open_warehouse

log = logging.getLogger("paylens.sync")


def utc_now() -> datetime:
    return datetime.now(UTC)


def sync_and_publish(settings: Settings) -> RunResult:
    """Steps: open the master file; sync; publish a snapshot for the readers; close.

    A refused key raises CommandError (nothing else can work until it is fixed); any other
    failure is recorded in sync_runs, published like a success, and returned.
    """
    reader = StripeReader(settings.require_api_key().reveal(), settings.stripe_api_base)
    con = open_master(settings)
    try:
        result = backfill(reader, con, utc_now, progress=_log_progress)
        if isinstance(result.exception, AuthError):
            raise CommandError(str(result.exception))
        snapshot = publish(con, settings.master_path, settings.snapshot_dir, utc_now())
    finally:
        con.close()
    objects = ", ".join(f"{table} {count}" for table, count in result.objects.items())
    if result.status == "ok":
        log.info("sync ok: %d reads; %s; published %s", result.reads, objects, snapshot.name)
    else:
        log.error(
            "sync failed after %d reads: %s; published %s",
            result.reads,
            result.error,
            snapshot.name,
        )
    return result


def open_master(settings: Settings) -> duckdb.DuckDBPyConnection:
    try:
        return open_warehouse(settings.master_path)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise CommandError(
                f"{settings.master_path} is in use by another paylens process (is `paylens run` "
                "going?); only one process may write the warehouse"
            ) from None
        raise


def _log_progress(table: str, count: int) -> None:
    log.info("synced %s: %d", table, count)
