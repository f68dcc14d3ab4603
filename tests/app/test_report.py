"""The `paylens report` contract (issue 5): its keys, its FX movement and the identity it keeps."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from app.report import build_report
from app.settings import Settings
from tests.metrics.scenarios import simulate_named, synced_snapshot

CONTRACT = {
    "as_of", "since", "reporting_currency", "mrr", "arr", "mrr_by_currency", "active_customers",
    "active_subscriptions", "arpu", "movements", "customer_churn_rate",
    "stripe_subscriber_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr",
    "involuntary_churn_rate", "involuntary_share", "payment_success_rate",
    "payment_success_rate_dedup", "failure_rate", "recovery_rate", "disputes",
    "webhook_delivery_rate", "pending_events", "refunds", "trial_conversion_rate", "warnings",
    # Stripe's formulas beside ours, LTV and cohort retention
    "ltv", "subscriber_churn_rate_stripe", "trial_conversion_rate_stripe", "cohort_retention",
}  # fmt: skip
MOVEMENTS = ["start_mrr", "new", "reactivation", "expansion", "contraction", "churn", "fx"]
RATES = """date,currency,rate
2025-01-01,usd,1
2025-01-01,eur,1.10
2025-01-01,gbp,1.25
2025-01-01,jpy,0.0065
2025-02-15,eur,1.20
2025-02-15,jpy,0.0070
"""


@pytest.fixture(scope="module")
def currencies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("currencies"), tmp_path_factory.mktemp("currencies"))
    yield con
    con.close()


def _settings(tmp_path: Path, rates: str = RATES) -> Settings:
    path = tmp_path / "fx_rates.csv"
    path.write_text(rates, encoding="utf-8")
    return dataclasses.replace(Settings(), data_dir=tmp_path, fx_rates_file=path)


def test_the_report_has_exactly_the_contract_keys(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report(currencies, _settings(tmp_path), date(2025, 2, 28), date(2025, 1, 31))

    assert set(report) == CONTRACT
    assert list(report["movements"]) == [*MOVEMENTS, "end_mrr"]
    assert set(report["disputes"]) == {
        "open", "amount_at_risk", "due_within_72h", "new", "dispute_rate", "win_rate",
    }  # fmt: skip
    assert set(report["refunds"]) == {"amount", "rate"}


def test_a_rate_change_is_an_fx_movement_never_expansion(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # MRR does not move in February: €90, £80, ¥55,000 and $120 throughout; EUR and JPY rates
    # rise on 2025-02-15, so the whole change in USD is FX: 90 × 0.10 + 55,000 × 0.0005 = 36.50
    report = build_report(currencies, _settings(tmp_path), date(2025, 2, 28), date(2025, 1, 31))
    moves = report["movements"]

    assert moves["start_mrr"] == pytest.approx(120 + 90 * 1.10 + 80 * 1.25 + 55_000 * 0.0065)
    assert moves["fx"] == pytest.approx(36.50)
    assert [moves[k] for k in ("new", "reactivation", "expansion", "contraction", "churn")] == [
        0.0
    ] * 5
    assert moves["end_mrr"] == pytest.approx(report["mrr"]) == pytest.approx(713.0)
    assert report["arr"] == pytest.approx(12 * 713.0)
    assert (report["active_customers"], report["active_subscriptions"]) == (5, 6)
    assert report["arpu"] == pytest.approx(713.0 / 5)
    assert report["customer_churn_rate"] == 0.0
    assert report["warnings"] == []


def test_the_movement_identity_holds_in_the_reporting_currency(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report(currencies, _settings(tmp_path), date(2025, 3, 20), date(2024, 12, 31))
    m = report["movements"]

    assert m["new"] > 0  # everyone subscribed in January
    total = m["start_mrr"] + m["new"] + m["reactivation"] + m["expansion"]
    total += m["fx"] - m["contraction"] - m["churn"]
    assert total == pytest.approx(m["end_mrr"], abs=1e-9)


def test_a_missing_rate_nulls_the_converted_amounts_and_says_which(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    without_gbp = "\n".join(line for line in RATES.splitlines() if "gbp" not in line)
    report = build_report(
        currencies, _settings(tmp_path, without_gbp), date(2025, 2, 28), date(2025, 1, 31)
    )

    assert report["mrr"] is None and report["arr"] is None and report["arpu"] is None
    assert report["movements"]["fx"] is None
    assert report["mrr_by_currency"]["gbp"] == pytest.approx(80.0)
    assert report["warnings"] and all("GBP" in warning for warning in report["warnings"])


def test_stripes_formulas_ltv_and_cohorts_are_reported_beside_ours(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report(currencies, _settings(tmp_path), date(2025, 2, 28), date(2025, 1, 31))

    # nobody joins, leaves or ends a trial in February
    assert (report["stripe_subscriber_churn_rate"], report["subscriber_churn_rate_stripe"]) == (
        0.0,
        0.0,
    )
    assert (report["trial_conversion_rate"], report["trial_conversion_rate_stripe"]) == (None, None)
    assert report["ltv"] is None  # no customer churn in the month: no lifetime to divide by
    january_usd = [
        row
        for row in report["cohort_retention"]
        if (row["cohort"], row["currency"]) == ("2025-01-01", "usd")
    ]
    assert [(row["months_since"], row["customers"], row["mrr"]) for row in january_usd] == [
        (0, 1, 120.0),  # mia, $120 over two subscriptions, counts once
        (1, 1, 120.0),
    ]


def test_with_no_rates_file_the_warning_says_where_to_put_one(
    currencies: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    settings = dataclasses.replace(Settings(), data_dir=tmp_path, fx_rates_file=None)
    report = build_report(currencies, settings, date(2025, 2, 28), date(2025, 1, 31))

    assert report["warnings"] == [
        "amounts in EUR, GBP, JPY cannot be converted to USD: no FX rates file. Put a CSV with "
        f"columns date,currency,rate at {tmp_path / 'fx_rates.csv'} or set PAYLENS_FX_RATES_FILE"
    ]
