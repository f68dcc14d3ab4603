"""How a sync runs: its options (parallelism, windows, flushes, incremental timing) and the
progress callback it reports to.

The options belong to the whole run (the backfill's pool and windows, the events poll's overlap
and refresh), so they live here rather than in `sync.backfill`; the rules that size them from
the number of workers live here too, so the application only says how many workers it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str, int, bool], None]  # (resource, objects so far, resource finished)

WORKERS = 48  # fetching threads by default (the settings' `sync_workers`)
EVENTS_OVERLAP_SECONDS = 300  # how far before the cursor a poll lists events again


def windows_for(workers: int) -> int:
    """Windows of one resource fetched at once: a quarter of the workers, at least two. At live
    limits one endpoint takes 24 reads/s, and at ~0.5 s per page under load that needs about 12
    pages in flight; two keep a small pool from fetching one window at a time."""
    return max(2, workers // 4)


@dataclass(frozen=True)
class Options:
    """How hard and how often: parallelism, window size, flush thresholds, incremental timing."""

    workers: int = WORKERS
    windows_per_resource: int = windows_for(WORKERS)
    window_pages: int = 20
    waiting_pages: int = 16  # pages of one resource held for their nested follow-ups, at most
    flush_seconds: float = 0.5
    flush_bytes: int = 32 * 1024 * 1024
    events_overlap_seconds: int = EVENTS_OVERLAP_SECONDS
    # two-hourly: with the 5-minute polls and the daily reconciliation an idle account stays
    # under Stripe's floor of 10,000 reads a month (9,981 in a 31-day month; hourly: 10,725)
    webhook_refresh_seconds: int = 7200
    # the integration setup (portal, tax: `sync.account_setup`), three reads every three days:
    # 9,660 reads in a 30-day month and 9,981 in a 31-day one (daily: 10,044 in 31 days)
    setup_refresh_seconds: int = 3 * 86_400
    cursor_max_age_seconds: int = 29 * 86_400

    @classmethod
    def for_workers(
        cls, workers: int, *, events_overlap_seconds: int = EVENTS_OVERLAP_SECONDS
    ) -> Options:
        """The options of a run with `workers` fetching threads, each resource taking at most
        a quarter of them (`windows_for`)."""
        return cls(
            workers=workers,
            windows_per_resource=windows_for(workers),
            events_overlap_seconds=events_overlap_seconds,
        )
