"""Failure and recovery of subscription payments, pinned on the payment_health scenario and
checked on the demo preset against the simulation's own invoices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from metrics.dunning import (
    recovery_rates,
    subscription_payment_invoices,
    subscription_payment_recovery,
)
from metrics.fx import FxError
from sandbox.sim import Simulation
from tests.metrics.scenarios import simulate_named, synced_snapshot

JAN = (date(2024, 12, 31), date(2025, 1, 31))
FEB = (date(2025, 1, 31), date(2025, 2, 28))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("payment_health"), tmp_path_factory.mktemp("health"))
    yield con
    con.close()


def test_february_volumes_per_currency_with_one_recovered_and_one_lost_renewal(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    frame = subscription_payment_recovery(scenario, *FEB)

    assert frame.drop(columns=["failure_rate", "recovery_rate"]).to_dict("records") == [
        {"currency": "jpy", "invoices": 2, "attempted_minor": 15_980, "failed": 1,
         "failed_minor": 980, "recovered": 1, "recovered_minor": 980},
        {"currency": "usd", "invoices": 6, "attempted_minor": 50_500, "failed": 1,
         "failed_minor": 500, "recovered": 0, "recovered_minor": 0},
    ]  # fmt: skip
    assert frame["failure_rate"].tolist() == [980 / 15_980, 500 / 50_500]
    assert frame["recovery_rate"].tolist() == [1.0, 0.0]


def test_the_first_invoice_after_a_trial_is_left_out_even_when_it_failed(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    invoices = subscription_payment_invoices(scenario, *JAN)

    # eve's ¥15,000 conversion invoice of 2025-01-19 failed and is not here; ben's checkout
    # decline (two attempts, paid minutes later) is.
    assert sorted(invoices["amount_minor"].tolist()) == [500, 980] + [10_000] * 5
    failed = invoices[invoices["failed_first"]]
    assert failed[["amount_minor", "attempt_count", "recovered"]].to_dict("records") == [
        {"amount_minor": 10_000, "attempt_count": 2, "recovered": True}
    ]
    frame = subscription_payment_recovery(scenario, *JAN)
    assert frame["failed_minor"].tolist() == [0, 10_000]
    assert frame["recovery_rate"].isna().tolist() == [True, False]


def test_a_retry_after_as_of_is_not_yet_a_recovery(scenario: duckdb.DuckDBPyConnection) -> None:
    # cho's renewal failed on 02-05 and was paid by the retry on 02-08.
    early = subscription_payment_recovery(scenario, date(2025, 2, 4), date(2025, 2, 7))
    late = subscription_payment_recovery(scenario, date(2025, 2, 4), date(2025, 2, 8))

    assert early.set_index("currency").loc["jpy", "recovered_minor"] == 0
    assert late.set_index("currency").loc["jpy", "recovered_minor"] == 980


def test_rates_across_currencies_are_converted_to_the_reporting_currency(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    rates = pd.DataFrame({"date": [date(2025, 1, 1)], "currency": ["jpy"], "rate": [0.0065]})

    result = recovery_rates(scenario, *FEB, rates=rates, reporting_currency="usd")

    assert result.failed_minor == {"jpy": 980, "usd": 500}
    # In dollars: failed 980 × 0.0065 + 5.00, attempted 15,980 × 0.0065 + 505.00.
    assert result.failure_rate == pytest.approx((980 * 0.0065 + 5) / (15_980 * 0.0065 + 505))
    assert result.recovery_rate == pytest.approx((980 * 0.0065) / (980 * 0.0065 + 5))


def test_rates_across_currencies_without_a_reporting_currency_are_refused(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(FxError, match="amounts in JPY, USD needs a reporting currency"):
        recovery_rates(scenario, *FEB)


def test_a_single_currency_needs_no_rates(scenario: duckdb.DuckDBPyConnection) -> None:
    result = recovery_rates(scenario, date(2025, 1, 9), date(2025, 1, 10))

    assert (result.failure_rate, result.recovery_rate) == (1.0, 1.0)


def test_a_window_without_subscription_payments_has_no_rates(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    result = recovery_rates(scenario, date(2025, 1, 1), date(2025, 1, 3))

    assert (result.failure_rate, result.recovery_rate) == (None, None)


# --- the demo preset against the simulation's own invoices ---


def _truth(sim: Simulation, since: date, as_of: date) -> dict[str, tuple[int, int, int]]:
    """(attempted, failed, recovered) volume per currency, from the served invoice objects."""
    start, end = _unix(since + timedelta(days=1)), _unix(as_of + timedelta(days=1))
    by_sub: dict[str, list[dict]] = {}
    for invoice in sim.invoices.values():
        parent = invoice["parent"]["subscription_details"]["subscription"]
        by_sub.setdefault(parent, []).append(invoice)
    totals: dict[str, tuple[int, int, int]] = {}
    for sub_id, invoices in by_sub.items():
        trial_end = sim.subscriptions[sub_id]["trial_end"]
        due = sorted(
            (i for i in invoices if i["amount_due"] > 0), key=lambda i: (i["created"], i["id"])
        )
        after_trial = [i for i in due if trial_end is not None and i["created"] >= trial_end]
        for invoice in due:
            if after_trial and invoice is after_trial[0]:
                continue
            if not (start <= invoice["created"] < end and invoice["attempt_count"] >= 1):
                continue
            failed = invoice["attempt_count"] > 1 or invoice["status"] != "paid"
            paid_at = invoice["status_transitions"]["paid_at"]
            recovered = failed and invoice["status"] == "paid" and paid_at < end
            a, f, r = totals.get(invoice["currency"], (0, 0, 0))
            amount = invoice["amount_due"]
            totals[invoice["currency"]] = (a + amount, f + amount * failed, r + amount * recovered)
    return totals


@pytest.mark.parametrize(
    ("since", "as_of"),
    [(date(2025, 3, 31), date(2025, 6, 30)), (date(2026, 8, 31), date(2026, 9, 30)),
     (date(2026, 10, 20), date(2026, 11, 20))],
)  # fmt: skip
def test_demo_volumes_equal_the_simulations_invoices(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, since: date, as_of: date
) -> None:
    frame = subscription_payment_recovery(demo, since, as_of)
    ours = {
        row["currency"]: (row["attempted_minor"], row["failed_minor"], row["recovered_minor"])
        for row in frame.to_dict("records")
    }

    assert ours == _truth(demo_sim, since, as_of)
    assert sum(failed for _, failed, _ in ours.values()) > 0


def _unix(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
