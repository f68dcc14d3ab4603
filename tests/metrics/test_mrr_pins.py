"""MRR over history, pinned exactly on the sandbox's hand-written scenarios: each is simulated,
served over HTTP, synced by the real sync into a warehouse and read from its published snapshot.
The values come from each scenario file's header (sandbox/scenarios/*.toml)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from metrics.movements import mrr_movements
from metrics.mrr import MrrSettings, mrr_currency_daily, mrr_customer_daily
from tests.metrics.scenarios import simulate_named, synced_snapshot


def _net(
    con: duckdb.DuckDBPyConnection, day: date, settings: MrrSettings | None = None
) -> dict[str, float]:
    daily = mrr_currency_daily(con, day, day, settings or MrrSettings())
    return dict(zip(daily["currency"], daily["net_mrr_minor"], strict=True))


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, duckdb.DuckDBPyConnection]:
    names = [
        "normalisation",
        "coupons",
        "cancellations",
        "trials",
        "dunning",
        "plan_changes",
        "currencies",
        "payments",
    ]
    return {n: synced_snapshot(simulate_named(n), tmp_path_factory.mktemp(n)) for n in names}


def test_normalisation_gives_716_75_dollars(
    snapshots: dict[str, duckdb.DuckDBPyConnection],
) -> None:
    assert _net(snapshots["normalisation"], date(2025, 2, 15))["usd"] == pytest.approx(71_675.0)


@pytest.mark.parametrize(
    ("day", "settings", "usd"),
    [
        (date(2025, 2, 9), MrrSettings(), 51_500.0),  # 80 + 75 + 100 + 70 + 90 + 100
        (date(2025, 2, 9), MrrSettings(subtract_once=True), 46_500.0),
        (date(2025, 2, 10), MrrSettings(subtract_once=True), 51_500.0),
        (date(2025, 2, 15), MrrSettings(), 50_500.0),  # later_10 from 2025-02-15
        (date(2025, 2, 15), MrrSettings(subtract_repeating=False), 53_000.0),
        (date(2025, 3, 10), MrrSettings(), 53_000.0),  # repeating_25 over
    ],
)
def test_coupons_under_both_settings(
    snapshots: dict[str, duckdb.DuckDBPyConnection], day: date, settings: MrrSettings, usd: float
) -> None:
    assert _net(snapshots["coupons"], day, settings)["usd"] == pytest.approx(usd)


@pytest.mark.parametrize(
    ("day", "at_period_end", "usd"),
    [
        (date(2025, 2, 14), False, 20_000.0),
        (date(2025, 2, 15), False, 0.0),
        (date(2025, 2, 15), True, 10_000.0),
        (date(2025, 3, 4), True, 10_000.0),
        (date(2025, 3, 5), True, 0.0),
        (date(2025, 4, 10), False, 10_000.0),
    ],
)
def test_cancellations_now_and_at_period_end(
    snapshots: dict[str, duckdb.DuckDBPyConnection], day: date, at_period_end: bool, usd: float
) -> None:
    settings = MrrSettings(churn_at_period_end=at_period_end)
    assert _net(snapshots["cancellations"], day, settings).get("usd", 0.0) == pytest.approx(usd)


def test_henry_comes_back_as_a_reactivation(
    snapshots: dict[str, duckdb.DuckDBPyConnection],
) -> None:
    movements = mrr_movements(snapshots["cancellations"], date(2025, 1, 1), date(2025, 4, 30))
    assert movements["kind"].tolist() == ["new", "new", "churn", "churn", "reactivation"]


@pytest.mark.parametrize(
    ("name", "day", "usd"),
    [
        ("trials", date(2025, 1, 14), 0.0),
        # bob's trial ends without a card: paused (trial_settings say pause; no invoice at
        # trial_end) until his resume invoice; only alice converted
        ("trials", date(2025, 1, 15), 5_000.0),
        ("trials", date(2025, 2, 1), 10_000.0),
        ("dunning", date(2025, 2, 7), 40_000.0),
        ("dunning", date(2025, 2, 19), 40_000.0),  # past_due still counts
        # erin canceled; frank unpaid from his last failed attempt (his latest charge)
        ("dunning", date(2025, 2, 20), 20_000.0),
        ("plan_changes", date(2025, 1, 15), 20_000.0),  # jack 50 + kate 100 + leo 50
        # kate's downgrade of 2025-01-16 has no proration and is older than the events window:
        # the API shows it only on her 2025-02-01 invoice, so paylens keeps her at pro (100)
        # until then. The header's (the simulator's) 200.00 and 230.00 are not knowable; the
        # simulator lists the change in truth's unobservable_changes.
        ("plan_changes", date(2025, 1, 16), 25_000.0),  # jack 100 + kate 100 (pro) + leo 50
        ("plan_changes", date(2025, 1, 20), 28_000.0),  # jack 100 + kate 100 (pro) + leo 80
        ("plan_changes", date(2025, 2, 1), 23_000.0),  # kate's basic invoice: 100 + 50 + 80
        ("plan_changes", date(2025, 2, 20), 18_000.0),  # leo 30
        # payments: four $100 subscriptions (the file's header: 400/300/200/300).
        ("payments", date(2025, 1, 19), 40_000.0),
        ("payments", date(2025, 1, 20), 30_000.0),  # sam canceled (ended_at) after his dispute
        # tom paused on 2025-02-10 (an active subscription paused, older than the events
        # window): no object field records when; his 2025-03-01 resume invoice shows a new cycle
        # began before the old one ended, not when the pause began. paylens keeps him active
        # (truth: 200.00; the simulator lists the pause in unobservable_changes).
        ("payments", date(2025, 2, 10), 30_000.0),
        ("payments", date(2025, 3, 1), 30_000.0),  # tom resumed
    ],
)
def test_scenario_headers_pin_mrr(
    snapshots: dict[str, duckdb.DuckDBPyConnection], name: str, day: date, usd: float
) -> None:
    assert _net(snapshots[name], day).get("usd", 0.0) == pytest.approx(usd)


def test_currencies_keep_jpy_in_yen_and_mia_counts_once(
    snapshots: dict[str, duckdb.DuckDBPyConnection],
) -> None:
    con, day = snapshots["currencies"], date(2025, 2, 15)
    assert _net(con, day) == pytest.approx(
        {"eur": 9_000.0, "gbp": 8_000.0, "jpy": 55_000.0, "usd": 12_000.0}
    )
    customers = mrr_customer_daily(con, day, day)
    assert sorted(customers["subscriptions"].tolist()) == [1, 1, 1, 1, 2]
