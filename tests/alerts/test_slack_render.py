"""The Block Kit body of a notification: exact texts, escaping, links and Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.model import Notification, Reading, Rule, Transition
from alerts.slack import (
    escape,
    format_duration,
    format_value,
    render,
    render_test,
    sparkline,
)

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DASHBOARD = "https://paylens.example.com"


def reading(**changes: Any) -> Reading:
    base: dict[str, Any] = {
        "rule": "payment_success",
        "at": AT,
        "value": 41 / 52,
        "label": "Payment success rate",
        "sample": 52,
        "baseline": 0.954,
        "window_start": AT - timedelta(hours=6),
        "window_end": AT,
        "trend": (0.95, 0.96, 0.93, 0.90, 0.79),
        "driver": "most of the drop is Visa cards issued in BR",
        "page": "payments",
        "query": {"brand": "visa", "country": "BR"},
    }
    return Reading(**{**base, **changes})


def change(**changes: Any) -> Transition:
    base: dict[str, Any] = {
        "rule": "payment_success",
        "segment": "",
        "kind": "firing",
        "at": AT,
        "before": "pending",
        "after": "firing",
        "level": "critical",
        "value": 0.88,
        "threshold": 0.90,
        "notify": True,
        "reading": reading(value=0.88),
    }
    return Transition(**{**base, **changes})


def note(*changes: Transition) -> Notification:
    return Notification("n1", AT, changes)


def mrkdwn_texts(body: dict[str, Any]) -> list[str]:
    """Every text Slack parses as mrkdwn: the top-level text and the sections'."""
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    return [body["text"], *sections]


def test_escape_replaces_exactly_the_three_control_characters() -> None:
    assert escape("a & <b> \"c\" 'd' &amp;") == "a &amp; &lt;b&gt; \"c\" 'd' &amp;amp;"


def test_account_text_can_neither_ping_the_channel_nor_forge_a_link() -> None:
    hostile = reading(
        value=0.88,
        label="Customer <!channel>",
        driver="<http://evil.example|your bank> & co",
        detail="<@U123> <!here> <!subteam^S1>",
    )
    body = render(note(change(segment="<!everyone>", reading=hostile)), dashboard_url=DASHBOARD)
    for text in mrkdwn_texts(body):
        assert "<!" not in text and "<http" not in text and "<@" not in text
    section = body["blocks"][1]["text"]["text"]
    assert "Customer &lt;!channel&gt;" in section
    assert "Driver: &lt;http://evil.example|your bank&gt; &amp; co" in section
    assert "&lt;@U123&gt; &lt;!here&gt; &lt;!subteam^S1&gt;" in section
    assert body["text"].startswith("CRITICAL payment_success (&lt;!everyone&gt;) firing")
    # plain_text is never parsed: the header shows the segment as it is
    assert body["blocks"][0]["text"]["type"] == "plain_text"
    assert "<!everyone>" in body["blocks"][0]["text"]["text"]


def test_the_fallback_text_has_one_line_per_change() -> None:
    resolved = change(
        rule="webhook_delivery",
        kind="resolved",
        before="firing",
        after="ok",
        level="warning",
        value=0.9991,
        threshold=0.995,
        duration=timedelta(hours=2, minutes=10),
        reading=reading(rule="webhook_delivery", value=0.9991, baseline=None, page="health"),
    )
    body = render(note(change(), resolved), dashboard_url=None)
    assert body["text"] == (
        "CRITICAL payment_success firing: 88.0% &lt; 90% (baseline 95.4%)\n"
        "RESOLVED webhook_delivery resolved after 2 h 10 min: 99.91% ≥ 99.5%"
    )


def test_the_header_names_the_highest_severity_and_what_changed() -> None:
    warning = change(rule="monthly_churn", level="warning", value=0.06, threshold=0.05)
    body = render(note(warning, change()), dashboard_url=None)
    assert body["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":red_circle: CRITICAL: payment_success firing (+1 more)",
            "emoji": True,
        },
    }


def test_a_message_of_only_resolutions_is_headed_resolved() -> None:
    resolved = change(kind="resolved", after="ok", value=0.96, threshold=0.95)
    header = render(note(resolved), dashboard_url=None)["blocks"][0]["text"]["text"]
    assert header == ":large_green_circle: RESOLVED: payment_success resolved"


def test_a_section_shows_value_threshold_baseline_sample_trend_and_driver() -> None:
    body = render(note(change(reading=reading())), dashboard_url=None)
    assert body["blocks"][1]["text"]["text"] == (
        ":red_circle: *Payment success rate* firing\n"
        "*88.0% &lt; 90%* · baseline 95.4%\n"
        "41 of 52 attempts\n"
        "Trend over 6 h: ██▇▆▁ 95.0% → 79.0%\n"
        "Driver: most of the drop is Visa cards issued in BR\n"
        "Rule `payment_success`"
    )


def test_the_rule_description_comes_from_the_rules_when_given() -> None:
    rule = Rule("payment_success", "payments.success_rate", timedelta(hours=1), description="A&B")
    section = render(note(change()), dashboard_url=None, rules={rule.name: rule})["blocks"][1]
    assert section["text"]["text"].endswith("Rule `payment_success`: A&amp;B")


def test_muted_changes_never_appear() -> None:
    muted = change(rule="monthly_churn", notify=False, muted_by="silence s1: known")
    body = render(note(change(), muted), dashboard_url=None)
    assert "monthly_churn" not in json.dumps(body)
    with pytest.raises(ValueError, match="nothing to send"):
        render(note(muted), dashboard_url=None)


@pytest.mark.parametrize(
    ("trend", "expected"),
    [
        ((0.0, 0.5, 1.0, None), "▁▅█·"),
        ((2.0, 2.0), "▄▄"),
        ((None, None), ""),
        ((), ""),
        (tuple(range(100)), "".join(sparkline(tuple(range(52, 100))))),  # the last 48 points
    ],
)
def test_the_trend_is_a_sparkline_from_lowest_to_highest(
    trend: tuple[float | None, ...], expected: str
) -> None:
    assert sparkline(trend) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0.88, "rate", "88.0%"),
        (None, "rate", "no data"),
        (1234.4, "count", "1,234"),
        (40.0, "hours", "40 h"),
        (1.5, "hours", "1.5 h"),
        (1234.5, "money", "1,234.50"),
        (1.0, "flag", "yes"),
        (3.0, "intervals", "3 intervals"),
    ],
)
def test_values_read_in_their_unit(value: float | None, unit: str, expected: str) -> None:
    assert format_value(value, unit) == expected


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(seconds=40), "40 s"),
        (timedelta(minutes=5, seconds=20), "5 min"),
        (timedelta(hours=2, minutes=10), "2 h 10 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(days=1, hours=3, minutes=59), "1 d 3 h"),
    ],
)
def test_durations_read_in_their_two_largest_units(span: timedelta, expected: str) -> None:
    assert format_duration(span) == expected


def test_a_count_rule_reads_as_integers_against_its_line() -> None:
    disputes = change(
        rule="open_disputes",
        level="warning",
        value=7.0,
        threshold=5.0,
        reading=reading(unit="count", value=7.0, sample=None, baseline=None, trend=()),
    )
    assert render(note(disputes), dashboard_url=None)["text"] == (
        "WARNING open_disputes firing: 7 &gt; 5"
    )


def test_the_button_opens_the_dashboard_page_with_its_filters() -> None:
    filtered = reading(query={"brand": "visa", "customer": "A&B <x>"})
    body = render(note(change(reading=filtered)), dashboard_url=DASHBOARD + "/")
    assert body["blocks"][-1] == {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open payments", "emoji": True},
                "url": "https://paylens.example.com/payments?brand=visa&customer=A%26B+%3Cx%3E",
                "action_id": "open_0",
            }
        ],
    }


def test_each_change_with_its_own_page_gets_its_own_button() -> None:
    other = change(rule="webhook_delivery", reading=reading(page="health", query={}))
    buttons = render(note(change(), other), dashboard_url=DASHBOARD)["blocks"][-1]["elements"]
    assert [(b["text"]["text"], b["url"]) for b in buttons] == [
        ("payment_success: payments", DASHBOARD + "/payments?brand=visa&country=BR"),
        ("webhook_delivery: health", DASHBOARD + "/health"),
    ]


def test_there_is_no_button_without_a_dashboard_url() -> None:
    body = render(note(change()), dashboard_url=None)
    assert [b["type"] for b in body["blocks"]] == ["header", "section"]


def test_a_dashboard_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        render(note(change()), dashboard_url="javascript:alert(1)")


def test_slacks_limits_hold_for_a_huge_cycle() -> None:
    many = [
        change(rule=f"rule_{i:02}", reading=reading(detail="<&>" * 2000, label="L" * 400))
        for i in range(60)
    ]
    body = render(note(*many), dashboard_url=DASHBOARD)
    blocks = body["blocks"]
    assert len(blocks) == 50
    assert [b["type"] for b in blocks].count("section") == 48
    assert blocks[-2]["text"]["text"].startswith("+13 more: rule_47, rule_48")
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert len(body["text"]) <= 3000
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(blocks[-1]["elements"]) == 1  # one page and filters: one button


def test_a_long_header_is_cut_to_150_characters() -> None:
    header = render(note(change(segment="s" * 300)), dashboard_url=None)["blocks"][0]
    assert len(header["text"]["text"]) == 150
    assert header["text"]["text"].endswith("…")


def test_a_cut_never_leaves_half_an_entity() -> None:
    body = render(note(change(reading=reading(detail="&" * 5000))), dashboard_url=None)
    section = body["blocks"][1]["text"]["text"]
    assert section.endswith("&amp;…") or section.endswith("&amp;")


def test_the_test_message_proves_the_webhook_and_the_link() -> None:
    assert render_test(AT, DASHBOARD) == {
        "text": "paylens test message, sent 2026-11-20 09:00 UTC: alerts will arrive in this "
        "channel.",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "paylens test message", "emoji": True},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Sent 2026-11-20 09:00 UTC by `paylens alerts test`. Alerts will "
                    "arrive in this channel.",
                },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {
                            "type": "plain_text",
                            "text": "Open the dashboard",
                            "emoji": True,
                        },
                        "url": DASHBOARD,
                        "action_id": "open_0",
                    }
                ],
            },
        ],
    }
