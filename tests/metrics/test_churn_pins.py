"""Churn, involuntary churn, trial conversion and customer churn pinned exactly on hand-built
scenarios (sandbox/scenarios/*.toml, values from each file's header), synced the real way."""

from __future__ import annotations

from datetime import date

import pytest

from metrics.churn import ChurnSettings, churn_events, churn_monthly, involuntary_churn
from metrics.customers import trial_conversion
from tests.metrics.scenarios import Synced, synced_scenarios

NAMES = ["dunning", "cancellations", "trials", "payments", "long_dunning", "back_within_month"]


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    """Each scenario's snapshot, with ids mapped back to the file's names."""
    return synced_scenarios(NAMES, tmp_path_factory)


def _events(
    synced: Synced,
    name: str,
    settings: ChurnSettings,
) -> list[tuple[str, str, str, float]]:
    con, names = synced[name]
    frame = churn_events(con, date(2025, 1, 1), date(2025, 4, 30), settings)
    columns = ["subscription", "day", "cause", "mrr_lost_minor"]
    return [
        (names[str(sub)], str(day), str(cause), float(lost))
        for sub, day, cause, lost in frame[columns].itertuples(index=False)
    ]


@pytest.mark.parametrize("at_period_end", [False, True])
def test_dunning_ends_in_payment_failed_and_unpaid_churn_on_the_same_day(
    synced: Synced, at_period_end: bool
) -> None:
    settings = ChurnSettings(churn_at_period_end=at_period_end)
    assert _events(synced, "dunning", settings) == [
        ("erin_pro", "2025-02-20", "payment_failed", 10_000.0),
        ("frank_pro", "2025-02-20", "unpaid", 10_000.0),
    ]


@pytest.mark.parametrize(
    ("at_period_end", "iris_day"), [(False, "2025-02-15"), (True, "2025-03-05")]
)
def test_cancel_at_period_end_churns_at_the_request_or_at_the_end(
    synced: Synced,
    at_period_end: bool,
    iris_day: str,
) -> None:
    settings = ChurnSettings(churn_at_period_end=at_period_end)
    assert _events(synced, "cancellations", settings) == sorted(
        [
            ("henry_pro", "2025-02-15", "voluntary", 10_000.0),
            ("iris_pro", iris_day, "voluntary", 10_000.0),
        ],
        key=lambda row: (row[1], row[0]),
    )


def test_a_lost_dispute_that_cancels_is_disputed_churn_reported_apart(
    synced: Synced,
) -> None:
    assert _events(synced, "payments", ChurnSettings()) == [
        ("sam_pro", "2025-01-20", "disputed", 10_000.0)
    ]
    con, _ = synced["payments"]
    january = involuntary_churn(con, date(2024, 12, 31), date(2025, 1, 31))
    assert (january.churned, january.involuntary, january.disputed) == (1, 0, 1)
    assert (january.involuntary_share, january.disputed_share) == (0.0, 1.0)


def test_trials_are_never_churn(
    synced: Synced,
) -> None:
    assert _events(synced, "trials", ChurnSettings()) == []


def test_one_trial_in_three_converts_a_paused_and_a_cancelled_one_do_not(
    synced: Synced,
) -> None:
    con, _ = synced["trials"]
    result = trial_conversion(con, date(2024, 12, 31), date(2025, 3, 31))
    assert (result.ended, result.converted) == (3, 1)
    assert result.rate == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("grace_days", "expected"),
    [
        (30, [("uma_pro", "2025-03-07", "past_due", 10_000.0)]),
        (60, [("uma_pro", "2025-03-12", "payment_failed", 10_000.0)]),
    ],
)
def test_past_due_beyond_the_grace_is_involuntary_churn_counted_once(
    synced: Synced,
    grace_days: int,
    expected: list[tuple[str, str, str, float]],
) -> None:
    settings = ChurnSettings(involuntary_past_due_days=grace_days)
    assert _events(synced, "long_dunning", settings) == expected


def test_march_involuntary_rate_is_one_subscription_in_three(
    synced: Synced,
) -> None:
    con, _ = synced["long_dunning"]
    march = involuntary_churn(con, date(2025, 2, 28), date(2025, 3, 31))
    assert (march.start_subscriptions, march.churned, march.involuntary) == (3, 1, 1)
    assert march.involuntary_rate == pytest.approx(1 / 3)
    assert march.involuntary_share == 1.0


def test_monthly_customer_churn_and_the_reactivation_in_cancellations(
    synced: Synced,
) -> None:
    con, _ = synced["cancellations"]
    months = churn_monthly(con, date(2025, 1, 1), date(2025, 4, 30))
    rows = months[["start_customers", "churned_customers", "new_customers"]]
    assert rows.values.tolist() == [[0, 0, 2], [2, 2, 0], [0, 0, 0], [0, 0, 0]]
    assert months["reactivated_customers"].tolist() == [0, 0, 0, 1]
    assert months.loc[1, "customer_churn_rate"] == 1.0
    assert months.loc[1, "voluntary"] == 2


def test_a_customer_who_left_and_came_back_within_the_month_is_not_churned_in_it(
    synced: Synced,
) -> None:
    con, _ = synced["back_within_month"]
    months = churn_monthly(con, date(2025, 3, 1), date(2025, 4, 30))
    columns = ["start_customers", "churned_customers", "new_customers", "reactivated_customers"]
    assert months[columns].values.tolist() == [[2, 1, 0, 1], [1, 0, 0, 0]]
    assert months.loc[0, "customer_churn_rate"] == 0.5
    assert months.loc[0, "voluntary"] == 2  # both subscriptions ended; one customer came back


def test_a_customer_who_joined_and_left_in_the_month_is_not_in_its_churn_rate(
    synced: Synced,
) -> None:
    con, _ = synced["payments"]
    january = churn_monthly(con, date(2025, 1, 1), date(2025, 1, 31)).iloc[0]
    assert (january["start_customers"], january["churned_customers"]) == (0, 0)
    assert january["churn_events"] == 1
