"""The default schedule's reads a month for an idle account (docs/SYNC.md, Incremental): under
Stripe's floor of 10,000 (SPEC §4), in a 31-day month too."""

from __future__ import annotations

from app.settings import Settings
from sync import Options
from sync.reconcile import RECONCILED_RESOURCES
from sync.status import MONTHLY_READ_FLOOR

POLL_READS = 1  # an idle incremental run: one /v1/events page
WEBHOOK_REFRESH_READS = 2  # the endpoints list and the still-undelivered events list
SETUP_REFRESH_READS = 3  # portal configurations, tax settings, tax registrations


def _idle_month(days: int) -> int:
    seconds = days * 86_400
    polls = seconds // Settings().sync_interval_seconds * POLL_READS
    refreshes = seconds // Options().webhook_refresh_seconds * WEBHOOK_REFRESH_READS
    reconciliations = days * len(RECONCILED_RESOURCES)  # one page per resource, once a day
    setup = seconds // Options().setup_refresh_seconds * SETUP_REFRESH_READS
    return polls + refreshes + reconciliations + setup


def test_an_idle_account_reads_9660_in_30_days_and_9981_in_31_under_stripes_floor() -> None:
    assert len(RECONCILED_RESOURCES) == 9
    assert (_idle_month(30), _idle_month(31)) == (9_660, 9_981)
    assert _idle_month(31) < MONTHLY_READ_FLOOR == 10_000
