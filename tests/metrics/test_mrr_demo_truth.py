"""MRR over the `demo` preset's 24 months against the simulator's own truth, day by day.

Per subscription and day, our net MRR (`mrr_subscription_daily`) must equal the truth's to a
hundredth of a minor unit, except on the days the truth marks as unknowable through Stripe's API
(`hidden_days`: from a change listed in `unobservable_changes` to the invoice or status change
that shows it, never inside the 30-day events window); per currency, the totals must be exact on
every day where no subscription is tolerated.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from metrics.mrr import MrrSettings
from sandbox.sim import Simulation
from sandbox.truth.report import EVENTS_WINDOW_DAYS, hidden_days
from tests.metrics.scenarios import DEMO_UNTIL
from tests.metrics.truth_checks import (
    differences,
    every_day,
    listed_undated,
    unobservable_before_window,
)

WINDOW_START = DEMO_UNTIL - timedelta(days=EVENTS_WINDOW_DAYS)


def test_on_demo_each_subscriptions_mrr_equals_the_truth_every_day_but_the_unknowable(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation
) -> None:
    wrong, wrong_totals, tolerated = differences(
        demo, demo_sim, MrrSettings(), every_day(demo_sim.start, DEMO_UNTIL)
    )

    assert wrong == []
    assert wrong_totals == []
    assert tolerated  # the preset does make changes the API cannot date
    assert tolerated <= set(hidden_days(demo_sim.ledger, demo_sim.now))
    # every difference is explained by a listed undated change, and each listed one is real
    assert tolerated <= listed_undated(demo) <= unobservable_before_window(demo_sim)


@pytest.mark.parametrize(
    "settings",
    [MrrSettings(churn_at_period_end=True), MrrSettings(subtract_once=True)],
    ids=["churn_at_period_end", "subtract_once"],
)
def test_on_demo_the_settings_that_change_history_match_the_truth_too(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, settings: MrrSettings
) -> None:
    # every third day over the 24 months, and every day of the events window
    days = sorted({*every_day(demo_sim.start, DEMO_UNTIL, 3), *every_day(WINDOW_START, DEMO_UNTIL)})
    wrong, wrong_totals, _ = differences(demo, demo_sim, settings, days)

    assert wrong == []
    assert wrong_totals == []
