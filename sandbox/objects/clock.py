"""Calendar arithmetic for billing periods, in UTC unix seconds.

Stripe anchors a subscription's periods to its billing-cycle anchor and clamps to the end of
shorter months (an anchor on Jan 31 renews on Feb 28, then Mar 31), so periods are computed from
the anchor and a period index, never by adding a month to the previous period end.
"""

from __future__ import annotations

import calendar
import datetime as dt

DAY_SECONDS = 86_400
UTC = dt.UTC


def day_start(day: dt.date) -> int:
    """Unix seconds at 00:00:00 UTC of ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def day_end(day: dt.date) -> int:
    """Unix seconds at 23:59:59 UTC of ``day`` (the last second that belongs to it)."""
    return day_start(day) + DAY_SECONDS - 1


def within_day(at: int, delta: int) -> int:
    """``at + delta``, folded back into what is left of ``at``'s UTC day when it would pass it:
    objects stay in their day, and its last second does not collect every late one (clamping
    put ~140 events a day of `large` on 23:59:59, a burst of the simulation's own making)."""
    left = DAY_SECONDS - 1 - at % DAY_SECONDS
    if delta <= left:
        return at + delta
    return at + 1 + (delta - 1) % left if left else at


def iso_time(ts: int) -> str:
    """A timestamp as messages quote it: ``2025-03-01T00:30:00Z``."""
    return dt.datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_of(ts: int) -> dt.date:
    """The UTC calendar day a timestamp falls in."""
    return dt.datetime.fromtimestamp(ts, tz=UTC).date()


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` plus whole months, clamping the day to the target month's length."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def shift_date_months(day: dt.date, months: int) -> dt.date:
    """A calendar date moved by whole months (negative allowed), clamped like ``add_months``."""
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    return add_months(moment, months).date()


def period_boundary(anchor: int, interval: str, interval_count: int, index: int) -> int:
    """Start of the ``index``-th billing period of a subscription anchored at ``anchor``."""
    steps = interval_count * index
    if interval == "day":
        return anchor + steps * DAY_SECONDS
    if interval == "week":
        return anchor + steps * 7 * DAY_SECONDS
    start = dt.datetime.fromtimestamp(anchor, tz=UTC)
    months = steps * 12 if interval == "year" else steps
    if interval not in ("month", "year"):
        raise ValueError(f"unknown interval {interval!r}")
    return int(add_months(start, months).timestamp())
