"""Churn on the `demo` preset against the sandbox truth, month by month for all 24 months.

Churn rests on the sync's status history (sync/history.sql), so that is checked first: every
subscription's status at the end of every day equals the truth's. Two of its rules matter most
here: a dunning that ran out (invoice left open, attempted, no next attempt) moves the
subscription to `unpaid` at its last failed attempt even when it was cancelled later, and
past_due ends when the subscription pays again, so the 30-day grace finds no overdue span the
truth does not have. No subscription is excused.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb
import pandas as pd
import pytest

from metrics.churn import (
    ChurnSettings,
    churn_events,
    churn_monthly,
    customer_churn,
    customer_spells,
)
from sandbox.sim import Simulation, truth
from tests.metrics.scenarios import DEMO_UNTIL

NO_GRACE = 10_000  # days: longer than any dunning, so only cancellations and unpaid count


def _truth(sim: Simulation, at_period_end: bool) -> dict[str, Any]:
    return truth(sim, DEMO_UNTIL, churn_at_period_end=at_period_end)


def _by_month(rows: list[tuple[str, str, str]]) -> Counter[tuple[str, str]]:
    return Counter((day[:7], cause) for _, day, cause in rows)


def _compare(
    con: duckdb.DuckDBPyConnection, sim: Simulation, at_period_end: bool, grace: int
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    report = _truth(sim, at_period_end)
    expected = [(e["subscription"], e["date"], e["cause"]) for e in report["churn_events"]]
    settings = ChurnSettings(churn_at_period_end=at_period_end, involuntary_past_due_days=grace)
    frame = churn_events(con, sim.start - timedelta(days=1), DEMO_UNTIL, settings)
    got = [
        (str(sub), str(day), str(cause))
        for sub, day, cause in frame[["subscription", "day", "cause"]].itertuples(index=False)
    ]
    return _by_month(got), _by_month(expected)


def test_every_subscriptions_status_equals_the_truth_at_the_end_of_every_day(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation
) -> None:
    spans: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for sub, status, valid_from in demo.execute(
        "SELECT subscription, status, valid_from FROM subscription_status_history ORDER BY 1, 3"
    ).fetchall():
        spans[str(sub)].append((valid_from, str(status)))
    wrong: list[tuple[str, date, str, str | None]] = []
    for sub, history in demo_sim.ledger.histories.items():
        starts = [moment for moment, _ in spans[sub]]
        for ordinal in range(max(history.days[0], demo_sim.start.toordinal()),
                             DEMO_UNTIL.toordinal() + 1):  # fmt: skip
            day = date.fromordinal(ordinal)
            index = bisect_left(starts, datetime.combine(day + timedelta(days=1), time())) - 1
            ours = spans[sub][index][1] if index >= 0 else None
            state = history.on(ordinal)
            if state is not None and ours != state.status:
                wrong.append((sub, day, state.status, ours))
    assert len(demo_sim.ledger.histories) > 900
    assert wrong == []


@pytest.mark.parametrize("at_period_end", [False, True])
def test_churn_causes_equal_the_truth_month_by_month(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, at_period_end: bool
) -> None:
    got, expected = _compare(demo, demo_sim, at_period_end, NO_GRACE)
    assert sum(expected.values()) > 200
    assert {cause for _, cause in expected} == {"voluntary", "payment_failed", "unpaid", "disputed"}
    assert got == expected


@pytest.mark.parametrize("at_period_end", [False, True])
def test_churn_causes_equal_the_truth_exactly_with_the_default_grace(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, at_period_end: bool
) -> None:
    # the sandbox's dunning lasts at most 15 days: no past_due span outlasts 30 days
    got, expected = _compare(demo, demo_sim, at_period_end, 30)
    assert got == expected


def test_reactivations_equal_the_truth_month_by_month(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation
) -> None:
    report = _truth(demo_sim, False)
    expected = Counter(r["date"][:7] for r in report["reactivations"])
    months = churn_monthly(demo, demo_sim.start, DEMO_UNTIL)
    counts = zip(months["period_start"], months["reactivated_customers"], strict=True)
    got = Counter({str(month)[:7]: int(count) for month, count in counts if count})
    assert sum(expected.values()) > 5
    assert got == expected


@pytest.mark.parametrize("month_end", [date(2025, 6, 30), date(2026, 3, 31), date(2026, 10, 31)])
def test_customer_churn_rate_equals_the_rate_recomputed_from_the_truth(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, month_end: date
) -> None:
    start_day = month_end.replace(day=1) - timedelta(days=1)
    before = truth(demo_sim, start_day)["mrr_by_customer"]
    after = truth(demo_sim, month_end)["mrr_by_customer"]
    paying_before = {c for c, mrr in before.items() if mrr > 0}
    churned = {c for c in paying_before if after.get(c, 0) <= 0}
    spells = customer_spells(demo, start_day, month_end)
    ours_before = _paying(spells, start_day)
    assert (ours_before, ours_before - _paying(spells, month_end)) == (paying_before, churned)
    result = customer_churn(demo, start_day, month_end)
    assert (result.start_customers, result.churned_customers) == (len(paying_before), len(churned))
    assert result.rate == pytest.approx(len(churned) / len(paying_before))


def _paying(spells: pd.DataFrame, day: date) -> set[str]:
    inside = spells[(spells["first_day"] <= day) & (spells["last_day"] >= day)]
    return set(inside["customer"])


def test_monthly_customer_counts_equal_a_reading_of_the_spells_at_each_month_end(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation
) -> None:
    """`churn_monthly` places each spell by month in SQL; here the same counts are read off the
    spells one month at a time (the spells themselves are held to the truth above)."""
    months = churn_monthly(demo, demo_sim.start, DEMO_UNTIL)
    spells = customer_spells(demo, demo_sim.start, DEMO_UNTIL)
    assert len(months) == 25  # 2024-11-20 … 2026-11-20: 24 months, partial at both ends
    for month in months.itertuples():
        before, end = month.period_start - timedelta(days=1), month.period_end
        paying_before, paying_end = _paying(spells, before), _paying(spells, end)
        began = spells[(spells["first_day"] > before) & (spells["first_day"] <= end)]
        expected = (
            len(paying_before),
            len(paying_before - paying_end),
            int((began["spell"] == 1).sum()),
            began.loc[began["spell"] > 1, "customer"].nunique(),
        )
        found = (
            month.start_customers,
            month.churned_customers,
            month.new_customers,
            month.reactivated_customers,
        )
        assert found == expected, end
