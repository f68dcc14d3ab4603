from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from metrics.revenue import active_subscriptions, mrr_by_currency, mrr_items
from tests.metrics.warehouse import Price, Sub, Warehouse

AS_OF = date(2026, 10, 31)
EARLIER = "2026-01-05"


def mrr_of(wh: Warehouse, currency: str = "usd") -> float:
    rows = mrr_by_currency(wh.con, AS_OF).to_dict("records")
    return {row["currency"]: float(row["mrr_minor"]) for row in rows}[currency]


def test_specs_example_of_100_monthly_and_50_annual_subscribers_gives_12500_dollars(
    wh: Warehouse,
) -> None:
    wh.prices(
        Price("price_monthly", "usd", 10_000, "month"), Price("price_yearly", "usd", 60_000, "year")
    )
    wh.subscriptions(
        *[Sub(f"sub_m{n}", "active", EARLIER, [("price_monthly", 1)]) for n in range(100)]
    )
    wh.subscriptions(
        *[Sub(f"sub_y{n}", "active", EARLIER, [("price_yearly", 1)]) for n in range(50)]
    )

    result = mrr_by_currency(wh.con, AS_OF)

    assert result.to_dict("records") == [
        {
            "currency": "usd",
            "mrr_minor": 1_250_000.0,
            "active_subscriptions": 150,
            "unpriced_items": 0,
        }
    ]
    assert active_subscriptions(wh.con, AS_OF) == 150


def test_only_active_and_past_due_subscriptions_count(wh: Warehouse) -> None:
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    statuses = [
        "active",
        "past_due",
        "trialing",
        "incomplete",
        "incomplete_expired",
        "unpaid",
        "canceled",
        "paused",
    ]
    wh.subscriptions(
        *[Sub(f"sub_{status}", status, EARLIER, [("price_m", 1)]) for status in statuses]
    )

    items = mrr_items(wh.con, AS_OF)

    assert sorted(items["subscription"]) == ["sub_active", "sub_past_due"]
    assert mrr_of(wh) == 20_000.0
    assert active_subscriptions(wh.con, AS_OF) == 2


def test_metered_items_and_one_time_prices_are_excluded(wh: Warehouse) -> None:
    wh.prices(
        Price("price_seat", "usd", 5_000, "month"),
        Price("price_api_calls", "usd", 10, "month", usage_type="metered"),
        Price("price_setup_fee", "usd", 99_900, None),
    )
    wh.subscriptions(
        Sub(
            "sub_mixed",
            "active",
            EARLIER,
            [("price_seat", 1), ("price_api_calls", None), ("price_setup_fee", 1)],
        ),
        Sub("sub_metered_only", "active", EARLIER, [("price_api_calls", None)]),
    )

    assert list(mrr_items(wh.con, AS_OF)["subscription_item"]) == ["si_sub_mixed_0"]
    assert mrr_of(wh) == 5_000.0
    assert active_subscriptions(wh.con, AS_OF) == 1


def test_a_recurring_price_without_usage_type_counts_as_licensed(wh: Warehouse) -> None:
    wh.prices(Price("price_old", "usd", 2_500, "month", usage_type=None))
    wh.subscriptions(Sub("sub_1", "active", EARLIER, [("price_old", 1)]))

    assert mrr_of(wh) == 2_500.0


def test_quantity_multiplies_the_unit_amount(wh: Warehouse) -> None:
    wh.prices(Price("price_seat", "usd", 1_200, "month"))
    wh.subscriptions(Sub("sub_team", "active", EARLIER, [("price_seat", 7)]))

    row = mrr_items(wh.con, AS_OF).iloc[0]

    assert (row["quantity"], row["period_amount_minor"], row["mrr_minor"]) == (7, 8_400, 8_400.0)


@pytest.mark.parametrize(
    ("interval", "interval_count", "unit_amount", "expected_mrr_minor"),
    [
        ("day", 1, 1_200, 36_500.0),  # 1,200 × 365 / 12
        ("week", 1, 1_200, 5_200.0),  # 1,200 × 52 / 12
        ("week", 2, 2_400, 5_200.0),  # 2,400 × 52 / 12 / 2
        ("month", 1, 3_000, 3_000.0),
        ("month", 3, 3_000, 1_000.0),  # quarterly
        ("year", 1, 60_000, 5_000.0),
        ("year", 2, 60_000, 2_500.0),
        ("week", 1, 1_000, 1_000 * 52 / 12),  # unrounded: 4,333.33…
    ],
)
def test_each_billing_interval_is_normalised_to_a_month(
    wh: Warehouse, interval: str, interval_count: int, unit_amount: int, expected_mrr_minor: float
) -> None:
    wh.prices(Price("price_x", "usd", unit_amount, interval, interval_count))
    wh.subscriptions(Sub("sub_1", "active", EARLIER, [("price_x", 1)]))

    assert mrr_of(wh) == expected_mrr_minor


def test_zero_decimal_currencies_stay_in_their_own_units_and_currencies_are_never_summed(
    wh: Warehouse,
) -> None:
    wh.prices(
        Price("price_jpy", "jpy", 12_000, "month"), Price("price_usd", "usd", 10_000, "month")
    )
    wh.subscriptions(
        Sub("sub_jp1", "active", EARLIER, [("price_jpy", 1)]),
        Sub("sub_jp2", "past_due", EARLIER, [("price_jpy", 2)]),
        Sub("sub_us", "active", EARLIER, [("price_usd", 1)]),
    )

    result = mrr_by_currency(wh.con, AS_OF)

    assert result.to_dict("records") == [
        {"currency": "jpy", "mrr_minor": 36_000.0, "active_subscriptions": 2, "unpriced_items": 0},
        {"currency": "usd", "mrr_minor": 10_000.0, "active_subscriptions": 1, "unpriced_items": 0},
    ]


def test_a_subscription_created_after_the_as_of_day_is_excluded(wh: Warehouse) -> None:
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(
        Sub("sub_last_second", "active", "2026-10-31 23:59:59", [("price_m", 1)]),
        Sub("sub_next_day", "active", "2026-11-01 00:00:00", [("price_m", 1)]),
    )

    assert list(mrr_items(wh.con, AS_OF)["subscription"]) == ["sub_last_second"]
    assert active_subscriptions(wh.con, date(2026, 10, 30)) == 0


def test_a_tiered_item_is_listed_with_unknown_mrr_and_counted_as_unpriced(wh: Warehouse) -> None:
    wh.prices(
        Price("price_flat", "usd", 10_000, "month"), Price("price_tiered", "usd", None, "month")
    )
    wh.subscriptions(Sub("sub_1", "active", EARLIER, [("price_flat", 1), ("price_tiered", 40)]))

    items = mrr_items(wh.con, AS_OF)
    result = mrr_by_currency(wh.con, AS_OF)

    assert items["mrr_minor"].isna().tolist() == [False, True]
    assert result.to_dict("records") == [
        {"currency": "usd", "mrr_minor": 10_000.0, "active_subscriptions": 1, "unpriced_items": 1}
    ]


def test_an_empty_warehouse_has_no_mrr_rows_but_the_same_columns(wh: Warehouse) -> None:
    result = mrr_by_currency(wh.con, AS_OF)

    assert list(result.columns) == [
        "currency",
        "mrr_minor",
        "active_subscriptions",
        "unpriced_items",
    ]
    assert result.empty
    assert active_subscriptions(wh.con, AS_OF) == 0


def test_mrr_by_currency_columns_have_stable_types(wh: Warehouse) -> None:
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(Sub("sub_1", "active", EARLIER, [("price_m", 1)]))

    dtypes = mrr_by_currency(wh.con, AS_OF).dtypes

    assert pd.api.types.is_string_dtype(dtypes["currency"])
    assert [str(dtypes[c]) for c in ["mrr_minor", "active_subscriptions", "unpriced_items"]] == [
        "float64",
        "int64",
        "int64",
    ]


def test_a_free_plan_is_listed_but_not_counted_as_an_active_subscription(wh: Warehouse) -> None:
    wh.prices(Price("price_free", "usd", 0, "month"), Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(
        Sub("sub_free", "active", EARLIER, [("price_free", 1)]),
        Sub("sub_paid", "active", EARLIER, [("price_m", 1), ("price_free", 1)]),
    )

    assert sorted(mrr_items(wh.con, AS_OF)["subscription"]) == ["sub_free", "sub_paid", "sub_paid"]
    assert active_subscriptions(wh.con, AS_OF) == 1
    assert mrr_by_currency(wh.con, AS_OF).to_dict("records") == [
        {"currency": "usd", "mrr_minor": 10_000.0, "active_subscriptions": 1, "unpriced_items": 0}
    ]
