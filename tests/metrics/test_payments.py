from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest

from metrics.payments import (
    payment_attempts,
    payment_health,
    payment_success_breakdown,
    payment_success_daily,
    payment_success_rate,
    payment_success_weekly,
)
from sandbox.sim import Simulation
from tests.metrics.scenarios import simulate_named, synced_snapshot
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


def test_dedup_counts_a_payment_intent_once_as_success_when_a_retry_succeeded(
    wh: Warehouse,
) -> None:
    wh.charges(
        Charge("ch_try1", "2026-03-01 10:00", "failed", payment_intent="pi_1"),
        Charge("ch_try2", "2026-03-02 10:00", "failed", payment_intent="pi_1"),
        Charge("ch_try3", "2026-03-03 10:00", "succeeded", payment_intent="pi_1"),
        Charge("ch_lost1", "2026-03-01 11:00", "failed", payment_intent="pi_2"),
        Charge("ch_lost2", "2026-03-03 11:00", "failed", payment_intent="pi_2"),
        Charge("ch_ok", "2026-03-02 09:00", "succeeded", payment_intent="pi_3"),
    )

    assert payment_success_rate(wh.con, date(2026, 2, 28), date(2026, 3, 3), dedup=True) == 2 / 3
    # Each PaymentIntent on the day of its first charge, with its outcome by the end of as_of.
    daily = payment_success_daily(wh.con, date(2026, 3, 1), date(2026, 3, 3), dedup=True)
    assert daily[["day", "attempted", "succeeded"]].to_dict("records") == [
        {"day": date(2026, 3, 1), "attempted": 2, "succeeded": 1},
        {"day": date(2026, 3, 2), "attempted": 1, "succeeded": 1},
        {"day": date(2026, 3, 3), "attempted": 0, "succeeded": 0},
    ]


def test_dedup_judges_a_payment_intent_by_what_had_happened_by_the_end_of_as_of(
    wh: Warehouse,
) -> None:
    wh.charges(
        Charge("ch_try1", "2026-03-01 10:00", "failed", payment_intent="pi_1"),
        Charge("ch_try2", "2026-03-04 10:00", "succeeded", payment_intent="pi_1"),
    )

    assert payment_success_rate(wh.con, date(2026, 2, 28), date(2026, 3, 3), dedup=True) == 0.0
    assert payment_success_rate(wh.con, date(2026, 2, 28), date(2026, 3, 4), dedup=True) == 1.0
    # The retry's own window sees no new PaymentIntent: it was first tried on March 1.
    assert payment_success_rate(wh.con, date(2026, 3, 3), date(2026, 3, 4), dedup=True) is None


def test_dedup_counts_charges_without_a_payment_intent_one_by_one(wh: Warehouse) -> None:
    wh.charges(
        Charge("ch_a", "2026-03-01 10:00", "failed"),
        Charge("ch_b", "2026-03-01 11:00", "succeeded"),
        Charge("ch_c", "2026-03-01 12:00", "succeeded"),
    )
    wh.con.execute("UPDATE charges SET payment_intent = NULL")

    assert payment_success_rate(wh.con, date(2026, 2, 28), date(2026, 3, 1), dedup=True) == 2 / 3


def test_weekly_success_sums_the_days_of_each_iso_week_in_the_window(charges: Warehouse) -> None:
    weekly = payment_success_weekly(charges.con, date(2026, 2, 27), date(2026, 3, 3))

    # (Feb 27, Mar 3]: Feb 28 + Mar 1 fall in the week of Monday Feb 23, Mar 2-3 in Mar 2's.
    assert weekly.drop(columns="success_rate").to_dict("records") == [
        {"week": date(2026, 2, 23), "days": 2, "attempted": 5, "succeeded": 3, "failed": 2},
        {"week": date(2026, 3, 2), "days": 2, "attempted": 2, "succeeded": 1, "failed": 1},
    ]
    assert weekly["success_rate"].tolist() == [0.6, 0.5]


def _card(wh: Warehouse, charge: str, **fields: str) -> None:
    assignments = ", ".join(f"{column} = ?" for column in fields)
    wh.con.execute(f"UPDATE charges SET {assignments} WHERE id = ?", [*fields.values(), charge])


def test_amount_bands_use_each_currencys_major_unit_including_zero_decimal_yen(
    wh: Warehouse,
) -> None:
    wh.charges(
        Charge("ch_usd_999", "2026-03-01 10:00", "succeeded", amount=999),
        Charge("ch_usd_1000", "2026-03-01 10:00", "failed", amount=1_000),
        Charge("ch_usd_100000", "2026-03-01 10:00", "succeeded", amount=100_000),
        Charge("ch_jpy_980", "2026-03-01 10:00", "succeeded", amount=980),
        Charge("ch_jpy_9", "2026-03-01 10:00", "succeeded", amount=9),
        Charge("ch_jpy_15000", "2026-03-01 10:00", "failed", amount=15_000),
    )
    wh.con.execute("UPDATE charges SET currency = 'jpy' WHERE id LIKE 'ch_jpy%'")

    bands = payment_success_breakdown(wh.con, date(2026, 2, 28), date(2026, 3, 1), ["amount_band"])

    assert bands[["currency", "value", "attempted", "failed"]].to_dict("records") == [
        {"currency": "jpy", "value": "200-1000", "attempted": 1, "failed": 0},
        {"currency": "jpy", "value": "<10", "attempted": 1, "failed": 0},
        {"currency": "jpy", "value": ">=1000", "attempted": 1, "failed": 1},
        {"currency": "usd", "value": "10-50", "attempted": 1, "failed": 1},
        {"currency": "usd", "value": "<10", "attempted": 1, "failed": 0},
        {"currency": "usd", "value": ">=1000", "attempted": 1, "failed": 0},
    ]
    assert bands["failure_share"].tolist() == [0.0, 0.0, 0.5, 0.5, 0.0, 0.0]


def test_breakdowns_count_attempts_per_card_and_decline_field(wh: Warehouse) -> None:
    wh.charges(
        Charge("ch_1", "2026-03-01 10:00", "succeeded"),
        Charge("ch_2", "2026-03-01 11:00", "failed"),
        Charge("ch_3", "2026-03-01 12:00", "failed"),
        Charge("ch_4", "2026-03-01 13:00", "succeeded"),
    )
    _card(wh, "ch_1", card_brand="visa", card_country="US", outcome_type="authorized")
    declined = {"outcome_type": "issuer_declined", "failure_code": "card_declined"}
    _card(wh, "ch_2", card_brand="visa", card_country="BR", outcome_reason="do_not_honor",
          network_decline_code="05", **declined)  # fmt: skip
    _card(wh, "ch_3", card_brand="amex", card_country="BR", outcome_reason="generic_decline",
          network_decline_code="05", **declined)  # fmt: skip
    _card(wh, "ch_4", card_brand="visa", card_country="BR", outcome_type="authorized")

    frame = payment_success_breakdown(
        wh.con,
        date(2026, 2, 28),
        date(2026, 3, 1),
        ["card_brand", "card_country", "outcome_reason"],
    )

    rows = frame[["dimension", "value", "attempted", "succeeded", "failed"]].to_dict("records")
    assert rows == [
        {"dimension": "card_brand", "value": "visa", "attempted": 3, "succeeded": 2, "failed": 1},
        {"dimension": "card_brand", "value": "amex", "attempted": 1, "succeeded": 0, "failed": 1},
        {"dimension": "card_country", "value": "BR", "attempted": 3, "succeeded": 1, "failed": 2},
        {"dimension": "card_country", "value": "US", "attempted": 1, "succeeded": 1, "failed": 0},
        {"dimension": "outcome_reason", "value": None, "attempted": 2, "succeeded": 2, "failed": 0},
        {"dimension": "outcome_reason", "value": "do_not_honor", "attempted": 1, "succeeded": 0,
         "failed": 1},
        {"dimension": "outcome_reason", "value": "generic_decline", "attempted": 1,
         "succeeded": 0, "failed": 1},
    ]  # fmt: skip
    assert frame["currency"].tolist() == [None] * 7


def test_breakdown_refuses_an_unknown_dimension(wh: Warehouse) -> None:
    with pytest.raises(ValueError, match=r"unknown dimension\(s\) \['brand'\]"):
        payment_success_breakdown(wh.con, date(2026, 2, 28), date(2026, 3, 1), ["brand"])


@pytest.mark.parametrize(
    ("rate", "band"),
    [(1.0, "healthy"), (0.95, "healthy"), (0.9499, "warning"), (0.90, "warning"),
     (0.8999, "critical"), (0.0, "critical"), (None, None)],
)  # fmt: skip
def test_payment_health_bands_follow_the_spec(rate: float | None, band: str | None) -> None:
    assert payment_health(rate) == band


# --- the payment_health scenario (sandbox/scenarios/payment_health.toml), synced for real ---


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("payment_health"), tmp_path_factory.mktemp("health"))
    yield con
    con.close()


@pytest.mark.parametrize(
    ("since", "as_of", "raw", "dedup"),
    [
        (date(2024, 12, 31), date(2025, 1, 31), 8 / 10, 8 / 8),
        (date(2025, 1, 31), date(2025, 2, 28), 7 / 12, 7 / 8),
        (date(2025, 2, 28), date(2025, 3, 31), 7 / 7, 7 / 7),
        (date(2024, 12, 31), date(2025, 3, 31), 22 / 29, 22 / 23),
    ],
)
def test_scenario_success_rates_raw_and_per_payment_intent(
    scenario: duckdb.DuckDBPyConnection, since: date, as_of: date, raw: float, dedup: float
) -> None:
    assert payment_success_rate(scenario, since, as_of) == raw
    assert payment_success_rate(scenario, since, as_of, dedup=True) == dedup


def test_scenario_checkout_decline_and_its_retry_are_one_payment_intent(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    day = date(2025, 1, 10)
    raw = payment_attempts(scenario, day - timedelta(days=1), day)
    dedup = payment_attempts(scenario, day - timedelta(days=1), day, dedup=True)

    assert raw[["succeeded", "card_brand", "outcome_reason"]].to_dict("records") == [
        {"succeeded": False, "card_brand": "mastercard", "outcome_reason": "do_not_honor"},
        {"succeeded": True, "card_brand": "mastercard", "outcome_reason": None},
    ]
    assert raw["attempt_key"].nunique() == 1
    assert dedup[["succeeded", "amount", "currency"]].to_dict("records") == [
        {"succeeded": True, "amount": 10_000, "currency": "usd"}
    ]


def test_scenario_amount_bands_put_yen_in_yen(scenario: duckdb.DuckDBPyConnection) -> None:
    bands = payment_success_breakdown(
        scenario, date(2024, 12, 31), date(2025, 3, 31), ["amount_band"], dedup=True
    )

    assert bands[["currency", "value", "attempted", "succeeded"]].to_dict("records") == [
        {"currency": "jpy", "value": "200-1000", "attempted": 3, "succeeded": 3},
        {"currency": "jpy", "value": ">=1000", "attempted": 3, "succeeded": 3},
        {"currency": "usd", "value": "50-200", "attempted": 15, "succeeded": 15},
        {"currency": "usd", "value": "<10", "attempted": 2, "succeeded": 1},
    ]


# --- the demo preset against the simulation's own charges ---

DEMO_WINDOWS = [
    (date(2025, 12, 31), date(2026, 1, 31)),
    (date(2026, 8, 31), date(2026, 9, 30)),
    (date(2026, 10, 20), date(2026, 11, 20)),
]


def _truth_success(sim: Simulation, since: date, as_of: date, dedup: bool) -> float:
    start, end = _unix(since + timedelta(days=1)), _unix(as_of + timedelta(days=1))
    tried = [
        c for c in sim.charges.values()
        if c["status"] in ("succeeded", "failed") and c["created"] < end
    ]  # fmt: skip
    if not dedup:
        window = [c for c in tried if c["created"] >= start]
        return sum(c["status"] == "succeeded" for c in window) / len(window)
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for charge in tried:
        by_intent.setdefault(charge["payment_intent"] or charge["id"], []).append(charge)
    outcomes = [
        max(group, key=lambda c: (c["created"], c["id"]))["status"] == "succeeded"
        for group in by_intent.values()
        if start <= min(c["created"] for c in group) < end
    ]
    return sum(outcomes) / len(outcomes)


@pytest.mark.parametrize(("since", "as_of"), DEMO_WINDOWS)
def test_demo_success_rates_equal_the_simulations_charges(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, since: date, as_of: date
) -> None:
    for dedup in (False, True):
        expected = _truth_success(demo_sim, since, as_of, dedup)
        assert payment_success_rate(demo, since, as_of, dedup=dedup) == pytest.approx(
            expected, abs=1e-12
        )


def _unix(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
