"""MRR over history and its movements, on warehouses synced from the sandbox."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import duckdb
import pandas as pd
import pytest

from metrics.movements import KINDS, movements_summary, mrr_movements
from metrics.mrr import mrr_currency_daily, mrr_currency_monthly, mrr_customer_daily
from tests.metrics.scenarios import DEMO_UNTIL, simulate_named, synced_snapshot
from tests.metrics.truth_checks import movement_gaps


@pytest.fixture(scope="session")
def spec_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("spec_example"), tmp_path_factory.mktemp("spec"))
    yield con
    con.close()


def test_specs_example_over_history_gives_12500_dollars_from_150_subscriptions(
    spec_example: duckdb.DuckDBPyConnection,
) -> None:
    day = date(2025, 3, 31)
    mrr = mrr_currency_daily(spec_example, day, day)

    assert mrr[["currency", "list_mrr_minor", "net_mrr_minor"]].values.tolist() == [
        ["usd", 1_250_000.0, 1_250_000.0]
    ]
    assert (int(mrr["active_subscriptions"].iloc[0]), int(mrr["active_customers"].iloc[0])) == (
        150,
        150,
    )


def test_specs_example_customers_pay_100_or_50_dollars_a_month(
    spec_example: duckdb.DuckDBPyConnection,
) -> None:
    day = date(2025, 3, 31)
    customers = mrr_customer_daily(spec_example, day, day)

    assert customers["net_mrr_minor"].value_counts().to_dict() == {10_000.0: 100, 5_000.0: 50}


def test_the_month_end_series_reads_the_last_day_of_each_month(
    spec_example: duckdb.DuckDBPyConnection,
) -> None:
    monthly = mrr_currency_monthly(spec_example, date(2025, 3, 1), date(2025, 3, 31))

    assert monthly[["month", "day", "net_mrr_minor"]].values.tolist() == [
        [date(2025, 3, 1), date(2025, 3, 31), 1_250_000.0]
    ]


def test_nothing_churns_in_specs_example(spec_example: duckdb.DuckDBPyConnection) -> None:
    movements = mrr_movements(spec_example, date(2025, 1, 1), date(2025, 3, 31))

    assert set(movements["kind"]) <= {"new"}
    assert movements["amount_minor"].sum() == pytest.approx(1_250_000.0)


def _rates(currencies: list[str], months: list[date]) -> pd.DataFrame:
    """A rates table that moves every month, so every month has an FX movement."""
    rows = [
        (month, currency, (1.1 if currency != "jpy" else 0.0067) * (1 + 0.01 * index))
        for index, month in enumerate(months)
        for currency in currencies
    ]
    return pd.DataFrame(rows, columns=["date", "currency", "rate"])


def test_on_demo_the_movement_identity_holds_every_month_per_currency_and_in_usd(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    start, as_of = date(2025, 1, 1), DEMO_UNTIL
    # per currency, every month (those without a movement too)
    assert movement_gaps(demo, start, as_of) == []
    movements = mrr_movements(demo, start, as_of)
    daily = mrr_currency_daily(demo, date(2024, 12, 31), as_of)
    first_day = date(2024, 12, 31)
    start_levels = daily[daily["day"] == first_day].set_index("currency")["net_mrr_minor"]
    rates = _rates(["eur", "gbp", "jpy"], sorted({d.replace(day=1) for d in daily["day"]}))
    summary = movements_summary(
        movements, {str(c): float(v) for c, v in start_levels.items()}, "usd", rates
    )
    for row in summary.to_dict("records"):
        rebuilt = row["start_mrr"] + sum(row[k] for k in KINDS[:3]) - row["contraction"]
        rebuilt += row["fx"] - row["churn"]
        assert math.isclose(rebuilt, row["end_mrr"], abs_tol=1e-6)
    assert (summary["fx"] != 0).any()
