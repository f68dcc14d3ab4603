"""MRR per plan and product, MRR series by week and month, and the drill-down from a movement to
its subscriptions: pinned on the plan_changes and coupons scenarios, and held to the totals on
`demo`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from metrics.breakdowns import mrr_by_plan, mrr_by_product, mrr_series
from metrics.drilldown import movement_subscriptions
from metrics.movements import customer_changes, mrr_movements
from metrics.mrr import MrrSettings, mrr_currency_daily, mrr_currency_monthly
from tests.metrics.scenarios import simulate_named, synced_snapshot


@pytest.fixture(scope="module")
def plan_changes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("plan_changes"), tmp_path_factory.mktemp("plans"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def coupons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("coupons"), tmp_path_factory.mktemp("coupons"))
    yield con
    con.close()


def test_mrr_by_plan_counts_each_price_with_its_seats(
    plan_changes: duckdb.DuckDBPyConnection,
) -> None:
    # 2025-01-20: jack and kate on pro ($100 each), leo on 8 seats at $10
    plans = mrr_by_plan(plan_changes, date(2025, 1, 20))

    rows = plans[["price_nickname", "subscriptions", "quantity", "net_mrr_minor"]]
    assert rows.values.tolist() == [
        ["pro_monthly", 2, 2.0, 20_000.0],
        ["seat_monthly", 1, 8.0, 8_000.0],
    ]
    by_product = mrr_by_product(plan_changes, date(2025, 1, 20))
    assert by_product[["product_name", "net_mrr_minor"]].values.tolist() == [
        ["Pro", 20_000.0],
        ["Team", 8_000.0],
    ]


def test_a_subscriptions_discount_is_shared_over_its_plans_and_adds_up(
    coupons: duckdb.DuckDBPyConnection,
) -> None:
    day = date(2025, 2, 15)
    for settings in (MrrSettings(), MrrSettings(subtract_once=True, subtract_repeating=False)):
        plans = mrr_by_plan(coupons, day, settings)
        total = mrr_currency_daily(coupons, day, day, settings)

        assert plans["net_mrr_minor"].sum() == pytest.approx(total["net_mrr_minor"].sum())
        assert plans["list_mrr_minor"].sum() == pytest.approx(total["list_mrr_minor"].sum())
        assert (plans["net_mrr_minor"] <= plans["list_mrr_minor"] + 1e-9).all()
    assert (plans["net_mrr_minor"] < plans["list_mrr_minor"]).any()  # some coupon applies


def test_the_drill_down_names_the_subscriptions_and_their_item_changes(
    plan_changes: duckdb.DuckDBPyConnection,
) -> None:
    january = movement_subscriptions(plan_changes, date(2025, 1, 15), date(2025, 1, 31))
    february = movement_subscriptions(plan_changes, date(2025, 1, 31), date(2025, 2, 28))

    columns = ["kind", "change_minor", "items_before", "items_after"]
    assert january[columns].values.tolist() == [
        ["expansion", 5_000.0, "basic_monthly × 1", "pro_monthly × 1"],  # jack's upgrade
        ["expansion", 3_000.0, "seat_monthly × 5", "seat_monthly × 8"],  # leo's seats
    ]
    assert february[columns].values.tolist() == [
        ["contraction", -5_000.0, "seat_monthly × 8", "seat_monthly × 3"],  # leo shrinks
        # kate's silent downgrade of January, seen only on her 2025-02-01 invoice
        ["contraction", -5_000.0, "pro_monthly × 1", "basic_monthly × 1"],
    ]


def test_a_series_point_is_the_mrr_of_the_day_it_stands_for(
    plan_changes: duckdb.DuckDBPyConnection,
) -> None:
    weekly = mrr_series(plan_changes, date(2025, 1, 1), date(2025, 3, 31), "week")
    monthly = mrr_series(plan_changes, date(2025, 1, 1), date(2025, 3, 31), "month")

    assert [d.weekday() for d in weekly["day"][:-1]] == [6] * (len(weekly) - 1)  # Sundays
    assert weekly["day"].iloc[-1] == date(2025, 3, 31)
    assert [d.weekday() for d in weekly["period"]] == [0] * len(weekly)  # ISO weeks
    assert weekly.set_index("day").loc[date(2025, 1, 26), "net_mrr_minor"] == 28_000.0
    expected = mrr_currency_monthly(plan_changes, date(2025, 1, 1), date(2025, 3, 31))
    assert monthly["net_mrr_minor"].tolist() == expected["net_mrr_minor"].tolist()
    assert monthly["period"].tolist() == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    with pytest.raises(ValueError, match="grain"):
        mrr_series(plan_changes, date(2025, 1, 1), date(2025, 3, 31), "year")  # type: ignore[arg-type]


def test_on_demo_plans_add_up_to_the_currencies_and_subscriptions_to_the_movements(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    day = date(2026, 11, 20)
    plans = mrr_by_plan(demo, day).groupby("currency")["net_mrr_minor"].sum()
    totals = mrr_currency_daily(demo, day, day).set_index("currency")["net_mrr_minor"]
    for currency, amount in totals.items():
        assert plans[currency] == pytest.approx(amount, rel=1e-12), currency

    since, as_of = date(2026, 9, 30), date(2026, 10, 31)
    rows = movement_subscriptions(demo, since, as_of)
    moves = mrr_movements(demo, date(2026, 10, 1), as_of)
    signed = moves.assign(
        signed=[
            a if k in ("new", "reactivation", "expansion") else -a
            for k, a in zip(moves["kind"], moves["amount_minor"], strict=True)
        ]
    )
    per_movement = signed.groupby(["customer", "currency"])["signed"].sum()
    per_customer = rows.groupby(["customer", "currency"])["change_minor"].sum()
    assert len(per_customer) == len(per_movement) > 50
    for key, change in per_customer.items():
        assert change == pytest.approx(per_movement.loc[key], abs=1e-6), key
    # each subscription row carries its customer's kind of that day
    changes = customer_changes(demo, date(2026, 10, 1), as_of)
    kinds = changes.set_index(["customer", "currency", "day"])["kind"]
    keys = list(zip(rows["customer"], rows["currency"], rows["day"], strict=True))
    assert rows["kind"].tolist() == kinds.loc[keys].tolist()
    per_day = rows.groupby(["customer", "currency", "day"])["change_minor"].sum()
    day_changes = changes.set_index(["customer", "currency", "day"])["change_minor"]
    assert per_day.tolist() == pytest.approx(day_changes.loc[per_day.index].tolist(), abs=1e-6)
