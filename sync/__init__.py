"""Pulls a Stripe account into the DuckDB warehouse and publishes read-only snapshots.

This module is the sync's public face: the application (`app/`) imports only from here, never
from a module under it, so the modules can be reorganised without touching the application.

Syncing once
    `sync(reader, con, options)` runs one sync (a backfill when one is needed, else an events
    poll) and returns its `RunResult`; `Options` says how hard (workers, windows per resource:
    `Options.for_workers`) and how often; `Progress` is the backfill's progress callback.
Reading Stripe
    `StripeReader` (the stripe SDK behind token buckets: `RateLimiter`, `default_rate` for a
    key's mode) and `AuthError`, the refusal of a key, after which nothing can work.
The master file
    `WriterLock` (one writer per data directory; `WarehouseLocked` when another holds it), and
    `open_master`, which opens the master read-write under it.
Snapshots
    `publish` copies the master to a new snapshot and points `CURRENT` at it;
    `publish_changed` does so only when readers would see a change, and always writes the
    status file beside it that carries the runs and small state tables (`Growing`);
    `remove_stale_temps` clears copies a killed publish left; readers read through
    `SnapshotReader` (which reopens when `CURRENT` changes, and shadows the tables the status
    file carries) or find the file with `current_snapshot`; `freshness_key` names what a
    reader would see now (a cache key).
Status
    `sync_status` / `format_status` (what `paylens sync status` shows), `latest_runs`,
    `last_heard` (the moment the warehouse is as of), `account_now` and `account_day` (Stripe's
    clock and day), `backfill_finished`, `MONTHLY_READ_FLOOR`.
Secrets
    `scrub` (key- and webhook-shaped text out of an error) and `scrub_handlers` (the same for
    log handlers).

The names are loaded on first use (PEP 562 `__getattr__`): every module under `sync` imports
this package first, and a page that only reads a snapshot should not import the stripe SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# `scrub` is also a module's name: imported here first, so that the package's attribute is the
# function (the import system sets a submodule's attribute only when it first loads it)
from sync.scrub import scrub, scrub_handlers

if TYPE_CHECKING:
    from sync.client import AuthError, StripeReader
    from sync.engine import RunResult, sync
    from sync.freshness import Growing
    from sync.limits import RateLimiter, default_rate
    from sync.lock import WarehouseLocked, WriterLock
    from sync.master import open_master
    from sync.options import Options, Progress
    from sync.runs import latest_runs
    from sync.snapshots import (
        SnapshotReader,
        current_snapshot,
        freshness_key,
        publish,
        publish_changed,
        remove_stale_temps,
    )
    from sync.status import (
        MONTHLY_READ_FLOOR,
        account_day,
        account_now,
        backfill_finished,
        format_status,
        last_heard,
        sync_status,
    )

__all__ = [
    "MONTHLY_READ_FLOOR",
    "AuthError",
    "Growing",
    "Options",
    "Progress",
    "RateLimiter",
    "RunResult",
    "SnapshotReader",
    "StripeReader",
    "WarehouseLocked",
    "WriterLock",
    "account_day",
    "account_now",
    "backfill_finished",
    "current_snapshot",
    "default_rate",
    "format_status",
    "freshness_key",
    "last_heard",
    "latest_runs",
    "open_master",
    "publish",
    "publish_changed",
    "remove_stale_temps",
    "scrub",
    "scrub_handlers",
    "sync",
    "sync_status",
]

# where each name loaded on first use is defined
LAZY: dict[str, str] = {
    "AuthError": "sync.client",
    "StripeReader": "sync.client",
    "RunResult": "sync.engine",
    "sync": "sync.engine",
    "Growing": "sync.freshness",
    "RateLimiter": "sync.limits",
    "default_rate": "sync.limits",
    "WarehouseLocked": "sync.lock",
    "WriterLock": "sync.lock",
    "open_master": "sync.master",
    "Options": "sync.options",
    "Progress": "sync.options",
    "latest_runs": "sync.runs",
    "SnapshotReader": "sync.snapshots",
    "current_snapshot": "sync.snapshots",
    "freshness_key": "sync.snapshots",
    "publish": "sync.snapshots",
    "publish_changed": "sync.snapshots",
    "remove_stale_temps": "sync.snapshots",
    "MONTHLY_READ_FLOOR": "sync.status",
    "account_day": "sync.status",
    "account_now": "sync.status",
    "backfill_finished": "sync.status",
    "format_status": "sync.status",
    "last_heard": "sync.status",
    "sync_status": "sync.status",
}


if not TYPE_CHECKING:  # hidden from mypy, which checks each name against its module instead

    def __getattr__(name: str) -> object:
        """Load a public name from its module on first use, and keep it here."""
        module = LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'sync' has no attribute {name!r}")
        # the import statement's own path (not importlib's), which `-X importtime` reports
        value = getattr(__import__(module, fromlist=[name]), name)
        globals()[name] = value
        return value
