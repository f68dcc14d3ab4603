"""The weekly digest as Slack receives it (hand-built reviews, exact payloads) and the schedule
that decides when the service posts it (a table of cases, the clock passed in)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.digest import (
    KEY_FIGURES,
    MAX_FIELD,
    MAX_FIELDS,
    Schedule,
    change_text,
    digest_blocks,
    digest_key,
    due_week,
    parse_schedule,
)
from alerts.slack import MAX_BLOCKS, MAX_HEADER, MAX_SECTION
from metrics.weekly_model import Figure, IsoWeek, WeeklyReview

WEEK = IsoWeek(2026, 23)
BASE = "https://paylens.example.com"
HOSTILE = "<!channel> & <https://evil.example|click here>"


def figure(key: str, unit: str, this: float | None, last: float | None, **kw: Any) -> Figure:
    change = None if this is None or last is None else this - last
    if change is not None and unit == "rate":
        change *= 100
    return Figure(
        key=key,
        label=kw.pop("label", key),
        topic=kw.pop("topic", "payments"),
        unit=unit,  # type: ignore[arg-type]
        this_week=this,
        last_week=last,
        change=change,
        link=f"/payments?range=custom&from={WEEK.start}&to={WEEK.end}",
        currency="usd" if unit == "money" else kw.pop("currency", None),
    )


def review(sentences: tuple[str, ...], figures: tuple[Figure, ...], **kw: Any) -> WeeklyReview:
    return WeeklyReview(
        week=WEEK,
        previous=WEEK.previous(),
        currency="usd",
        complete=kw.pop("complete", True),
        figures=figures,
        sentences=sentences,
        **kw,
    )


SUCCESS = figure("payments.success_rate", "rate", 0.934, 0.955, label="Payment success rate")
MRR = figure("mrr", "money", 12_500.0, 12_000.0, label="MRR (end of week)", topic="revenue")
FAILED = figure("payments.failed", "count", 41.0, 12.0, label="Failed payments")


def test_a_digest_has_a_header_the_weeks_the_narrative_the_figures_and_a_button() -> None:
    sentences = (
        "Success rate fell 2.1 points to 93.4%; most of the drop is Visa cards issued in BR "
        "declining with do_not_honor (41 of 52 failures).",
        "MRR rose $500.00 (+4.2%), mostly expansion: Acme upgraded.",
    )
    text, blocks = digest_blocks(review(sentences, (SUCCESS, FAILED, MRR)), base_url=BASE)

    assert blocks == [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly review 2026-W23",
                                    "emoji": True}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            "Mon 01 Jun – Sun 07 Jun 2026, UTC days; changes against 2026-W22")}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(
            f"• {s}" for s in sentences)}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": "*Payment success rate*\n93.4% (−2.1 pts)"},
            {"type": "mrkdwn", "text": "*Failed payments*\n41 (+29)"},
        ]},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": "*MRR (end of week)*\n$12,500.00 (+$500.00)"},
        ]},
        {"type": "actions", "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Open the weekly review 2026-W23",
                     "emoji": True},
            "url": "https://paylens.example.com/weekly?week=2026-W23",
            "action_id": "open_weekly",
        }]},
    ]  # fmt: skip
    assert text == "Weekly review 2026-W23: " + " ".join(sentences)


def test_account_text_is_escaped_wherever_slack_reads_mrkdwn() -> None:
    sentences = (f"MRR rose $500.00, mostly expansion: {HOSTILE} upgraded.",)
    hostile_figure = figure("payments.failed", "count", 3.0, 1.0, label=HOSTILE)
    text, blocks = digest_blocks(
        review(sentences, (hostile_figure,), warnings=(f"no FX rate for {HOSTILE}",)),
        base_url=BASE,
    )

    escaped = "&lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt;"
    mrkdwn = [
        item["text"]
        for block in blocks
        for item in [block.get("text", {}), *block.get("fields", []), *block.get("elements", [])]
        if item.get("type") == "mrkdwn"
    ]
    assert f"• MRR rose $500.00, mostly expansion: {escaped} upgraded." in mrkdwn
    assert f":warning: no FX rate for {escaped}" in mrkdwn
    assert f"*{escaped}*\n3 (+2)" in mrkdwn
    assert escaped in text
    for shown in [*mrkdwn, text]:
        assert "<!channel>" not in shown and "<https://" not in shown


@pytest.mark.parametrize(
    ("unit", "this", "last", "expected"),
    [
        ("rate", 0.934, 0.955, "−2.1 pts"),
        ("rate", 0.9731, 0.9727, "+0.04 pts"),  # small: two decimals, never "+0.0 pts"
        ("rate", 0.95, 0.95, "no change"),
        ("rate", 0.95, None, "n/a"),
        ("money", 11_700.0, 12_000.0, "−$300.00"),
        ("count", 1204.0, 1201.0, "+3"),
        ("hours", 36.0, 12.5, "+23.5 h"),
    ],
)
def test_a_change_reads_in_its_unit(
    unit: str, this: float, last: float | None, expected: str
) -> None:
    assert change_text(figure("x", unit, this, last)) == expected


def test_money_is_shown_in_its_currency() -> None:
    yen = Figure("mrr", "MRR", "revenue", "money", 98_000.0, 90_000.0, 8_000.0, "/revenue", "jpy")
    _, blocks = digest_blocks(review(("x",), (yen,)), base_url=None)
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    assert fields == ["*MRR*\n¥98,000 (+¥8,000)"]


def test_without_a_dashboard_url_there_is_no_button_and_a_bad_one_is_refused() -> None:
    _, blocks = digest_blocks(review(("x",), (SUCCESS,)), base_url=None)
    assert "actions" not in [block["type"] for block in blocks]
    with pytest.raises(ValueError, match="http"):
        digest_blocks(review(("x",), (SUCCESS,)), base_url="paylens.example.com")


def test_a_week_not_over_says_so() -> None:
    _, blocks = digest_blocks(review(("x",), (SUCCESS,), complete=False), base_url=None)
    assert "so far: the week is not over" in blocks[1]["elements"][0]["text"]


def test_slacks_limits_hold_for_every_figure_and_a_long_narrative() -> None:
    keys = [key for section in KEY_FIGURES for key in section]
    every = tuple(figure(key, "count", 10.0**12, 1.0, label="L" * 3000) for key in keys)
    long = tuple("&" * 2000 for _ in range(5))
    text, blocks = digest_blocks(review(long, every, warnings=("w" * 5000,)), base_url=BASE)

    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= MAX_HEADER
    for block in blocks:
        if "text" in block and block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION
        fields = block.get("fields", [])
        assert len(fields) <= MAX_FIELDS
        assert all(len(field["text"]) <= MAX_FIELD for field in fields)
        for field in fields:  # an entity is never cut in half
            assert not field["text"].rstrip("…").endswith(("&", "&a", "&am"))
    assert len(text) <= MAX_SECTION
    assert sum(len(b.get("fields", [])) for b in blocks) == sum(map(len, KEY_FIGURES))
    json.dumps(blocks)  # the outbox stores it as JSON


def test_the_outbox_key_names_the_week() -> None:
    assert digest_key(WEEK) == "weekly:2026-W23"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon 09:00", Schedule(0, time(9, 0))),
        ("Fri 16:30", Schedule(4, time(16, 30))),
        ("  sunday   7:05 ", Schedule(6, time(7, 5))),
        ("OFF", None),
    ],
)
def test_a_schedule_is_a_weekday_and_a_time_or_off(text: str, expected: Schedule | None) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("monday", 'such as "mon 09:00"'),
        ("09:00", 'such as "mon 09:00"'),
        ("mo 09:00", 'such as "mon 09:00"'),
        ("mon 9am", 'such as "mon 09:00"'),
        ("mon 24:00", "24:00 is not a time of day"),
        ("mon 09:60", "09:60 is not a time of day"),
        ("", 'or "off"'),
    ],
)
def test_a_bad_schedule_says_what_is_expected(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_schedule(text)


MONDAY_NINE = Schedule(0, time(9, 0))
BERLIN = ZoneInfo("Europe/Berlin")
LONG_AGO = datetime(2026, 1, 5, tzinfo=UTC)  # when the warehouse was first complete


@pytest.mark.parametrize(
    ("schedule", "now", "zone", "expected"),
    [
        # Monday 2026-06-08, 09:00 UTC: the digest of the week that ended on Sunday is due
        (MONDAY_NINE, datetime(2026, 6, 8, 8, 59, 59, tzinfo=UTC), UTC, None),
        (MONDAY_NINE, datetime(2026, 6, 8, 9, 0, tzinfo=UTC), UTC, IsoWeek(2026, 23)),
        # a service down at the moment posts later the same week ...
        (MONDAY_NINE, datetime(2026, 6, 11, 15, 0, tzinfo=UTC), UTC, IsoWeek(2026, 23)),
        (MONDAY_NINE, datetime(2026, 6, 14, 23, 59, tzinfo=UTC), UTC, IsoWeek(2026, 23)),
        # ... and never a week late: the next Monday morning is the next week's, not yet due
        (MONDAY_NINE, datetime(2026, 6, 15, 8, 0, tzinfo=UTC), UTC, None),
        # in Berlin (UTC+2 in June) Monday 09:00 is 07:00 UTC
        (MONDAY_NINE, datetime(2026, 6, 8, 6, 59, tzinfo=UTC), BERLIN, None),
        (MONDAY_NINE, datetime(2026, 6, 8, 7, 0, tzinfo=UTC), BERLIN, IsoWeek(2026, 23)),
        # Sunday 23:30 UTC is already Monday 01:30 in Berlin: a new week there, before 09:00
        (Schedule(6, time(20, 0)), datetime(2026, 6, 14, 23, 30, tzinfo=UTC), BERLIN, None),
        # and in winter (UTC+1) the same moment keeps 09:00 local
        (MONDAY_NINE, datetime(2026, 12, 7, 7, 59, tzinfo=UTC), BERLIN, None),
        (MONDAY_NINE, datetime(2026, 12, 7, 8, 0, tzinfo=UTC), BERLIN, IsoWeek(2026, 49)),
        # Friday 16:30: the last complete week is still the one before
        (Schedule(4, time(16, 30)), datetime(2026, 6, 12, 16, 30, tzinfo=UTC), UTC,
         IsoWeek(2026, 23)),
        # the first ISO week of a year: Monday 2027-01-04 reviews 2026-W53
        (MONDAY_NINE, datetime(2027, 1, 4, 9, 0, tzinfo=UTC), UTC, IsoWeek(2026, 53)),
        (None, datetime(2026, 6, 8, 9, 0, tzinfo=UTC), UTC, None),
    ],
)  # fmt: skip
def test_the_digest_is_due_from_the_moment_until_the_week_ends(
    schedule: Schedule | None, now: datetime, zone: ZoneInfo, expected: IsoWeek | None
) -> None:
    assert due_week(schedule, now, zone, ready=LONG_AGO) == expected


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        (LONG_AGO, IsoWeek(2026, 23)),  # down at 09:00, up on Wednesday: posts then
        (datetime(2026, 6, 8, 9, 0, tzinfo=UTC), IsoWeek(2026, 23)),  # complete just in time
        (datetime(2026, 6, 8, 9, 0, 1, tzinfo=UTC), None),  # installed after the moment
        (datetime(2026, 6, 9, 12, 0, tzinfo=UTC), None),  # a new backfill on Tuesday
        (None, None),  # no complete backfill yet
    ],
)
def test_a_warehouse_not_ready_at_the_moment_waits_for_next_weeks_digest(
    ready: datetime | None, expected: IsoWeek | None
) -> None:
    wednesday = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    assert due_week(MONDAY_NINE, wednesday, UTC, ready=ready) == expected
