"""The weekly review's checklist figures (SPEC §6), each this week against last.

A week's numbers are gathered once into a `WeekFacts` (mostly its `Summary` over (the Sunday
before, the Sunday]), and every figure is a row of `FIGURES`: a stable key, a label, its topic,
unit and dashboard page, and how to read it from a week's facts. docs/WEEKLY.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import duckdb
import pandas as pd

from metrics.churn import ChurnSettings
from metrics.drilldown import movement_subscriptions
from metrics.summary import Summary
from metrics.weekly_model import Figure, IsoWeek, Topic, Unit
from metrics.weekly_parts import Converter

PAGES: dict[Topic, str] = {
    "payments": "/payments",
    "webhooks": "/health",
    "disputes": "/disputes",
    "subscriptions": "/revenue",
    "revenue": "/revenue",
    "churn": "/revenue",
}
SUBSCRIPTION_CHANGES = ("new", "churned", "upgraded", "downgraded")


@dataclass(frozen=True)
class WeekFacts:
    """What one week's figures are read from: its summary and what the summary lacks."""

    week: IsoWeek
    summary: Summary
    attempted: int
    failed: int
    failed_volume: float | None  # reporting currency, at the week end's rates
    recovered: float | None  # failed subscription volume of the week paid by its end
    subscriptions: Mapping[str, int]  # SUBSCRIPTION_CHANGES → subscriptions that changed so


class FigureSpec(NamedTuple):
    key: str
    label: str
    topic: Topic
    unit: Unit
    read: Callable[[WeekFacts], float | None]
    page: str | None = None  # another page than the topic's


def link(page: str, week: IsoWeek) -> str:
    """The dashboard path showing `week` on `page`: a custom range from its Monday to Sunday."""
    return f"{page}?range=custom&from={week.start.isoformat()}&to={week.end.isoformat()}"


def subscription_changes(
    con: duckdb.DuckDBPyConnection, week: IsoWeek, definition: ChurnSettings
) -> dict[str, int]:
    """Subscriptions whose net MRR changed in `week`, by how (SUBSCRIPTION_CHANGES): new (from 0
    to above 0: a first payment, a trial converting, a resumption), churned (to 0), upgraded /
    downgraded (up / down, above 0 before and after). A subscription counts once per kind."""
    frame = movement_subscriptions(con, week.start - timedelta(days=1), week.end, definition)
    before, after = frame["start_mrr_minor"] > 0, frame["end_mrr_minor"] > 0
    kinds = {
        "new": ~before & after,
        "churned": before & ~after,
        "upgraded": before & after & (frame["change_minor"] > 0),
        "downgraded": before & after & (frame["change_minor"] < 0),
    }
    return {kind: int(frame.loc[rows, "subscription"].nunique()) for kind, rows in kinds.items()}


def figures(this: WeekFacts, last: WeekFacts, currency: str) -> tuple[Figure, ...]:
    """Every row of FIGURES for `this` week against `last`: change in percentage points for a
    rate, else the difference; None when either side is None."""
    result = []
    for spec in FIGURES:
        now, before = spec.read(this), spec.read(last)
        change = None if now is None or before is None else now - before
        if change is not None and spec.unit == "rate":
            change *= 100
        result.append(
            Figure(
                key=spec.key,
                label=spec.label,
                topic=spec.topic,
                unit=spec.unit,
                this_week=now,
                last_week=before,
                change=change,
                link=link(spec.page or PAGES[spec.topic], this.week),
                currency=currency if spec.unit == "money" else None,
            )
        )
    return tuple(result)


def facts(
    con: duckdb.DuckDBPyConnection,
    summary: Summary,
    groups: pd.DataFrame,
    this_week: bool,
    definition: ChurnSettings,
    money: Converter,
) -> WeekFacts:
    """A week's facts: `summary` is over the week, `groups` the attempt groups of both weeks
    (`weekly_parts.attempt_groups`), `this_week` which of the two this is."""
    week = IsoWeek.of(summary.as_of)
    own = groups[groups["this_week"] == this_week]
    failed = own[~own["succeeded"]]
    dunning = summary.payments.dunning
    return WeekFacts(
        week=week,
        summary=summary,
        attempted=int(own["attempted"].sum()),
        failed=int(failed["attempted"].sum()),
        failed_volume=money.minor(_sums(failed), week.end),
        recovered=None if dunning is None else money.minor(dunning.recovered_minor, week.end),
        subscriptions=subscription_changes(con, week, definition),
    )


def _sums(frame: pd.DataFrame) -> dict[str, float]:
    return {str(c): float(v) for c, v in frame.groupby("currency")["amount_minor"].sum().items()}


def _net_new(facts: WeekFacts) -> float | None:
    moves = facts.summary.movements
    parts = (moves.new, moves.reactivation, moves.expansion, moves.contraction, moves.churn)
    if any(part is None for part in parts):
        return None
    new, reactivation, expansion, contraction, churn = (float(part or 0) for part in parts)
    return new + reactivation + expansion - contraction - churn


def _undelivered(facts: WeekFacts) -> float:
    hooks = facts.summary.payments.webhooks
    return hooks.judged - hooks.delivered


def _subscriptions(kind: str) -> Callable[[WeekFacts], float]:
    return lambda facts: facts.subscriptions[kind]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "payments.success_rate",
        "Payment success rate",
        "payments",
        "rate",
        lambda f: f.summary.payments.success_rate,
    ),
    FigureSpec("payments.attempts", "Payment attempts", "payments", "count", lambda f: f.attempted),
    FigureSpec("payments.failed", "Failed payments", "payments", "count", lambda f: f.failed),
    FigureSpec(
        "payments.failed_volume", "Failed volume", "payments", "money", lambda f: f.failed_volume
    ),
    FigureSpec(
        "webhooks.delivery_rate",
        "Webhook delivery rate",
        "webhooks",
        "rate",
        lambda f: f.summary.payments.webhooks.delivery_rate,
    ),
    FigureSpec("webhooks.undelivered", "Events undelivered", "webhooks", "count", _undelivered),
    FigureSpec(
        "webhooks.pending",
        "Events pending (end of week)",
        "webhooks",
        "count",
        lambda f: f.summary.payments.webhooks.pending_events,
    ),
    FigureSpec(
        "webhooks.disabled_endpoints",
        "Disabled endpoints",
        "webhooks",
        "count",
        lambda f: f.summary.payments.webhooks.disabled_endpoints,
    ),
    FigureSpec(
        "disputes.new",
        "New disputes",
        "disputes",
        "count",
        lambda f: f.summary.payments.disputes.new,
    ),
    FigureSpec(
        "disputes.open",
        "Open disputes (end of week)",
        "disputes",
        "count",
        lambda f: f.summary.payments.disputes.open,
    ),
    FigureSpec(
        "disputes.due_within_72h",
        "Disputes due within 72 h (end of week)",
        "disputes",
        "count",
        lambda f: f.summary.payments.disputes.due_within_72h,
    ),
    FigureSpec(
        "disputes.at_risk",
        "Amount at risk in disputes",
        "disputes",
        "money",
        lambda f: f.summary.payments.disputes_at_risk.converted,
    ),
    *(
        FigureSpec(
            f"subscriptions.{kind}",
            f"Subscriptions {kind}",
            "subscriptions",
            "count",
            _subscriptions(kind),
        )
        for kind in SUBSCRIPTION_CHANGES
    ),
    FigureSpec("mrr", "MRR (end of week)", "revenue", "money", lambda f: f.summary.mrr.converted),
    FigureSpec("mrr.net_new", "Net new MRR", "revenue", "money", _net_new),
    FigureSpec("mrr.new", "New MRR", "revenue", "money", lambda f: f.summary.movements.new),
    FigureSpec(
        "mrr.expansion",
        "Expansion MRR",
        "revenue",
        "money",
        lambda f: f.summary.movements.expansion,
    ),
    FigureSpec(
        "mrr.contraction",
        "Contraction MRR",
        "revenue",
        "money",
        lambda f: f.summary.movements.contraction,
    ),
    FigureSpec("mrr.churn", "Churned MRR", "revenue", "money", lambda f: f.summary.movements.churn),
    FigureSpec(
        "mrr.reactivation",
        "Reactivation MRR",
        "revenue",
        "money",
        lambda f: f.summary.movements.reactivation,
    ),
    FigureSpec("mrr.fx", "FX revaluation", "revenue", "money", lambda f: f.summary.movements.fx),
    FigureSpec(
        "churn.involuntary",
        "Involuntary churn (subscriptions)",
        "churn",
        "count",
        lambda f: f.summary.involuntary.involuntary,
    ),
    FigureSpec(
        "churn.involuntary_share",
        "Involuntary share of churn",
        "churn",
        "rate",
        lambda f: f.summary.involuntary.involuntary_share,
    ),
    FigureSpec(
        "churn.recovered", "Recovered revenue", "churn", "money", lambda f: f.recovered, "/payments"
    ),
    FigureSpec(
        "churn.recovery_rate",
        "Recovery rate",
        "churn",
        "rate",
        lambda f: (
            None if f.summary.payments.dunning is None else f.summary.payments.dunning.recovery_rate
        ),
        "/payments",
    ),
)
