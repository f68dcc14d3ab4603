"""The weekly review for the app: which week, on whose clock, with the user's settings.

A week's days are UTC days, like every metric's. `PAYLENS_TIMEZONE` (default UTC) only decides
which week is the last complete one: the account's day is taken in that zone, so in
Pacific/Auckland the review of the week just ended is there on Monday morning, hours before
UTC's Monday (docs/WEEKLY.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import duckdb

from app.report import churn_settings, fx_rates
from app.settings import Settings
from metrics.weekly import default_week, weekly_review
from metrics.weekly_model import IsoWeek, WeeklyReview
from sync import account_now, last_heard


def timezone(settings: Settings) -> ZoneInfo:
    """The account's time zone (`PAYLENS_TIMEZONE`, default UTC)."""
    return ZoneInfo(settings.timezone)


def account_moment(settings: Settings, con: duckdb.DuckDBPyConnection) -> datetime:
    """The account's time in its zone: Stripe's at the last sync's answer (the moment the
    dashboard's default day comes from), else the machine's with the offset the sync learned."""
    heard = last_heard(con) or account_now(con, datetime.now(UTC))
    return heard.astimezone(timezone(settings))


def review_for(
    settings: Settings, con: duckdb.DuckDBPyConnection, week: IsoWeek | None = None
) -> WeeklyReview:
    """The review of `week`; by default the last complete week on the account's day in its
    time zone."""
    today = account_moment(settings, con).date()
    return weekly_review(
        con,
        week=week or default_week(today),
        today=today,
        definition=churn_settings(settings),
        reporting_currency=settings.reporting_currency,
        rates=fx_rates(settings),
    )
