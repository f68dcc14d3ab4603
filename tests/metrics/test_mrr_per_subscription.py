"""MRR per subscription and per currency from the segments, pinned exactly: the cases the
walking skeleton's current-state MRR (metrics/revenue.py, removed) pinned, on scenarios synced
the real way. Statuses, coupons, cancellations and currencies are pinned in test_mrr_pins.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from metrics.churn import DEFAULT_CHURN
from metrics.mrr import mrr_currency_daily, mrr_subscription_daily
from metrics.summary import summarise
from sandbox.scenario import load_scenario, scenario_ids, simulate_scenario
from tests.metrics.scenarios import simulate_named, synced_snapshot
from tests.metrics.warehouse import Warehouse

OWN = Path(__file__).resolve().parent / "scenario_files"
Synced = tuple[duckdb.DuckDBPyConnection, dict[str, str]]


@pytest.fixture(scope="module")
def normalisation(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    sim = simulate_named("normalisation")
    names = {value: key for key, value in scenario_ids(sim).items()}
    return synced_snapshot(sim, tmp_path_factory.mktemp("normalisation")), names


@pytest.fixture(scope="module")
def free_and_late(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    sim = simulate_scenario(load_scenario(OWN / "free_and_late.toml"))
    names = {value: key for key, value in scenario_ids(sim).items()}
    return synced_snapshot(sim, tmp_path_factory.mktemp("free_and_late")), names


def _by_subscription(synced: Synced, day: date) -> dict[str, float]:
    con, names = synced
    frame = mrr_subscription_daily(con, day, day)
    pairs = zip(frame["subscription"], frame["net_mrr_minor"], strict=True)
    return {names[str(sub)]: float(mrr) for sub, mrr in pairs}


@pytest.mark.parametrize(
    ("subscription", "mrr_minor"),
    [
        ("weekly_sub", 1_000 * 52 / 12),  # $10/week, unrounded: 4,333.33… cents
        ("daily_sub", 100 * 365 / 12),  # $1/day
        ("quarterly_sub", 9_000.0),  # $270 every 3 months
        ("biennial_sub", 10_000.0),  # $2,400 every 2 years
        ("seats_sub", 10_500.0),  # quantity 7 × $15
        ("graduated_sub", 28_000.0),  # tiered prices by their tiers
        ("volume_sub", 4_800.0),
        ("api_sub", 2_000.0),  # the metered item is not MRR
    ],
)
def test_each_billing_interval_quantity_and_tier_is_normalised_to_a_month(
    normalisation: Synced, subscription: str, mrr_minor: float
) -> None:
    found = _by_subscription(normalisation, date(2025, 2, 15))[subscription]
    assert found == pytest.approx(mrr_minor, abs=1e-9)  # the SQL's factor order, last bit


def test_a_free_plan_is_listed_at_zero_but_is_not_an_active_subscription(
    free_and_late: Synced,
) -> None:
    day = date(2025, 1, 19)
    assert _by_subscription(free_and_late, day) == {
        "olga_free": 0.0,
        "pete_free": 0.0,
        "pete_paid": 3_000.0,
    }
    assert mrr_currency_daily(free_and_late[0], day, day).to_dict("records") == [
        {
            "day": day,
            "currency": "usd",
            "list_mrr_minor": 3_000.0,
            "net_mrr_minor": 3_000.0,
            "active_subscriptions": 1,
            "active_customers": 1,
        }
    ]


def test_a_subscription_counts_from_the_day_it_was_created(free_and_late: Synced) -> None:
    before, created = date(2025, 1, 19), date(2025, 1, 20)
    assert "quinn_small" not in _by_subscription(free_and_late, before)
    assert _by_subscription(free_and_late, created)["quinn_small"] == 1_200.0
    rows = mrr_currency_daily(free_and_late[0], created, created)
    assert rows[["net_mrr_minor", "active_subscriptions", "active_customers"]].values.tolist() == [
        [4_200.0, 2, 2]
    ]


def test_the_summary_counts_subscriptions_and_customers_as_the_segments_do(
    free_and_late: Synced,
) -> None:
    summary = summarise(
        free_and_late[0],
        as_of=date(2025, 1, 20),
        since=date(2025, 1, 1),
        definition=DEFAULT_CHURN,
        reporting_currency="usd",
        rates=None,
    )
    assert (summary.mrr.converted, summary.active_subscriptions, summary.active_customers) == (
        42.0,
        2,
        2,
    )


def test_mrr_by_currency_columns_have_stable_types(free_and_late: Synced) -> None:
    day = date(2025, 1, 20)
    dtypes = mrr_currency_daily(free_and_late[0], day, day).dtypes
    assert pd.api.types.is_string_dtype(dtypes["currency"])
    assert [str(dtypes[c]) for c in ["net_mrr_minor", "active_subscriptions"]] == [
        "float64",
        "int64",
    ]


def test_an_empty_warehouse_has_no_mrr_rows_but_the_same_columns(wh: Warehouse) -> None:
    wh.refresh()
    result = mrr_currency_daily(wh.con, date(2026, 10, 31), date(2026, 10, 31))
    assert result.empty
    assert list(result.columns) == [
        "day", "currency", "list_mrr_minor", "net_mrr_minor", "active_subscriptions",
        "active_customers",
    ]  # fmt: skip
