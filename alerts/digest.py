"""The weekly digest: a `WeeklyReview` as a Slack message, and when the service posts it.

Both are pure. `digest_blocks` only formats what `metrics.weekly` computed: a header, the
narrative, the key figures as section fields with their change against last week, a button to
the dashboard's `/weekly` page. The narrative names customers and endpoint URLs as the account
has them, so every text Slack parses as mrkdwn is escaped (`alerts.slack.escape`), the
top-level `text` included; the header and the button are `plain_text`. Slack's limits are kept:
10 fields a section, 2,000 characters a field, 3,000 a section, 150 a header, 75 a button.

`Schedule` is `PAYLENS_WEEKLY_DIGEST` ("mon 09:00"), and `due_week` the decision a sync cycle
makes with the clock passed in: the digest of the last complete week is due from the scheduled
moment of the current week until that week ends. Its outbox key, `weekly:<week>`, makes the
post happen once however many cycles find it due.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from alerts.slack import (
    MAX_BUTTON_TEXT,
    MAX_HEADER,
    MAX_SECTION,
    MAX_URL,
    check_url,
    clip,
    cut,
    escape,
    mrkdwn,
    plain_text,
    section,
)
from metrics.money import format_money
from metrics.weekly_model import Figure, IsoWeek, WeeklyReview

MAX_FIELDS = 10  # per section block
MAX_FIELD = 2000  # characters of one field's text
MINUS = "−"  # U+2212: a change reads "−2.1 pts", as Slack sets it in its proportional font
# The figures the digest shows, in two sections (Slack allows 10 fields in one): payments and
# operations, then revenue. The page and the file show every figure; this is the headline.
KEY_FIGURES: tuple[tuple[str, ...], ...] = (
    (
        "payments.success_rate",
        "payments.failed",
        "payments.failed_volume",
        "webhooks.delivery_rate",
        "webhooks.disabled_endpoints",
        "disputes.new",
        "disputes.due_within_72h",
        "churn.involuntary",
        "churn.recovered",
    ),
    (
        "mrr",
        "mrr.net_new",
        "mrr.new",
        "mrr.expansion",
        "mrr.contraction",
        "mrr.churn",
        "subscriptions.new",
        "subscriptions.churned",
        "subscriptions.upgraded",
        "subscriptions.downgraded",
    ),
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SCHEDULE = re.compile(r"([a-z]+) (\d{1,2}):(\d{2})")


def digest_key(week: IsoWeek) -> str:
    """The outbox key of `week`'s digest: one post per week, whoever queues it."""
    return f"weekly:{week}"


def digest_blocks(
    review: WeeklyReview, *, base_url: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """The notification text and the Block Kit blocks of `review`'s digest.

    Blocks: the header ("Weekly review 2026-W23"), the weeks compared, what the review cannot
    vouch for (its warnings), the narrative, the key figures, a button to
    `<base_url>/weekly?week=2026-W23` (none without a `base_url`). Raises ValueError for a
    `base_url` that is not http(s): Slack would refuse the whole message for one bad button.
    """
    check_url(base_url)
    title = f"Weekly review {review.week}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain_text(cut(title, MAX_HEADER))},
        {"type": "context", "elements": [mrkdwn(_weeks(review))]},
    ]
    if review.warnings:
        warnings = "\n".join(f":warning: {escape(w)}" for w in review.warnings)
        blocks.append(section(warnings))
    blocks.append(section("\n".join(f"• {escape(s)}" for s in review.sentences)))
    for keys in KEY_FIGURES:
        fields = [_field(figure) for figure in _figures(review, keys)][:MAX_FIELDS]
        if fields:
            blocks.append({"type": "section", "fields": fields})
    if base_url:
        blocks.append({"type": "actions", "elements": [_button(review.week, base_url)]})
    text = escape(f"{title}: " + " ".join(review.sentences))
    return clip(text, MAX_SECTION), blocks


def value_text(figure: Figure, value: float | None) -> str:
    """A value as the digest shows it: "93.4%", "$12,500.00", "1,204", "36.0 h"; "n/a"."""
    if value is None:
        return "n/a"
    if figure.unit == "rate":
        return f"{value:.1%}"
    if figure.unit == "money":
        return format_money(value, figure.currency or "usd")
    if figure.unit == "hours":
        return f"{value:,.1f} h"
    return f"{value:,.0f}"


def change_text(figure: Figure) -> str:
    """The change against last week: "−2.1 pts" (percentage points: a small one to two
    decimals, so it never reads 0.0), "+$1,200.00", "+3"; "no change"; "n/a" (a side is
    missing)."""
    change = figure.change
    if change is None:
        return "n/a"
    if change == 0:
        return "no change"
    sign = "+" if change > 0 else MINUS
    size = abs(change)
    if figure.unit == "rate":
        return f"{sign}{size:.{1 if size >= 0.05 else 2}f} pts"
    if figure.unit == "money":
        return sign + format_money(size, figure.currency or "usd")
    if figure.unit == "hours":
        return f"{sign}{size:,.1f} h"
    return f"{sign}{size:,.0f}"


def _figures(review: WeeklyReview, keys: Sequence[str]) -> list[Figure]:
    """The figures of `keys` that the review has, in that order."""
    by_key = {figure.key: figure for figure in review.figures}
    return [by_key[key] for key in keys if key in by_key]


def _field(figure: Figure) -> dict[str, Any]:
    """ "*Payment success rate*\n93.4% (−2.1 pts)"."""
    text = f"*{escape(figure.label)}*\n{escape(value_text(figure, figure.this_week))}"
    return mrkdwn(clip(f"{text} ({escape(change_text(figure))})", MAX_FIELD))


def _weeks(review: WeeklyReview) -> str:
    week, previous = review.week, review.previous
    span = f"{week.start:%a %d %b} – {week.end:%a %d %b %Y}"
    so_far = "" if review.complete else " (so far: the week is not over)"
    return escape(f"{span}, UTC days{so_far}; changes against {previous}")


def _button(week: IsoWeek, base_url: str) -> dict[str, Any]:
    url = f"{base_url.rstrip('/')}/weekly?{urlencode({'week': str(week)})}"
    text = cut(f"Open the weekly review {week}", MAX_BUTTON_TEXT)
    return {
        "type": "button",
        "text": plain_text(text),
        "url": url[:MAX_URL],
        "action_id": "open_weekly",
    }


@dataclass(frozen=True)
class Schedule:
    """When the digest goes out each week: a weekday (0 = Monday) and a time of day, in the
    account's time zone."""

    weekday: int
    at: time

    def __str__(self) -> str:
        return f"{DAYS[self.weekday]} {self.at:%H:%M}"


DEFAULT_SCHEDULE = Schedule(0, time(9, 0))


def parse_schedule(text: str) -> Schedule | None:
    """ "mon 09:00", "fri 16:30", "Friday 7:05" (a weekday, short or whole, and a 24-hour
    time), or "off" (None). A ValueError naming the expected form otherwise."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned == "off":
        return None
    match = _SCHEDULE.fullmatch(cleaned)
    names = {**{day: i for i, day in enumerate(DAYS)}, **{d: i for i, d in enumerate(DAY_NAMES)}}
    if match is None or match.group(1) not in names:
        raise ValueError(
            'expected a weekday and a 24-hour time such as "mon 09:00" or "fri 16:30", '
            f'or "off", got {text!r}'
        )
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r}: {hour:02d}:{minute:02d} is not a time of day")
    return Schedule(names[match.group(1)], time(hour, minute))


def scheduled_at(schedule: Schedule, week: IsoWeek, zone: ZoneInfo) -> datetime:
    """The moment `week`'s digest is due (aware, in `zone`)."""
    day = week.start + timedelta(days=schedule.weekday)
    return datetime.combine(day, schedule.at, tzinfo=zone)


def due_week(
    schedule: Schedule | None, now: datetime, zone: ZoneInfo, *, ready: datetime | None
) -> IsoWeek | None:
    """The week whose digest is due at `now`, or None: switched off, before this week's moment,
    or `ready` (when the warehouse first held the whole account; None: not yet) after it.

    From the scheduled moment of the ISO week `now` falls in (its days in `zone`) until that
    week ends, the digest of the week before it is due: a service that was down at the moment
    posts later the same week, never a week late. A new install (or a new backfill) that was
    not ready at the moment waits for the next week's, rather than posting an old digest the
    moment it starts."""
    if schedule is None or ready is None:
        return None
    local = now.astimezone(zone)
    current = IsoWeek.of(local.date())
    moment = scheduled_at(schedule, current, zone)
    return current.previous() if ready <= moment <= local else None
