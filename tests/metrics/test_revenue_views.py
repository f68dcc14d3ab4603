"""The Revenue page's figures (`metrics.revenue_views`), pinned on the page's own scenario
(tests/app/scenario_files/revenue_page.toml, numbers from its header) synced the real way, and
held to the functions they are built on: the movements, the MRR series, cohort retention and the
summary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from metrics import revenue_views as rv
from metrics.churn import DEFAULT_CHURN
from metrics.fx import FxError
from metrics.movements import KINDS, mrr_movements
from metrics.retention import cohort_retention
from metrics.summary import summarise
from sandbox.scenario import load_scenario, scenario_ids, simulate_scenario
from tests.metrics.scenarios import synced_snapshot

SCENARIO = Path(__file__).resolve().parents[1] / "app" / "scenario_files" / "revenue_page.toml"
# 1 EUR = 1.10 USD from 2025-01-01, 1.20 from 2025-03-01 (the scenario header's rates)
RATES = pd.DataFrame(
    {"date": [date(2025, 1, 1), date(2025, 3, 1)], "currency": ["eur", "eur"], "rate": [1.1, 1.2]}
)
START, END = date(2025, 1, 1), date(2025, 4, 30)
Account = tuple[duckdb.DuckDBPyConnection, dict[str, str]]


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    """The scenario's snapshot, with customer ids mapped back to the file's names."""
    sim = simulate_scenario(load_scenario(SCENARIO))
    con = synced_snapshot(sim, tmp_path_factory.mktemp("revenue"))
    yield con, {value: key for key, value in scenario_ids(sim).items()}
    con.close()


@pytest.mark.parametrize(
    ("start", "as_of", "grain", "expected"),
    [
        (date(2025, 3, 30), date(2025, 4, 1), "day", [(30, 30), (31, 31), (1, 1)]),
        # ISO weeks end on Sunday: 2025-02-02, 09, 16; the last is cut at as_of
        (date(2025, 2, 1), date(2025, 2, 12), "week", [(1, 2), (3, 9), (10, 12)]),
        (date(2025, 1, 31), date(2025, 3, 15), "month", [(31, 31), (1, 28), (1, 15)]),
        (date(2025, 1, 31), date(2025, 3, 15), "range", [(31, 15)]),
        (date(2025, 3, 2), date(2025, 3, 2), "week", [(2, 2)]),  # a Sunday alone
    ],
)
def test_periods_cut_each_grain_to_the_range(
    start: date, as_of: date, grain: rv.Grain, expected: list[tuple[int, int]]
) -> None:
    found = rv.periods(start, as_of, grain)

    assert [(first.day, end.day) for first, end in found] == expected
    assert found[0][0] == start and found[-1][1] == as_of
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in pairwise(found))


def test_the_movements_per_month_are_the_scenarios_pins(account: Account) -> None:
    con, _ = account
    table = rv.movement_periods(con, START, END, "month", "usd", RATES)

    columns = ["start_mrr", *KINDS, "fx", "end_mrr", "net_new"]
    assert [[round(float(v), 2) for v in row] for row in table[columns].values] == [
        [0.0, 499.0, 0.0, 0.0, 0.0, 0.0, 0.0, 499.0, 499.0],
        [499.0, 0.0, 0.0, 100.0, 0.0, 100.0, 0.0, 499.0, 0.0],
        [499.0, 108.0, 0.0, 0.0, 50.0, 100.0, 9.0, 466.0, -42.0],
        [466.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 566.0, 100.0],
    ]


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_every_period_adds_up_and_ends_where_the_mrr_series_does(
    account: Account, grain: rv.Grain
) -> None:
    con, _ = account
    start = date(2024, 12, 20)  # quiet days before the first subscription
    table = rv.movement_periods(con, start, END, grain, "usd", RATES)
    series = rv.mrr_over_time(con, start, END, grain, "usd", RATES)

    assert list(zip(table["period_start"], table["period_end"], strict=True)) == rv.periods(
        start, END, grain
    )
    assert table["end_mrr"].tolist() == pytest.approx(series["mrr"].tolist())
    assert table["start_mrr"].iloc[1:].tolist() == pytest.approx(table["end_mrr"][:-1].tolist())
    rebuilt = table["start_mrr"] + table["net_new"] + table["fx"]
    assert rebuilt.tolist() == pytest.approx(table["end_mrr"].tolist())
    assert series["arr"].tolist() == pytest.approx((12 * series["mrr"]).tolist())


def test_monthly_rows_are_those_of_mrr_movements_with_the_customers_named(
    account: Account,
) -> None:
    con, names = account
    rows = rv.movement_rows(con, START, END, "month")
    reference = mrr_movements(con, START, END)

    def key(frame: pd.DataFrame) -> list[tuple[object, ...]]:
        columns = ["period_end", "customer", "currency", "kind", "amount_minor", "first_day"]
        return sorted(map(tuple, frame[columns].values.tolist()))

    assert key(rows) == key(reference)
    assert set(rows["name"]) >= {"Ben", "Cat", "Dan", "Eve", "Fay"}
    march = rv.movement_rows(con, date(2025, 3, 1), date(2025, 3, 31), "range", kind="churn")
    assert [names[c] for c in march["customer"]] == ["fay"]
    assert (march["start_mrr_minor"].iloc[0], march["end_mrr_minor"].iloc[0]) == (10_000, 0)


def test_the_whole_range_is_the_summarys_movements(account: Account) -> None:
    con, _ = account
    since = date(2025, 1, 30)
    summary = summarise(
        con, as_of=END, since=since, definition=DEFAULT_CHURN, reporting_currency="usd", rates=RATES
    )
    row = rv.movement_periods(con, since + timedelta(days=1), END, "range", "usd", RATES).iloc[0]

    moves = summary.movements
    for field in ("start_mrr", *KINDS, "fx", "end_mrr"):
        assert row[field] == pytest.approx(getattr(moves, field)), field
    assert (row["start_mrr"], row["net_new"], row["fx"]) == pytest.approx((499.0, 58.0, 9.0))


def test_one_currency_stays_unconverted_and_needs_no_rates(account: Account) -> None:
    con, _ = account
    table = rv.movement_periods(con, START, END, "month", "usd", None, currency="eur")
    series = rv.mrr_over_time(con, START, END, "month", "usd", None, currency="eur")

    assert table["new"].tolist() == [90.0, 0.0, 90.0, 0.0]
    assert table["fx"].tolist() == [0.0] * 4
    assert series["mrr"].tolist() == [90.0, 90.0, 180.0, 180.0]
    assert rv.currency_mrr(con, END, "usd", None, "eur")["mrr"].tolist() == [180.0]


def test_a_missing_rate_raises_but_leaves_the_customer_churn_per_month(account: Account) -> None:
    con, _ = account
    with pytest.raises(FxError):
        rv.movement_periods(con, START, END, "month", "usd", None)

    monthly = rv.churn_by_month(con, START, END, "usd", None)
    assert monthly["customer_churn_rate"].tolist()[1:] == [0.2, 0.25, 0.0]
    assert monthly["nrr"].isna().all()
    with_rates = rv.churn_by_month(con, START, END, "usd", RATES)
    assert with_rates["gross_mrr_churn_rate"].iloc[2] == pytest.approx(150 / 508)


def test_each_cohort_cell_is_the_customers_behind_it(account: Account) -> None:
    con, names = account
    cells = cohort_retention(con, END)

    for cell in cells.to_dict("records"):
        month, currency = cell["cohort"], str(cell["currency"])
        people = rv.cohort_customers(con, month, int(cell["months_since"]), END, currency)
        assert len(people) == cell["customers"]
        assert int(people["retained"].sum()) == cell["retained_customers"]
        assert people["mrr_minor"].sum() == pytest.approx(cell["mrr_minor"])
        assert people["base_mrr_minor"].sum() == pytest.approx(cell["base_mrr_minor"])
    march_end = rv.cohort_customers(con, date(2025, 1, 1), 2, END, "usd")
    paying = dict(zip(map(names.get, march_end["customer"]), march_end["mrr_minor"], strict=True))
    assert paying == {"ann": 20_000, "ben": 5_000, "cat": 0, "fay": 0}


def test_the_cohort_grid_adds_currencies_at_constant_rates(account: Account) -> None:
    con, _ = account
    grid = rv.cohort_grid(con, END, "usd", RATES)

    january = grid[grid["cohort"] == date(2025, 1, 1)]
    assert january["retained_customers"].tolist() == [5, 4, 3, 4]
    assert january["base_mrr"].tolist() == pytest.approx([508.0] * 4)  # $400 + €90 at 1.20
    assert january["mrr"].tolist() == pytest.approx([508.0, 508.0, 358.0, 458.0])
    usd = rv.cohort_grid(con, END, "usd", None, "usd")
    assert usd["customer_retention"].tolist() == [1.0, 0.75, 0.5, 0.75]
    assert usd["revenue_retention"].tolist() == [1.0, 1.0, 0.625, 0.875]


def test_mrr_by_plan_product_and_currency_with_their_shares(account: Account) -> None:
    con, _ = account
    plans = rv.plan_mrr(con, END, "usd", RATES)
    products = rv.plan_mrr(con, END, "usd", RATES, by="product")
    currencies = rv.currency_mrr(con, END, "usd", RATES)

    assert plans[["price_nickname", "mrr"]].values.tolist() == [
        ["pro_usd", 300.0],
        ["pro_eur", pytest.approx(216.0)],
        ["basic_usd", 50.0],
    ]
    assert products[["product_name", "currency"]].values.tolist() == [
        ["Pro", "usd"],
        ["Pro", "eur"],
        ["Basic", "usd"],
    ]
    assert currencies[["currency", "active_customers", "net_mrr_minor"]].values.tolist() == [
        ["usd", 3, 35_000.0],
        ["eur", 2, 18_000.0],
    ]
    for frame in (plans, products, currencies):
        assert sum(frame["share"]) == pytest.approx(1.0)
    assert rv.plan_mrr(con, END, "usd", None, "eur")["mrr"].tolist() == [180.0]
    assert rv.revenue_currencies(con) == ["eur", "usd"]


def test_the_drill_downs_name_the_subscriptions_and_their_item_changes(account: Account) -> None:
    con, names = account
    march = (date(2025, 3, 1), date(2025, 3, 31))
    shrunk = rv.movement_changes(con, *march, kind="contraction")
    cohort = rv.movement_changes(con, *march, customers=_ids(names, "ben", "fay"))

    assert shrunk[["name", "items_before", "items_after", "change_minor"]].values.tolist() == [
        ["Ben", "pro_usd × 1", "basic_usd × 1", -5_000.0]
    ]
    assert [names[c] for c in cohort["customer"]] == ["ben", "fay"]
    assert rv.movement_changes(con, *march, currency="eur")["name"].tolist() == ["Eve"]
    trials = rv.trial_list(con, date(2025, 2, 28), date(2025, 3, 31))
    assert trials[["name", "converted", "stripe_converted"]].values.tolist() == [
        ["Eve", True, True]
    ]
    ended = rv.churn_list(con, START - timedelta(days=1), END)
    assert ended[["name", "cause"]].values.tolist() == [
        ["Cat", "voluntary"],
        ["Fay", "payment_failed"],
    ]


def _ids(names: dict[str, str], *wanted: str) -> tuple[str, ...]:
    """The ids of the scenario's customers named `wanted`."""
    return tuple(customer for customer, name in names.items() if name in wanted)
