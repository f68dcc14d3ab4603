"""The weekly review: one ISO week against the week before, its figures and its narrative.

`weekly_review` computes every number of the review once (docs/WEEKLY.md); the `/weekly` page,
`paylens weekly`, the Slack digest and the HTML/PDF file only format the `WeeklyReview`. A week
is seven UTC days, Monday to Sunday, like every metric's days; each week's figures are
`summarise` over (the Sunday before, its Sunday], so they equal the report's for that window.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import duckdb

from metrics.churn import ChurnSettings
from metrics.movements import KINDS
from metrics.summary import Rates, Summary, summarise
from metrics.weekly_figures import WeekFacts, facts, figures, link
from metrics.weekly_model import IsoWeek, WeeklyReview
from metrics.weekly_narrative import (
    disputes_due,
    involuntary,
    mrr,
    ordered,
    quiet,
    success_rate,
    webhooks,
)
from metrics.weekly_parts import (
    Converter,
    attempt_groups,
    dispute_rows,
    endpoint_rows,
    failure_rows,
    movements_frame,
    movers,
    segment_counts,
    series,
)


def default_week(today: date) -> IsoWeek:
    """The last complete ISO week before `today`: the one whose Sunday is the last Sunday
    before `today` (on a Monday, the week that ended yesterday; on a Sunday, the week before)."""
    return IsoWeek.of(today - timedelta(days=today.weekday() + 1))


def weekly_review(
    con: duckdb.DuckDBPyConnection,
    *,
    week: IsoWeek,
    today: date,
    definition: ChurnSettings,
    reporting_currency: str,
    rates: Rates,
) -> WeeklyReview:
    """The review of `week` against the week before; `today` is the account's day, and the
    review is `complete` when `week` ended before it. Steps: each week's summary and facts, the
    figures, the rows (failures, disputes, endpoints, movers), the series, the narrative."""
    previous = week.previous()
    money = Converter(reporting_currency, rates)
    groups = attempt_groups(con, week)
    this, last = (
        facts(con, _summary(con, w, definition, reporting_currency, rates), groups, w == week,
              definition, money)
        for w in (week, previous)
    )  # fmt: skip
    checklist = figures(this, last, reporting_currency)
    moves = movements_frame(con, week, definition)
    disputes = dispute_rows(con, week, link("/disputes", week))
    endpoints = endpoint_rows(con, week)
    changes = movers(moves, week, money)
    failures = failure_rows(groups, week, money)
    daily = series(con, week, definition, moves, money)
    current = moves[moves["day"] >= week.start]
    customers = {
        kind: int(current.loc[current["kind"] == kind, "customer"].nunique()) for kind in KINDS
    }
    by_key = {figure.key: figure for figure in checklist}
    candidates = [
        success_rate(by_key["payments.success_rate"], segment_counts(groups, True),
                     segment_counts(groups, False)),
        mrr(by_key["mrr"], this.summary.movements, changes, customers, reporting_currency),
        disputes_due(disputes, datetime.combine(week.end + timedelta(days=1), time(), UTC)),
        webhooks(by_key["webhooks.delivery_rate"], endpoints,
                 this.summary.payments.webhooks.judged),
        involuntary(by_key["churn.involuntary"], by_key["churn.recovered"], reporting_currency),
    ]  # fmt: skip
    sentences = ordered(candidates) or (
        quiet(by_key["payments.success_rate"], by_key["mrr"], reporting_currency),
    )
    return WeeklyReview(
        week=week,
        previous=previous,
        currency=reporting_currency,
        complete=week.end < today,
        figures=checklist,
        sentences=sentences,
        failures=tuple(failures),
        disputes=tuple(disputes),
        endpoints=tuple(endpoints),
        movers=tuple(changes),
        series=daily,
        warnings=_warnings(week, today, this, last, money),  # after every conversion
    )


def review_json(review: WeeklyReview) -> dict[str, Any]:
    """The review as JSON-ready data: the week as "2026-W23" (with its Monday and Sunday),
    dates and times in ISO form, numbers exact (unrounded), the series as [day, value] pairs."""
    data: dict[str, Any] = _plain(review)
    data["start"], data["end"] = review.week.start.isoformat(), review.week.end.isoformat()
    data["series"] = {
        key: [[point.day.isoformat(), point.value] for point in points]
        for key, points in review.series.items()
    }
    return data


def _summary(
    con: duckdb.DuckDBPyConnection,
    week: IsoWeek,
    definition: ChurnSettings,
    reporting_currency: str,
    rates: Rates,
) -> Summary:
    """The summary of (the Sunday before `week`, its Sunday]."""
    return summarise(
        con,
        as_of=week.end,
        since=week.start - timedelta(days=1),
        definition=definition,
        reporting_currency=reporting_currency,
        rates=rates,
    )


def _warnings(
    week: IsoWeek, today: date, this: WeekFacts, last: WeekFacts, money: Converter
) -> tuple[str, ...]:
    """What the review cannot vouch for: a week not over yet, the summaries' warnings and
    the conversions that failed, each once."""
    found: list[str] = []
    if week.end >= today:
        found.append(
            f"{week} is not over on the account's clock (today is {today.isoformat()}): its "
            "figures cover the days so far"
        )
    for summary in (this.summary, last.summary):
        found += [warning.message for warning in summary.warnings]
    found += money.warnings
    return tuple(dict.fromkeys(found))


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, dates and times in ISO form, the week as text, tuples as lists."""
    if isinstance(value, IsoWeek):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(inner) for inner in value]
    return value
