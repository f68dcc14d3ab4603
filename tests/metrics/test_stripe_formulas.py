"""Stripe's trial conversion and subscriber churn as Stripe states them, beside paylens' own,
pinned exactly on hand-built scenarios synced the real way (values from each file's header)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from metrics.churn import StripeSubscriberChurn, stripe_subscriber_churn
from metrics.customers import TrialConversion, trial_conversion
from sandbox.scenario import load_scenario, simulate_scenario
from tests.metrics.scenarios import simulate_named, synced_snapshot

OWN = Path(__file__).resolve().parent / "scenario_files"


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, duckdb.DuckDBPyConnection]:
    sims = {
        "trials": simulate_named("trials"),
        "late": simulate_scenario(load_scenario(OWN / "late_conversions.toml")),
        "back_within_month": simulate_scenario(load_scenario(OWN / "back_within_month.toml")),
    }
    return {name: synced_snapshot(sim, tmp_path_factory.mktemp(name)) for name, sim in sims.items()}


@pytest.mark.parametrize(
    ("name", "since", "as_of", "expected"),
    [
        # alice converts at her trial's end, bob (no card) is paused and pays when he resumes on
        # 2025-02-01, carol cancels during her trial: one in three goes on to pay at once, two in
        # three pay their first invoice by the end of March
        ("trials", date(2024, 12, 31), date(2025, 3, 31), TrialConversion(3, 1, 1 / 3, 2, 2 / 3)),
        ("late", date(2024, 12, 31), date(2025, 1, 31), TrialConversion(2, 1, 0.5, 0, 0.0)),
        ("late", date(2025, 1, 31), date(2025, 2, 28), TrialConversion(1, 1, 1.0, 3, 3.0)),
        # no trial ended in February: neither rate has a denominator, though bob converted
        ("trials", date(2025, 1, 31), date(2025, 2, 28), TrialConversion(0, 0, None, 1, None)),
    ],
)  # fmt: skip
def test_stripe_counts_conversions_when_the_first_invoice_is_paid_so_its_rate_can_exceed_one(
    snapshots: dict[str, duckdb.DuckDBPyConnection],
    name: str,
    since: date,
    as_of: date,
    expected: TrialConversion,
) -> None:
    assert trial_conversion(snapshots[name], since, as_of) == expected


def test_stripes_subscriber_churn_leaves_the_reactivated_customer_out_of_new_subscribers(
    snapshots: dict[str, duckdb.DuckDBPyConnection],
) -> None:
    # March: jane and kim pay on 2025-03-01; jane leaves on the 10th and comes back on the 20th,
    # kim leaves on the 12th. paylens: 2 churned ÷ (2 + jane's return) = 2/3; Stripe: 2 churns
    # ÷ (2 + 0 new subscribers) = 1
    assert stripe_subscriber_churn(snapshots["back_within_month"], date(2025, 3, 31)) == (
        StripeSubscriberChurn(
            active_30_days_ago=2,
            joined_customers=1,
            new_customers=0,
            reactivated_customers=1,
            churned_customers=2,
            churns=2,
            rate=2 / 3,
            stripe_rate=1.0,
        )
    )


def test_a_new_subscriber_is_in_both_variants_denominators(
    snapshots: dict[str, duckdb.DuckDBPyConnection],
) -> None:
    # the 30 days to 2025-02-14 start on 2025-01-15: alice pays from that day, bob is new when
    # he resumes on 2025-02-01; nobody leaves
    result = stripe_subscriber_churn(snapshots["trials"], date(2025, 2, 14))
    assert (result.active_30_days_ago, result.new_customers, result.reactivated_customers) == (
        1,
        1,
        0,
    )
    assert (result.rate, result.stripe_rate) == (0.0, 0.0)
