from __future__ import annotations

import math
from datetime import date

import pytest

from metrics.payments import payment_success_daily, payment_success_rate
from tests.metrics.warehouse import Charge, Warehouse


@pytest.fixture
def charges(wh: Warehouse) -> Warehouse:
    """Three days: 3 of 4 succeed on the 1st, none on the 2nd, 1 of 2 on the 3rd."""
    wh.charges(
        Charge("ch_before_window", "2026-02-28 23:59:59", "failed"),
        Charge("ch_1a", "2026-03-01 00:00:00", "succeeded"),
        Charge("ch_1b", "2026-03-01 09:30:00", "succeeded"),
        Charge("ch_1c", "2026-03-01 12:00:00", "failed"),
        Charge("ch_1d", "2026-03-01 23:59:59", "succeeded"),
        Charge("ch_1_pending", "2026-03-01 18:00:00", "pending"),
        Charge("ch_3_pending", "2026-03-03 08:00:00", "pending"),
        Charge("ch_3a", "2026-03-03 08:00:00", "failed"),
        Charge("ch_3b", "2026-03-03 20:00:00", "succeeded"),
        Charge("ch_after_window", "2026-03-04 00:00:00", "succeeded"),
    )
    return wh


def test_daily_success_has_one_row_per_day_including_days_without_charges(
    charges: Warehouse,
) -> None:
    daily = payment_success_daily(charges.con, date(2026, 3, 1), date(2026, 3, 3))

    assert list(daily.columns) == ["day", "attempted", "succeeded", "failed", "success_rate"]
    assert daily.drop(columns="success_rate").to_dict("records") == [
        {"day": date(2026, 3, 1), "attempted": 4, "succeeded": 3, "failed": 1},
        {"day": date(2026, 3, 2), "attempted": 0, "succeeded": 0, "failed": 0},
        {"day": date(2026, 3, 3), "attempted": 2, "succeeded": 1, "failed": 1},
    ]
    rates = daily["success_rate"].tolist()
    assert rates[0] == 0.75
    assert math.isnan(rates[1])
    assert rates[2] == 0.5


def test_daily_success_for_a_single_day_window_returns_that_day(charges: Warehouse) -> None:
    daily = payment_success_daily(charges.con, date(2026, 3, 3), date(2026, 3, 3))

    assert daily[["day", "attempted"]].to_dict("records") == [
        {"day": date(2026, 3, 3), "attempted": 2}
    ]


def test_daily_success_refuses_a_start_after_as_of(charges: Warehouse) -> None:
    with pytest.raises(ValueError, match=r"start \(2026-03-04\) is after as_of \(2026-03-03\)"):
        payment_success_daily(charges.con, date(2026, 3, 4), date(2026, 3, 3))


def test_success_rate_covers_the_days_after_since_through_as_of(charges: Warehouse) -> None:
    # (Feb 28, Mar 3]: the Feb 28 failure is outside; 4 of 6 attempts succeeded.
    assert payment_success_rate(charges.con, date(2026, 2, 28), date(2026, 3, 3)) == 4 / 6
    # (Mar 1, Mar 3]: only Mar 2 and Mar 3.
    assert payment_success_rate(charges.con, date(2026, 3, 1), date(2026, 3, 3)) == 0.5


def test_success_rate_is_none_when_nothing_was_attempted(charges: Warehouse) -> None:
    assert payment_success_rate(charges.con, date(2026, 3, 1), date(2026, 3, 2)) is None
    assert payment_success_rate(charges.con, date(2026, 3, 3), date(2026, 3, 3)) is None


def test_success_rate_counts_each_retry_of_a_payment_intent_while_raw(wh: Warehouse) -> None:
    wh.charges(
        Charge("ch_try1", "2026-03-01 10:00", "failed", payment_intent="pi_1"),
        Charge("ch_try2", "2026-03-02 10:00", "failed", payment_intent="pi_1"),
        Charge("ch_try3", "2026-03-03 10:00", "succeeded", payment_intent="pi_1"),
    )

    assert payment_success_rate(wh.con, date(2026, 2, 28), date(2026, 3, 3)) == 1 / 3
