"""The Overview's figures beyond the summary (metrics/overview_views.py), pinned on hand-built
cases: the payments page's account (tests/app/scenario_files/payments_page.toml) for success
against its baseline, movements built by hand, and a table of reads per month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from metrics.overview_views import (
    mrr_change,
    net_new_mrr,
    reads_in_month,
    success_against_baseline,
)
from metrics.summary import Movements
from sandbox.scenario import load_scenario, simulate_scenario
from tests.metrics.scenarios import synced_snapshot

PAYMENTS = Path(__file__).parents[1] / "app" / "scenario_files" / "payments_page.toml"


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    sim = simulate_scenario(load_scenario(PAYMENTS))
    con = synced_snapshot(sim, tmp_path_factory.mktemp("payments_page"))
    yield con
    con.close()


def test_seven_days_are_judged_against_the_seven_before(
    payments: duckdb.DuckDBPyConnection,
) -> None:
    # (02-21, 02-28]: 15 charges, 10 succeeded; (02-14, 02-21]: the 12 weekly renewals of 02-19
    # (ann's declined) and big's failed retry of 02-16: 11 of 13
    found = success_against_baseline(payments, date(2025, 2, 21), date(2025, 2, 28))
    assert found.rate == 10 / 15
    assert found.baseline == 11 / 13
    assert found.change == 10 / 15 - 11 / 13
    assert found.baseline_since == date(2025, 2, 14)


def test_thirty_days_are_judged_against_the_thirty_before(
    payments: duckdb.DuckDBPyConnection,
) -> None:
    # (01-29, 02-28]: 46 of 57; (12-30, 01-29]: the 14 first payments of 01-01 and the weekly
    # renewals of 01-08, 01-15 and 01-22 (12 each), all paid: 50 of 50
    found = success_against_baseline(payments, date(2025, 1, 29), date(2025, 2, 28))
    assert (found.rate, found.baseline) == (46 / 57, 1.0)
    assert found.baseline_since == date(2024, 12, 30)


def test_without_payments_before_the_range_there_is_no_baseline(
    payments: duckdb.DuckDBPyConnection,
) -> None:
    found = success_against_baseline(payments, date(2024, 12, 31), date(2025, 1, 7))
    assert found.rate == 1.0 and found.baseline is None and found.change is None
    with pytest.raises(ValueError, match="must be before"):
        success_against_baseline(payments, date(2025, 1, 8), date(2025, 1, 8))


def _moves(**values: float | None) -> Movements:
    kinds = ("start_mrr", "new", "reactivation", "expansion", "contraction", "churn", "fx")
    base: dict[str, float | None] = {**dict.fromkeys((*kinds, "end_mrr"), 0.0), **values}
    return Movements(**base, start_by_currency={})  # type: ignore[arg-type]


def test_net_new_mrr_is_the_movements_without_fx_and_the_change_includes_it() -> None:
    moves = _moves(
        start_mrr=12_500.0, new=1_000.0, reactivation=200.0, expansion=300.0,
        contraction=150.0, churn=400.0, fx=-25.0, end_mrr=13_425.0,
    )  # fmt: skip
    assert net_new_mrr(moves) == 950.0
    assert mrr_change(moves) == 925.0


def test_movements_that_fx_stopped_have_no_net_new_or_change() -> None:
    stopped = _moves(start_mrr=None, new=None, end_mrr=None)
    assert net_new_mrr(stopped) is None
    assert mrr_change(stopped) is None


def test_reads_are_those_of_the_days_calendar_month() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE sync_reads_monthly (month DATE, reads BIGINT)")
    con.execute("INSERT INTO sync_reads_monthly VALUES ('2025-02-01', 1200), ('2025-03-01', 37)")
    assert reads_in_month(con, date(2025, 2, 28)) == 1200
    assert reads_in_month(con, date(2025, 3, 1)) == 37
    assert reads_in_month(con, date(2025, 4, 15)) == 0
