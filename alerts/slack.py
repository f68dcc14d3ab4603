"""A notification as a Slack incoming-webhook body (Block Kit), and nothing else: pure.

Account text (labels, drivers, details, segments) is escaped wherever Slack parses mrkdwn,
the top-level `text` included, so a customer named `<!channel>` pings nobody and
`<http://x|y>` forges no link; headers and buttons are `plain_text`, which Slack never parses.
Slack's limits are kept here: 50 blocks (the rest become "+N more"), 3,000 characters a
section, 150 a header, 75 a button, 3,000 a button URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from alerts.model import Level, Notification, Reading, Rule, Transition

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_BUTTONS = 5  # Slack allows 25 in an actions block; more than a few is noise
MAX_DETAIL = 1000  # raw characters of a detail or driver kept before escaping
SPARKS = "▁▂▃▄▅▆▇█"
TREND_POINTS = 48

_RANK: dict[Level | None, int] = {"critical": 2, "warning": 1, None: 0}
_EMOJI = {"CRITICAL": ":red_circle:", "WARNING": ":large_orange_circle:"}
_RESOLVED_EMOJI = ":large_green_circle:"
_PHRASE = {
    "firing": "firing",
    "escalated": "escalated to critical",
    "deescalated": "down to warning",
    "repeat": "still firing",
    "resolved": "resolved",
    "event": "new",
}


def escape(text: str) -> str:
    """Slack's three control characters as entities (only these: Slack decodes no others)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def check_url(dashboard_url: str | None) -> None:
    """Raises ValueError unless `dashboard_url` is absent or http(s): Slack refuses a whole
    message for one bad button URL."""
    if dashboard_url and not dashboard_url.startswith(("http://", "https://")):
        raise ValueError(f"the dashboard URL must start with http:// or https://: {dashboard_url}")


def section(text: str) -> dict[str, Any]:
    """A section block of escaped mrkdwn `text`, clipped to Slack's 3,000 characters."""
    return {"type": "section", "text": mrkdwn(clip(text, MAX_SECTION))}


def mrkdwn(text: str) -> dict[str, Any]:
    """A text object Slack parses as mrkdwn: `text` must be escaped already."""
    return {"type": "mrkdwn", "text": text}


def plain_text(text: str) -> dict[str, Any]:
    """A text object Slack never parses (headers, buttons): raw `text`, emoji shown."""
    return {"type": "plain_text", "text": text, "emoji": True}


def cut(text: str, limit: int) -> str:
    """Raw text shortened to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip(text: str, limit: int) -> str:
    """Escaped text shortened to `limit`, never cutting an entity (&amp;) in half."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    amp = kept.rfind("&", max(0, len(kept) - 5))
    if amp != -1 and ";" not in kept[amp:]:
        kept = kept[:amp]
    return kept + "…"


def render(
    notification: Notification,
    *,
    dashboard_url: str | None,
    rules: Mapping[str, Rule] | None = None,
) -> dict[str, Any]:
    """The webhook body of `notification`: a header, a section per change (muted ones never
    appear), "+N more" past Slack's block limit, buttons to the dashboard, fallback `text`.

    Raises ValueError when nothing in it may be sent (every change muted) or the dashboard URL
    is not http(s) (Slack would refuse the whole message for one bad button).
    """
    check_url(dashboard_url)
    changes = [c for c in notification.changes if c.notify and c.muted_by is None]
    if not changes:
        raise ValueError(f"notification {notification.key} has nothing to send")
    buttons = _buttons(changes, dashboard_url)
    room = MAX_BLOCKS - 1 - (1 if buttons else 0)  # the header, the actions
    shown = changes if len(changes) <= room else changes[: room - 1]
    hidden = changes[len(shown) :]
    blocks: list[dict[str, Any]] = [_header(changes)]
    blocks += [section(_change_text(c, rules or {})) for c in shown]
    if hidden:
        names = ", ".join(escape(_name(c)) for c in hidden)
        blocks.append(section(f"+{len(hidden)} more: {names}"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    lines = [_fallback_line(c) for c in shown] + ([f"+{len(hidden)} more"] if hidden else [])
    return {"text": clip("\n".join(lines), MAX_SECTION), "blocks": blocks}


def render_test(at: datetime, dashboard_url: str | None) -> dict[str, Any]:
    """The body `paylens alerts test` sends: proves the webhook and the link work."""
    check_url(dashboard_url)
    when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"paylens test message, sent {when}: alerts will arrive in this channel."
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain_text("paylens test message")},
        section(f"Sent {when} by `paylens alerts test`. Alerts will arrive in this channel."),
    ]
    if dashboard_url:
        button = {"type": "button", "text": plain_text("Open the dashboard"), "url": dashboard_url}
        blocks.append({"type": "actions", "elements": [{**button, "action_id": "open_0"}]})
    return {"text": text, "blocks": blocks}


def severity(change: Transition) -> str:
    """CRITICAL / WARNING, or RESOLVED for a change that ends an alert."""
    return "RESOLVED" if change.kind == "resolved" else (change.level or "warning").upper()


def format_value(value: float | None, unit: str, *, decimals: int = 1) -> str:
    """A value as its unit reads: rates as %, counts as integers, hours with "h"."""
    if value is None:
        return "no data"
    if unit == "rate":
        return f"{value * 100:.{decimals}f}%"
    if unit == "count":
        return f"{round(value):,}"
    if unit == "hours":
        return f"{_number(value)} h"
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "flag":
        return "yes" if value else "no"
    if unit == "intervals":
        return f"{_number(value)} intervals"
    return _number(value)


def format_threshold(value: float, unit: str) -> str:
    """A line as the rule file wrote it: 90%, 99.5%, 72 h (no padding zeros)."""
    if unit == "rate":
        return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"
    return format_value(value, unit)


def format_duration(span: timedelta) -> str:
    """2 h 10 min, 3 d 4 h, 5 min, 40 s: the two largest units."""
    seconds = max(0, round(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def sparkline(trend: Sequence[float | None]) -> str:
    """The trend in eighth blocks, lowest to highest value; a gap (no data) is a dot."""
    points = list(trend)[-TREND_POINTS:]
    known = [p for p in points if p is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    top = len(SPARKS) - 1
    return "".join(
        "·" if p is None else SPARKS[top // 2 if span == 0 else round((p - low) / span * top)]
        for p in points
    )


def comparison(change: Transition, unit: str) -> str:
    """ "88.0% < 90%": the value against the line it crossed (shown more precisely than the
    line, so that 99.46% and 99.5% do not both read 99.5%)."""
    if unit == "flag":
        return ""  # a condition: the title says what holds
    if change.threshold is None:
        return format_value(change.value, unit)
    line = format_threshold(change.threshold, unit)
    places = len(line.rstrip("%").partition(".")[2]) + 1 if unit == "rate" else 1
    value = format_value(change.value, unit, decimals=min(3, max(1, places)))
    if change.value is None:
        return f"{value} (line {line})"
    if change.kind == "resolved":  # back on the healthy side of the resolve line
        sign = "≥" if change.value >= change.threshold else "≤"
    else:
        sign = (
            "<"
            if change.value < change.threshold
            else ">"
            if change.value > change.threshold
            else "="
        )
    return f"{value} {sign} {line}"


def _fallback_line(change: Transition) -> str:
    """CRITICAL payment_success firing: 88.0% < 90% (baseline 95.4%), escaped."""
    reading = change.reading
    unit = reading.unit if reading else "rate"
    baseline = _baseline(reading)
    compared = comparison(change, unit)
    return escape(
        f"{severity(change)} {_name(change)} {_phrase(change)}"
        + (f": {compared}" if compared else "")
        + (f" ({baseline})" if baseline else "")
    )


def _change_text(change: Transition, rules: Mapping[str, Rule]) -> str:
    """A change's section: what, the value against the line, sample, trend, driver, detail."""
    reading = change.reading
    unit = reading.unit if reading else "rate"
    word = severity(change)
    title = reading.label if reading and reading.label else change.rule
    seg = f" · {change.segment}" if change.segment and change.segment not in title else ""
    lines = [
        f"{_EMOJI.get(word, _RESOLVED_EMOJI)} *{escape(title + seg)}* {escape(_phrase(change))}",
        " · ".join(
            part
            for part in (f"*{escape(comparison(change, unit))}*", escape(_baseline(reading)))
            if part.strip("*")
        ),
    ]
    if reading is not None:
        lines += [escape(line) for line in _reading_lines(reading)]
    rule = rules.get(change.rule)
    about = f"Rule `{escape(change.rule)}`"
    if rule is not None and rule.description:
        about += f": {escape(cut(rule.description, MAX_DETAIL))}"
    lines.append(about)
    return "\n".join(line for line in lines if line)


def _reading_lines(reading: Reading) -> list[str]:
    lines: list[str] = []
    if reading.sample is not None:
        if reading.unit == "rate" and reading.value is not None:
            lines.append(
                f"{round(reading.value * reading.sample):,} of {reading.sample:,} attempts"
            )
        else:
            lines.append(f"Sample: {reading.sample:,}")
    spark = sparkline(reading.trend)
    if spark:
        window = ""
        if reading.window_start and reading.window_end:
            window = f" over {format_duration(reading.window_end - reading.window_start)}"
        ends = [p for p in reading.trend if p is not None]
        span = f"{format_value(ends[0], reading.unit)} → {format_value(ends[-1], reading.unit)}"
        lines.append(f"Trend{window}: {spark} {span}")
    if reading.driver:
        lines.append(f"Driver: {cut(reading.driver, MAX_DETAIL)}")
    if reading.detail:
        lines.append(cut(reading.detail, MAX_DETAIL))
    return lines


def _baseline(reading: Reading | None) -> str:
    if reading is None or reading.baseline is None:
        return ""
    return f"baseline {format_value(reading.baseline, reading.unit)}"


def _phrase(change: Transition) -> str:
    phrase = _PHRASE.get(change.kind, change.kind)
    if change.kind == "resolved" and change.duration is not None:
        phrase += f" after {format_duration(change.duration)}"
    return phrase


def _name(change: Transition) -> str:
    return f"{change.rule} ({change.segment})" if change.segment else change.rule


def _header(changes: Sequence[Transition]) -> dict[str, Any]:
    worst = max(changes, key=lambda c: (c.kind != "resolved", _RANK.get(c.level, 0)))
    word = severity(worst)
    more = f" (+{len(changes) - 1} more)" if len(changes) > 1 else ""
    text = f"{_EMOJI.get(word, _RESOLVED_EMOJI)} {word}: {_name(worst)} {_phrase(worst)}{more}"
    return {"type": "header", "text": plain_text(cut(text, MAX_HEADER))}


def _buttons(changes: Sequence[Transition], dashboard_url: str | None) -> list[dict[str, Any]]:
    """A link button per change to its dashboard page with its filters (one per distinct URL)."""
    if not dashboard_url:
        return []
    links: dict[str, Transition] = {}
    for change in changes:
        if change.reading is not None:
            links.setdefault(_page_url(dashboard_url, change.reading), change)
    buttons = []
    for i, (url, change) in enumerate(list(links.items())[:MAX_BUTTONS]):
        page = change.reading.page if change.reading and change.reading.page else "dashboard"
        text = f"Open {page}" if len(links) == 1 else f"{_name(change)}: {page}"
        button = {"type": "button", "text": plain_text(cut(text, MAX_BUTTON_TEXT)), "url": url}
        buttons.append({**button, "action_id": f"open_{i}"})
    return buttons


def _page_url(dashboard_url: str, reading: Reading) -> str:
    base = dashboard_url.rstrip("/")
    page = f"{base}/{reading.page}" if reading.page else base
    url = f"{page}?{urlencode(dict(reading.query))}" if reading.query else page
    return url if len(url) <= MAX_URL else page  # a page without its filters beats no link


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
