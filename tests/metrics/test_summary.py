"""The summary (metrics.summary): its typed warnings, its money per currency and converted, and
the cohorts and LTV the report shows, on the `currencies` and `cancellations` scenarios."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from metrics.churn import DEFAULT_CHURN
from metrics.fx import FxRatesError
from metrics.summary import (
    FX_NO_RATES,
    FX_RATE_MISSING,
    FX_RATES_UNREADABLE,
    Amount,
    CohortRow,
    Summary,
    SummaryWarning,
    summarise,
)
from tests.metrics.scenarios import simulate_named, synced_snapshot

RATES = pd.DataFrame(
    {
        "date": [date(2025, 1, 1)] * 3 + [date(2025, 2, 15)] * 2,
        "currency": ["eur", "gbp", "jpy", "eur", "jpy"],
        "rate": [1.10, 1.25, 0.0065, 1.20, 0.0070],
    }
)


@pytest.fixture(scope="module")
def currencies(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return synced_snapshot(simulate_named("currencies"), tmp_path_factory.mktemp("currencies"))


@pytest.fixture(scope="module")
def cancellations(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return synced_snapshot(simulate_named("cancellations"), tmp_path_factory.mktemp("cancel"))


def _february(con: duckdb.DuckDBPyConnection, rates: pd.DataFrame | FxRatesError | None) -> Summary:
    return summarise(
        con,
        as_of=date(2025, 2, 28),
        since=date(2025, 1, 31),
        definition=DEFAULT_CHURN,
        reporting_currency="usd",
        rates=rates,
    )


def test_mrr_is_kept_per_currency_and_converted_at_the_as_of_rates(
    currencies: duckdb.DuckDBPyConnection,
) -> None:
    summary = _february(currencies, RATES)
    by_currency = {"eur": 90.0, "gbp": 80.0, "jpy": 55_000.0, "usd": 120.0}
    assert summary.mrr == Amount(by_currency, pytest.approx(713.0))
    assert summary.arr.by_currency == {c: 12 * v for c, v in by_currency.items()}
    assert summary.movements.start_by_currency == by_currency
    assert summary.movements.fx == pytest.approx(36.50)  # 90 × 0.10 + 55,000 × 0.0005
    assert summary.warnings == ()


def test_without_a_rates_table_one_warning_names_every_currency_it_blocks(
    currencies: duckdb.DuckDBPyConnection,
) -> None:
    summary = _february(currencies, None)
    assert summary.mrr.converted is None and summary.movements.fx is None
    assert summary.mrr.by_currency["jpy"] == 55_000.0
    assert summary.warnings == (
        SummaryWarning(
            FX_NO_RATES,
            "amounts in EUR, GBP, JPY cannot be converted to USD: no FX rates file",
            ("eur", "gbp", "jpy"),
        ),
    )


def test_a_missing_rate_is_a_warning_naming_the_row_to_add(
    currencies: duckdb.DuckDBPyConnection,
) -> None:
    summary = _february(currencies, RATES[RATES["currency"] != "gbp"])
    assert summary.mrr.converted is None
    assert {warning.code for warning in summary.warnings} == {FX_RATE_MISSING}
    assert summary.warnings[0].message.startswith("no exchange rate for GBP on or before")
    assert summary.warnings[0].affected == ("eur", "gbp", "jpy")


def test_an_unreadable_rates_file_is_one_warning_with_its_reason(
    currencies: duckdb.DuckDBPyConnection,
) -> None:
    problem = FxRatesError("rates.csv, line 1: the header must be exactly 'date,currency,rate'")
    summary = _february(currencies, problem)
    assert summary.warnings == (SummaryWarning(FX_RATES_UNREADABLE, str(problem)),)
    assert summary.payments.refunds.converted == 0.0  # nothing to convert needs no rate


def test_cohorts_and_ltv_are_in_the_summary(cancellations: duckdb.DuckDBPyConnection) -> None:
    # henry and iris sign up in January at $100; both leave in February; henry is back in April
    summary = summarise(
        cancellations,
        as_of=date(2025, 4, 30),
        since=date(2025, 3, 31),
        definition=DEFAULT_CHURN,
        reporting_currency="usd",
        rates=None,
    )
    january = [row for row in summary.cohorts if row.cohort == date(2025, 1, 1)]
    assert january == [
        CohortRow(date(2025, 1, 1), "usd", 0, 2, 2, 200.0, 200.0, 1.0, 1.0),
        CohortRow(date(2025, 1, 1), "usd", 1, 2, 0, 200.0, 0.0, 0.0, 0.0),
        CohortRow(date(2025, 1, 1), "usd", 2, 2, 0, 200.0, 0.0, 0.0, 0.0),
        CohortRow(date(2025, 1, 1), "usd", 3, 2, 1, 200.0, 100.0, 0.5, 0.5),
    ]
    assert summary.ltv is None  # nobody paying at the start of the month to 2025-04-30 left


def test_since_must_come_before_as_of(currencies: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="must be before"):
        summarise(
            currencies,
            as_of=date(2025, 2, 28),
            since=date(2025, 2, 28),
            definition=DEFAULT_CHURN,
            reporting_currency="usd",
            rates=None,
        )
