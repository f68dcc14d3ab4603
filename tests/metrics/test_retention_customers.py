"""Customers (ARPU, ARR, subscriber counts), MRR churn/NRR/GRR and cohorts: exact pins on
SPEC §5's example and the cancellations scenario, and agreement with the movements on `demo`."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from metrics.customers import customer_totals, customers_by_currency, ltv, subscriber_counts
from metrics.movements import movements_summary, mrr_movements
from metrics.retention import cohort_retention, mrr_churn, mrr_churn_monthly
from tests.metrics.scenarios import DEMO_UNTIL, simulate_named, synced_snapshot

RATES = pd.DataFrame(
    {"date": [date(2020, 1, 1)] * 3, "currency": ["eur", "gbp", "jpy"], "rate": [1.1, 1.3, 0.007]}
)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return synced_snapshot(simulate_named("spec_example"), tmp_path_factory.mktemp("spec"))


@pytest.fixture(scope="module")
def cancellations(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return synced_snapshot(simulate_named("cancellations"), tmp_path_factory.mktemp("cancel"))


def test_spec_example_has_150_customers_arpu_83_33_and_arr_150_000(
    spec: duckdb.DuckDBPyConnection,
) -> None:
    totals = customer_totals(spec, date(2025, 3, 31), "usd")
    assert (totals.active_customers, totals.active_subscriptions) == (150, 150)
    assert totals.mrr == pytest.approx(12_500.0)
    assert totals.arr == pytest.approx(150_000.0)
    assert totals.arpu == pytest.approx(12_500.0 / 150)
    row = customers_by_currency(spec, date(2025, 3, 31)).iloc[0]
    assert (row["currency"], row["active_customers"], row["arpu_minor"]) == (
        "usd",
        150,
        pytest.approx(1_250_000 / 150),
    )


def test_spec_example_counts_subscribers_per_price(spec: duckdb.DuckDBPyConnection) -> None:
    counts = subscriber_counts(spec, date(2025, 3, 31)).sort_values("subscriptions")
    assert counts["subscriptions"].tolist() == [50, 100]
    assert counts["list_mrr_minor"].tolist() == pytest.approx([250_000.0, 1_000_000.0])


def test_spec_example_has_no_ltv_without_churn(spec: duckdb.DuckDBPyConnection) -> None:
    assert ltv(spec, date(2025, 3, 31), "usd") is None


def test_february_loses_all_mrr_and_april_reactivates_henry(
    cancellations: duckdb.DuckDBPyConnection,
) -> None:
    february = mrr_churn(cancellations, date(2025, 1, 31), date(2025, 2, 28), "usd")
    assert (february.start_mrr, february.churn, february.contraction) == (200.0, 200.0, 0.0)
    assert (february.gross_mrr_churn_rate, february.nrr, february.grr) == (1.0, 0.0, 0.0)
    april = mrr_churn(cancellations, date(2025, 3, 31), date(2025, 4, 30), "usd")
    assert (april.start_mrr, april.reactivation, april.new) == (0.0, 100.0, 0.0)
    assert april.gross_mrr_churn_rate is None


def test_cohort_of_january_keeps_no_one_after_february(
    cancellations: duckdb.DuckDBPyConnection,
) -> None:
    cohorts = cohort_retention(cancellations, date(2025, 4, 30))
    january = cohorts[cohorts["cohort"] == date(2025, 1, 1)]
    assert january["months_since"].tolist() == [0, 1, 2, 3]
    assert january["customers"].tolist() == [2, 2, 2, 2]
    assert january["retained_customers"].tolist() == [2, 0, 0, 1]
    assert january["revenue_retention"].tolist() == pytest.approx([1.0, 0.0, 0.0, 0.5])


def test_monthly_mrr_flows_equal_the_movements_on_demo(demo: duckdb.DuckDBPyConnection) -> None:
    start = date(2025, 12, 1)
    churn = mrr_churn_monthly(demo, start, DEMO_UNTIL, "usd", RATES)
    movements = mrr_movements(demo, start, DEMO_UNTIL)
    summary = movements_summary(movements, {}, "usd", RATES)
    assert len(churn) == 12
    for kind in ["new", "reactivation", "expansion", "contraction", "churn"]:
        assert churn[kind].tolist() == pytest.approx(summary[kind].tolist())
    # NRR: the start plus the movements of the customers paying at the start, nobody else's
    cohort = movements_summary(movements[movements["in_cohort"]], {}, "usd", RATES)
    moved = cohort.set_index("period_end")
    for row in churn.to_dict("records"):
        flows = moved.loc[row["period_end"]]
        won = flows["expansion"] + flows["reactivation"]
        end = row["start_mrr"] + won - flows["contraction"] - flows["churn"]
        assert row["cohort_end_mrr"] == pytest.approx(end)
        assert row["nrr"] == pytest.approx(end / row["start_mrr"])
        assert flows["new"] == 0.0
    assert (churn["grr"] <= 1).all() and (churn["grr"] <= churn["nrr"]).all()
