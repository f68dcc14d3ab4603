"""MRR movements labelled per change, pinned exactly on the published worked examples of
ChartMogul, Baremetrics and ProfitWell (and Lago's balance rule), each a scenario file of this
suite (tests/metrics/scenario_files/*.toml, values from its header) synced the real way; and, on
`demo`, that NRR, GRR, cohorts and the drill-down sum the same changes as the movements."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from metrics.drilldown import movement_subscriptions
from metrics.movements import KINDS, customer_changes, movements_summary, mrr_movements
from metrics.mrr import MrrSettings, mrr_currency_daily
from metrics.retention import cohort_retention, mrr_churn
from tests.metrics.scenarios import DEMO_UNTIL, Synced, synced_scenarios

NAMES = ["chartmogul_lifecycle", "same_month_moves", "baremetrics_mrr", "profitwell_reactivations"]
STRIPE = MrrSettings()
PERIOD_END = MrrSettings(churn_at_period_end=True)  # ChartMogul's and ProfitWell's churn date


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    """Each scenario's snapshot, with ids mapped back to the file's names."""
    return synced_scenarios(NAMES, tmp_path_factory)


def _moves(
    synced: Synced,
    name: str,
    start: date,
    as_of: date,
    settings: MrrSettings = STRIPE,
) -> list[tuple[str, str, str, float]]:
    """(month, customer name, kind, amount in dollars) per movement row."""
    con, names = synced[name]
    frame = mrr_movements(con, start, as_of, settings)
    return [
        (str(end)[:7], names[customer], kind, round(amount / 100, 2))
        for end, customer, kind, amount in zip(
            frame["period_end"],
            frame["customer"],
            frame["kind"],
            frame["amount_minor"],
            strict=True,
        )
    ]


def _summary(
    synced: Synced,
    name: str,
    start: date,
    as_of: date,
    settings: MrrSettings = STRIPE,
) -> pd.DataFrame:
    con, _ = synced[name]
    before = start - timedelta(days=1)
    levels = mrr_currency_daily(con, before, before, settings)
    opening = dict(zip(levels["currency"], levels["net_mrr_minor"], strict=True))
    return movements_summary(mrr_movements(con, start, as_of, settings), opening, "usd", None)


def test_chartmogul_counts_new_then_expansion_in_one_month_and_the_whole_lifecycle(
    synced: Synced,
) -> None:
    moves = _moves(synced, "chartmogul_lifecycle", date(2025, 1, 1), date(2026, 3, 31), PERIOD_END)
    assert moves == [
        ("2025-01", "syncalytics", "new", 166.67),
        ("2025-01", "syncalytics", "expansion", 60.0),
        ("2025-02", "syncalytics", "contraction", 60.0),
        ("2026-01", "syncalytics", "churn", 166.67),
        ("2026-03", "syncalytics", "reactivation", 150.0),
    ]
    january = _summary(synced, "chartmogul_lifecycle", date(2025, 1, 1), date(2025, 1, 31)).iloc[0]
    assert (january["new"], january["expansion"]) == pytest.approx((2_000 / 12, 60.0))
    assert january["end_mrr"] == pytest.approx(2_000 / 12 + 60)


def test_chartmogul_churn_is_dated_on_the_request_under_stripes_rule(
    synced: Synced,
) -> None:
    moves = _moves(synced, "chartmogul_lifecycle", date(2025, 12, 1), date(2026, 1, 31))
    assert moves == [("2025-12", "syncalytics", "churn", 166.67)]


def test_chartmogul_drill_down_shows_the_silver_subscription_behind_the_expansion(
    synced: Synced,
) -> None:
    con, names = synced["chartmogul_lifecycle"]
    rows = movement_subscriptions(con, date(2024, 12, 31), date(2025, 2, 28))
    found = [
        (str(day), names[sub], kind, round(change / 100, 2), _text(before), _text(after))
        for day, sub, kind, change, before, after in zip(
            rows["day"],
            rows["subscription"],
            rows["kind"],
            rows["change_minor"],
            rows["items_before"],
            rows["items_after"],
            strict=True,
        )
    ]
    assert sorted(found) == [
        ("2025-01-20", "gold_year", "new", 166.67, None, "gold_yearly × 4"),
        ("2025-01-24", "silver_month", "expansion", 60.0, None, "silver_monthly × 2"),
        ("2025-02-07", "silver_month", "contraction", -60.0, "silver_monthly × 2", None),
    ]


def _text(value: object) -> str | None:
    return None if pd.isna(value) else str(value)


def test_a_customer_who_expands_and_contracts_in_one_month_has_both_movements(
    synced: Synced,
) -> None:
    moves = _moves(synced, "same_month_moves", date(2025, 3, 1), date(2025, 3, 31))
    assert sorted(moves) == sorted(
        [
            ("2025-03", "ann", "expansion", 50.0),
            ("2025-03", "ann", "contraction", 30.0),
            ("2025-03", "ben", "expansion", 40.0),
            ("2025-03", "ben", "contraction", 40.0),
            ("2025-03", "cy", "new", 100.0),
            ("2025-03", "cy", "churn", 100.0),
            ("2025-03", "dee", "contraction", 20.0),  # a same-day swap is one movement
        ]
    )
    march = _summary(synced, "same_month_moves", date(2025, 3, 1), date(2025, 3, 31)).iloc[0]
    flows = [march[k] for k in ["start_mrr", *KINDS, "end_mrr"]]
    assert flows == pytest.approx([300.0, 100.0, 0.0, 90.0, 90.0, 100.0, 300.0])


def test_nrr_and_grr_are_measured_on_the_movements_of_the_customers_paying_at_the_start(
    synced: Synced,
) -> None:
    con, _ = synced["same_month_moves"]
    march = mrr_churn(con, date(2025, 2, 28), date(2025, 3, 31), "usd")
    assert (march.start_mrr, march.new, march.churn) == (300.0, 100.0, 100.0)
    assert (march.expansion, march.contraction) == (90.0, 90.0)
    # cy's new and churn are outside the cohort: NRR = (300 + 90 − 90) ÷ 300; GRR keeps each
    # customer's start at most: ann 100 (ends at 120), ben 100, dee 80
    assert (march.cohort_end_mrr, march.nrr) == (300.0, 1.0)
    assert (march.retained_mrr, march.grr) == (280.0, pytest.approx(280 / 300))
    assert march.gross_mrr_churn_rate == pytest.approx(190 / 300)
    assert march.net_mrr_churn_rate == pytest.approx(100 / 300)

    con, _ = synced["chartmogul_lifecycle"]
    january = mrr_churn(con, date(2024, 12, 31), date(2025, 1, 31), "usd")
    assert (january.start_mrr, january.nrr, january.expansion) == (0.0, None, 60.0)


def test_cohorts_sum_the_same_changes(
    synced: Synced,
) -> None:
    con, _ = synced["same_month_moves"]
    cohorts = cohort_retention(con, date(2025, 4, 30)).set_index(["cohort", "months_since"])
    january = cohorts.loc[date(2025, 1, 1)]
    assert january["customers"].tolist() == [3, 3, 3, 3]
    assert january["mrr_minor"].tolist() == pytest.approx([30_000.0] * 3 + [30_000.0])
    march = cohorts.loc[date(2025, 3, 1)]  # cy: new and churned in March
    assert march["retained_customers"].tolist() == [0, 0]
    assert march["base_mrr_minor"].tolist() == [10_000.0, 10_000.0]
    assert march["mrr_minor"].tolist() == [0.0, 0.0]


def test_baremetrics_coupons_and_a_100_percent_coupon_is_churn(
    synced: Synced,
) -> None:
    summary = _summary(synced, "baremetrics_mrr", date(2025, 1, 1), date(2025, 2, 28))
    assert summary["new"].tolist() == pytest.approx([115.0, 0.0])
    assert summary["churn"].tolist() == pytest.approx([0.0, 10.0])
    assert summary["end_mrr"].tolist() == pytest.approx([115.0, 105.0])
    moves = _moves(synced, "baremetrics_mrr", date(2025, 2, 1), date(2025, 2, 28))
    assert moves == [("2025-02", "monthly_3", "churn", 10.0)]


def test_profitwell_counts_a_return_after_eight_months_as_a_reactivation(
    synced: Synced,
) -> None:
    moves = _moves(
        synced, "profitwell_reactivations", date(2025, 1, 1), date(2025, 12, 31), PERIOD_END
    )
    assert sorted(moves) == [
        ("2025-01", "hal", "new", 50.0),
        ("2025-01", "rae", "new", 100.0),
        ("2025-03", "rae", "churn", 100.0),
        ("2025-11", "rae", "reactivation", 100.0),
        ("2025-12", "hal", "churn", 50.0),
        ("2025-12", "hal", "reactivation", 50.0),
    ]
    stripe_rule = _moves(synced, "profitwell_reactivations", date(2025, 2, 1), date(2025, 3, 31))
    assert stripe_rule == [("2025-02", "rae", "churn", 100.0)]


def test_lagos_balance_rule_starting_plus_change_is_ending_every_month(
    synced: Synced,
) -> None:
    # Lago: Starting and Ending MRR are balances, Change is the movements combined.
    for name in NAMES:
        con, _ = synced[name]
        summary = _summary(synced, name, date(2025, 1, 1), date(2025, 12, 31))
        balances = mrr_currency_daily(con, date(2025, 1, 1), date(2025, 12, 31))
        level = dict(zip(balances["day"], balances["net_mrr_minor"] / 100, strict=True))
        for row in summary.to_dict("records"):
            change = sum(row[k] for k in KINDS[:3]) - row["contraction"] - row["churn"]
            assert row["start_mrr"] + change == pytest.approx(row["end_mrr"]), name
            assert row["end_mrr"] == pytest.approx(level.get(row["period_end"], 0.0)), name


def test_on_demo_every_month_the_movements_sum_the_changes_and_cohorts_follow_them(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    changes = customer_changes(demo, date(2020, 1, 1), DEMO_UNTIL)
    movements = mrr_movements(demo, date(2025, 1, 1), DEMO_UNTIL)
    in_window = changes[changes["day"] >= date(2025, 1, 1)]
    months = [str(day)[:7] for day in in_window["day"]]
    by_kind = in_window.assign(month=months).groupby(["month", "kind"])["amount_minor"].sum()
    moved = movements.assign(month=[str(d)[:7] for d in movements["period_end"]])
    assert moved.groupby(["month", "kind"])["amount_minor"].sum().to_dict() == pytest.approx(
        by_kind.to_dict()
    )
    assert (movements["end_mrr_minor"] >= 0).all()
    # a cohort's MRR moves month by month by its customers' changes in their signup currency
    first = changes[changes["kind"] == "new"].sort_values(["day", "currency"])
    signups = first.drop_duplicates("customer").set_index("customer")
    firsts = signups[["day", "currency"]].add_suffix("_signup")
    own = changes.join(firsts, on="customer")
    own = own[own["currency"] == own["currency_signup"]]
    pairs = zip(own["day"], own["day_signup"], strict=True)
    own = own.assign(
        cohort=[d.replace(day=1) for d in own["day_signup"]],
        k=[(d.year - s.year) * 12 + d.month - s.month for d, s in pairs],
    )
    expected = own.groupby(["cohort", "currency", "k"])["change_minor"].sum()
    cohorts = cohort_retention(demo, DEMO_UNTIL).set_index(["cohort", "currency", "months_since"])
    step = cohorts.groupby(level=[0, 1])["mrr_minor"].diff().fillna(cohorts["mrr_minor"])
    for key, change in expected.items():
        assert step.loc[key] == pytest.approx(change, abs=1e-6), key
