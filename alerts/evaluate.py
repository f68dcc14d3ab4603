"""Readings: every rule evaluated on the warehouse at the account's clock.

A built-in check (`alerts.rules.BUILTIN_METRICS`) reads its own signal from `metrics.signals`
over the rule's window ending at `at`; any other metric is a figure of the summary
(`metrics.summary_keys`) over the rule's window in days. Nothing here decides: `alerts.decide`
turns readings into state and messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from alerts.model import Reading, Rule, Unit
from metrics.degraded import degradations
from metrics.integration import PASSING, IntegrationReport, Setup, integration_report
from metrics.money import format_money, minor_to_major
from metrics.signals import (
    Driver,
    RateWindow,
    decline_driver,
    disabled_endpoints_at,
    disputes_due,
    new_disputes,
    success_baseline,
    success_trend,
    success_window,
    sync_health,
    webhook_delivery_window,
    wilson_interval,
)
from metrics.summary import Summary
from metrics.summary_keys import summary_values

# The summary over (since, as_of]: the app builds it with the account's settings (churn
# definition, reporting currency, FX rates).
Summarise = Callable[[date, date], Summary]
TREND_POINTS = 12


@dataclass(frozen=True)
class Context:
    """What evaluation needs besides the warehouse: the account's time, the sync interval (for
    staleness), how to build a summary (None: rules on summary figures read no data) and what
    integration health needs besides the warehouse (declarations, paylens' alerting)."""

    at: datetime
    sync_interval: timedelta
    summarise: Summarise | None = None
    integration: Setup | None = None
    # how to score integration health on a day (None: `metrics.integration` on the warehouse
    # with `integration`); the service passes one that keeps the day's score across idle cycles
    score: Callable[[date], IntegrationReport] | None = None


def evaluate(
    con: duckdb.DuckDBPyConnection, rules: Iterable[Rule], context: Context
) -> tuple[Reading, ...]:
    """Every rule's readings at `context.at`: one per segment it has now."""
    summaries: dict[int, dict[str, float | None]] = {}
    readings: list[Reading] = []
    for rule in rules:
        reader = _BUILTIN.get(rule.metric)
        if reader is not None:
            readings.extend(reader(con, rule, context))
        else:
            readings.append(_summary_reading(rule, context, summaries))
    return tuple(readings)


def _payment_success(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Reading]:
    window = success_window(
        con,
        end=context.at,
        window=rule.window,
        min_sample=rule.min_sample,
        max_window=rule.max_window,
    )
    baseline = success_baseline(con, window=window, weeks=rule.baseline_weeks)
    if baseline is not None and baseline.attempted < max(1, rule.min_sample):
        baseline = None  # too few attempts to say what is normal: the lines alone decide
    low, high = wilson_interval(window.succeeded, window.attempted, rule.confidence)
    trend = success_trend(
        con, end=window.end, window=window.end - window.start, points=TREND_POINTS
    )
    failures = window.attempted - window.succeeded
    driver = decline_driver(con, window=window, baseline=baseline) if failures else None
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=window.rate,
            label="Payment success rate",
            unit="rate",
            sample=window.attempted,
            low=low if window.attempted else None,
            high=high if window.attempted else None,
            baseline=None if baseline is None else baseline.rate,
            window_start=window.start,
            window_end=window.end,
            trend=tuple(point.rate for point in trend),
            driver=_driver_text(driver, baseline),
            page="payments",
            query=_payment_filters(window, driver),
        )
    ]


def _driver_text(driver: Driver | None, baseline: RateWindow | None) -> str | None:
    if driver is None:
        return None
    lead = "most of the drop is" if baseline is not None else "most failures are"
    return f"{lead} {driver.text}"


def _payment_filters(window: RateWindow, driver: Driver | None) -> dict[str, str]:
    query = {"from": _iso(window.start), "to": _iso(window.end)}
    if driver is not None:
        for key, name in (("card_brand", "brand"), ("card_country", "country")):
            if driver.segment.get(key):
                query[name] = driver.segment[key]
        if driver.segment.get("decline"):
            query["decline"] = driver.segment["decline"]
    return query


def _webhook_delivery(
    con: duckdb.DuckDBPyConnection, rule: Rule, context: Context
) -> list[Reading]:
    window = webhook_delivery_window(con, end=context.at, window=rule.window)
    low, high = wilson_interval(window.delivered, window.judged, rule.confidence)
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=window.rate,
            label="Webhook delivery",
            unit="rate",
            sample=window.judged,
            low=low if window.judged else None,
            high=high if window.judged else None,
            window_start=window.start,
            window_end=window.end,
            detail=f"{window.pending} events still pending" if window.pending else None,
            page="health",
            query={"from": _iso(window.start), "to": _iso(window.end)},
        )
    ]


def _dispute_new(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Reading]:
    since = context.at - rule.window
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=1.0,
            segment=dispute.dispute,
            label=(
                f"New dispute {dispute.dispute}: "
                f"{_money(dispute.amount, dispute.currency)}"
                + (f" ({dispute.reason})" if dispute.reason else "")
            ),
            unit="flag",
            detail=_customer(dispute.customer_name, dispute.customer),
            page="disputes",
            query={"dispute": dispute.dispute},
        )
        for dispute in new_disputes(con, since=since, end=context.at)
    ]


def _dispute_due(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Reading]:
    readings = []
    for dispute in disputes_due(con, end=context.at, within=rule.window):
        assert dispute.due_by is not None  # due within the window
        hours = (dispute.due_by - context.at).total_seconds() / 3600
        readings.append(
            Reading(
                rule=rule.name,
                at=context.at,
                value=1.0,
                segment=dispute.dispute,
                label=(
                    f"Dispute {dispute.dispute} "
                    f"({_money(dispute.amount, dispute.currency)}) due in {hours:.0f} h "
                    "without evidence"
                ),
                unit="flag",
                detail=_customer(dispute.customer_name, dispute.customer),
                page="disputes",
                query={"dispute": dispute.dispute},
            )
        )
    return readings


def _endpoint_disabled(
    con: duckdb.DuckDBPyConnection, rule: Rule, context: Context
) -> list[Reading]:
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=1.0,
            segment=endpoint.endpoint,
            label=f"Webhook endpoint {endpoint.endpoint} is {endpoint.status}",
            unit="flag",
            detail=endpoint.url,
            page="health",
            query={"endpoint": endpoint.endpoint},
        )
        for endpoint in disabled_endpoints_at(con, end=context.at)
    ]


def _sync_stale(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Reading]:
    health = sync_health(con, end=context.at)
    if health.age is None:
        value = None if health.runs == 0 else float("inf")
        label = "No successful sync yet" if health.runs else "No sync has run yet"
    else:
        value = health.age / context.sync_interval
        label = f"Last successful sync {_duration(health.age)} ago"
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=value,
            label=label,
            unit="intervals",
            detail=health.last_error,
            page="health",
        )
    ]


def _sync_failing(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Reading]:
    health = sync_health(con, end=context.at)
    failures = health.consecutive_failures
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=None if health.runs == 0 else float(failures),
            label=f"{failures} sync run{'s' if failures != 1 else ''} failed in a row",
            unit="count",
            detail=health.last_error,
            page="health",
        )
    ]


def _sync_degraded(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Reading]:
    """One condition per gap in the synced data (`metrics.degraded`), while it lasts."""
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=1.0,
            segment=f"{gap.kind}:{gap.subject}",
            label=gap.text,
            unit="flag",
            page="health",
        )
        for gap in degradations(con, context.at.date())
    ]


def _integration_health(
    con: duckdb.DuckDBPyConnection, rule: Rule, context: Context
) -> list[Reading]:
    """The integration health score (`metrics.integration`) of the account's day."""
    day = context.at.date()
    report = (
        context.score(day)
        if context.score is not None
        else integration_report(con, day, context.integration)
    )
    failing = [s.title for s in report.signals if s.status != "green"]
    return [
        Reading(
            rule=rule.name,
            at=context.at,
            value=float(report.score),
            label=f"Integration health {report.score}/{report.out_of} (stop and fix below "
            f"{PASSING})",
            unit="count",
            detail=f"not green: {', '.join(failing)}" if failing else None,
            page="integration",
        )
    ]


def _summary_reading(
    rule: Rule, context: Context, cache: dict[int, dict[str, float | None]]
) -> Reading:
    as_of = context.at.date()
    days = max(1, round(rule.window / timedelta(days=1)))
    since = as_of - timedelta(days=days)
    if context.summarise is None:
        value = None
    else:
        if days not in cache:
            cache[days] = summary_values(context.summarise(since, as_of))
        value = cache[days].get(rule.metric)
    return Reading(
        rule=rule.name,
        at=context.at,
        value=value,
        label=_summary_label(rule.metric),
        unit=_summary_unit(rule.metric),
        window_start=_start_of(since + timedelta(days=1), context.at),
        window_end=context.at,
        page=_summary_page(rule.metric),
        query={"from": (since + timedelta(days=1)).isoformat(), "to": as_of.isoformat()},
    )


_RATE_WORDS = ("rate", "share", "nrr", "grr")
_MONEY_WORDS = ("mrr", "arr", "arpu", "ltv", "converted", "by_currency", "movements.")


def _summary_unit(metric: str) -> Unit:
    last = metric.rsplit(".", 1)[-1]
    if any(word in last for word in _RATE_WORDS):
        return "rate"
    if any(word in metric for word in _MONEY_WORDS) and "customers" not in last:
        return "money"
    return "count"


_LABELS = {
    "customer_churn.rate": "Monthly customer churn",
    "involuntary.involuntary_share": "Involuntary share of churn",
}


def _summary_label(metric: str) -> str:
    return _LABELS.get(metric) or metric.replace("_", " ").replace(".", ": ").capitalize()


def _summary_page(metric: str) -> str:
    head = metric.split(".", 1)[0]
    if head == "payments":
        return "payments"
    return "revenue"


def _money(amount_minor: int, currency: str) -> str:
    return format_money(minor_to_major(amount_minor, currency), currency)


def _customer(name: str | None, customer: str | None) -> str | None:
    if name and customer:
        return f"{name} ({customer})"
    return name or customer


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def _start_of(day: date, at: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=at.tzinfo)


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


ReadingsOf = Callable[[duckdb.DuckDBPyConnection, Rule, Context], Sequence[Reading]]
_BUILTIN: dict[str, ReadingsOf] = {
    "payment_success": _payment_success,
    "webhook_delivery": _webhook_delivery,
    "dispute_new": _dispute_new,
    "dispute_due": _dispute_due,
    "endpoint_disabled": _endpoint_disabled,
    "sync_stale": _sync_stale,
    "sync_failing": _sync_failing,
    "sync_degraded": _sync_degraded,
    "integration_health": _integration_health,
}
_BUILTIN_UNITS: dict[str, Unit] = {
    "payment_success": "rate",
    "webhook_delivery": "rate",
    "dispute_new": "flag",
    "dispute_due": "flag",
    "endpoint_disabled": "flag",
    "sync_stale": "intervals",
    "sync_failing": "count",
    "sync_degraded": "flag",
    "integration_health": "count",
}


def unit_of(rule: Rule) -> Unit:
    """How `rule`'s values and lines read (the unit its readings carry): what a page showing a
    stored value and threshold formats them with."""
    return _BUILTIN_UNITS.get(rule.metric) or _summary_unit(rule.metric)
