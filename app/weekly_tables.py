"""The weekly review as text: each figure's value and change, and its rows as tables of text.

The `/weekly` page and the offline HTML/PDF file show the same words, so both take them from
here; nothing is computed, only formatted (money in its currency, rates as percentages, changes
of rates in percentage points, times in UTC). Account text (customer names, endpoint URLs,
decline reasons) stays as typed: a consumer shows it as plain text, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TypeVar

import pandas as pd

from metrics.money import format_money
from metrics.weekly_model import Figure, WeeklyReview

TOPICS = {  # Figure.topic → its heading, in the page's order
    "payments": "Payments",
    "webhooks": "Webhooks",
    "disputes": "Disputes",
    "subscriptions": "Subscriptions",
    "revenue": "Revenue",
    "churn": "Churn and recovery",
}
DIMENSIONS = {  # BreakdownRow.dimension → its name in a table
    "brand": "Card brand",
    "country": "Card country",
    "amount_band": "Amount band",
    "decline_code": "Decline code",
    "funding": "Funding",
}
# Figures where a rise is bad news: their change is coloured the other way round.
WORSE_WHEN_UP = frozenset(
    {
        "payments.failed",
        "payments.failed_volume",
        "webhooks.undelivered",
        "webhooks.pending",
        "webhooks.disabled_endpoints",
        "disputes.new",
        "disputes.open",
        "disputes.due_within_72h",
        "disputes.at_risk",
        "subscriptions.churned",
        "subscriptions.downgraded",
        "mrr.contraction",
        "mrr.churn",
        "churn.involuntary",
        "churn.involuntary_share",
    }
)
NO_CHANGE = "no change"
Row = TypeVar("Row")


def value_text(figure: Figure, value: float | None) -> str:
    """One of `figure`'s values as shown: "97.31%", "$12,500.00", "1,204", "36.0 h"; "n/a"
    when there is none (no attempts, a missing FX rate)."""
    if value is None:
        return "n/a"
    if figure.unit == "rate":
        return f"{value:.2%}"
    if figure.unit == "money":
        return format_money(value, figure.currency or "usd")
    if figure.unit == "hours":
        return f"{value:,.1f} h"
    return f"{value:,.0f}"


def money_text(amount: float | None, currency: str) -> str:
    """An amount in `currency`, or "n/a" when it could not be converted."""
    return "n/a" if amount is None else format_money(amount, currency)


def change_text(figure: Figure) -> str:
    """`figure`'s change against last week, signed: "-2.10 pp", "+$1,200.00", "+3"; "no
    change", or "n/a" when a side is missing."""
    change = figure.change
    if change is None:
        return "n/a"
    if change == 0:
        return NO_CHANGE
    sign = "+" if change > 0 else "-"
    if figure.unit == "rate":
        return f"{sign}{abs(change):.2f} pp"
    if figure.unit == "money":
        return sign + format_money(abs(change), figure.currency or "usd")
    if figure.unit == "hours":
        return f"{sign}{abs(change):,.1f} h"
    return f"{sign}{abs(change):,.0f}"


def figures_table(review: WeeklyReview) -> pd.DataFrame:
    """Every checklist figure: topic, label, this week, last week, change, its page's path."""
    return _table(
        review.figures,
        {
            "Topic": lambda figure: TOPICS.get(figure.topic, figure.topic),
            "Figure": lambda figure: figure.label,
            str(review.week): lambda figure: value_text(figure, figure.this_week),
            str(review.previous): lambda figure: value_text(figure, figure.last_week),
            "Change": change_text,
            "Details": lambda figure: figure.link,
        },
    )


def failures_table(review: WeeklyReview) -> pd.DataFrame:
    """Failed payments by dimension and value, both weeks, with this week's lost volume."""
    return _table(
        review.failures,
        {
            "Dimension": lambda row: DIMENSIONS.get(row.dimension, row.dimension),
            "Value": lambda row: row.value,
            f"Failed {review.week}": lambda row: f"{row.failures:,} of {row.attempts:,}",
            f"Failed {review.previous}": lambda row: (
                f"{row.last_week_failures:,} of {row.last_week_attempts:,}"
            ),
            f"Lost {review.week}": lambda row: money_text(row.lost_amount, review.currency),
        },
    )


def disputes_table(review: WeeklyReview) -> pd.DataFrame:
    """The week's new and still-open disputes with Stripe's deadline and paylens' 7 days."""
    return _table(
        review.disputes,
        {
            "Dispute": lambda row: row.dispute,
            "Opened (UTC)": lambda row: _time(row.created),
            "Amount": lambda row: format_money(row.amount, row.currency),
            "Reason": lambda row: row.reason,
            "Status": lambda row: row.status,
            "Evidence due by (UTC)": lambda row: _time(row.due_by),
            "Respond by (7 days)": lambda row: _time(row.respond_by),
            "Needs a response": lambda row: "yes" if row.needs_response else "no",
            "Customer": lambda row: row.customer or "",
            "Charge": lambda row: row.charge or "",
        },
    )


def endpoints_table(review: WeeklyReview) -> pd.DataFrame:
    """Each webhook endpoint's week: status, events it takes, those still awaited."""
    return _table(
        review.endpoints,
        {
            "Endpoint": lambda row: row.endpoint,
            "URL": lambda row: row.url,
            "Status": lambda row: row.status,
            "Events": lambda row: f"{row.deliveries:,}",
            "Undelivered": lambda row: f"{row.failures:,}",
            "Awaited over a day": lambda row: f"{row.timeouts:,}",
            "Pending (end of week)": lambda row: f"{row.pending:,}",
        },
    )


def movers_table(review: WeeklyReview) -> pd.DataFrame:
    """The customers behind this week's MRR movements, per kind, largest first."""
    return _table(
        review.movers,
        {
            "Movement": lambda row: row.kind,
            "Customer": lambda row: row.customer,
            "Name": lambda row: row.name or "",
            "MRR change": lambda row: format_money(row.amount, review.currency),
        },
    )


def _table(rows: Iterable[Row], cells: Mapping[str, Callable[[Row], object]]) -> pd.DataFrame:
    """A row of text per item of `rows`, a column per entry of `cells` (its heading → how an
    item reads in it); the headings stand even when there are no rows."""
    return pd.DataFrame(
        [{heading: cell(row) for heading, cell in cells.items()} for row in rows],
        columns=list(cells),
    )


def week_caption(review: WeeklyReview) -> str:
    """What the review covers: "2026-W23 (2026-06-01 – 2026-06-07, UTC days) against 2026-W22
    (…); amounts in USD." (A week not over yet says so in the review's warnings.)"""
    return (
        f"{review.week} ({review.week.start:%Y-%m-%d} – {review.week.end:%Y-%m-%d}, UTC days) "
        f"against {review.previous} ({review.previous.start:%Y-%m-%d} – "
        f"{review.previous.end:%Y-%m-%d}); amounts in {review.currency.upper()}."
    )


def _time(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def sections(review: WeeklyReview) -> list[tuple[str, pd.DataFrame, str]]:
    """The review's tables in the page's and the file's order: (heading, table, what to say
    when it is empty)."""
    week = review.week
    found: list[tuple[str, Callable[[WeeklyReview], pd.DataFrame], str]] = [
        ("Failed payments by dimension", failures_table, f"No failed payments in {week}."),
        (
            "Disputes: new this week or still open",
            disputes_table,
            f"No disputes opened in {week} or open at its end.",
        ),
        ("Webhook endpoints", endpoints_table, "No webhook endpoints."),
        ("Customers behind the MRR movements", movers_table, f"No MRR movements in {week}."),
    ]
    return [(title, build(review), empty) for title, build, empty in found]
