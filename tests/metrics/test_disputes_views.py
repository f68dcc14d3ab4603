"""The Disputes page's figures, pinned on its own scenario (tests/app/scenario_files/
disputes_page.toml) and on payment_health, and checked against `dispute_summary`, whose
definitions they share."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from metrics.disputes import dispute_summary
from metrics.disputes_views import (
    dispute_currencies,
    dispute_figures,
    dispute_rows,
    open_dispute_rows,
    range_dispute_rows,
)
from sandbox.scenario import load_scenario, simulate_scenario
from tests.metrics.scenarios import simulate_named, synced_snapshot

PAGE_SCENARIO = (
    Path(__file__).resolve().parents[1] / "app" / "scenario_files" / "disputes_page.toml"
)
AS_OF = date(2025, 3, 20)  # the scenario's last day: the sync answers at 23:59:59
LAST_30, LAST_90, LAST_7 = date(2025, 2, 18), date(2024, 12, 20), date(2025, 3, 13)
AMY = "<script>alert(1)</script> **Amy** [click](https://evil.example)"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    sim = simulate_scenario(load_scenario(PAGE_SCENARIO))
    con = synced_snapshot(sim, tmp_path_factory.mktemp("disputes_page"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def health(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("payment_health"), tmp_path_factory.mktemp("health"))
    yield con
    con.close()


def test_the_last_30_days_count_three_new_disputes_and_rate_them_by_dispute_and_charge_date(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = dispute_figures(page, LAST_30, AS_OF)

    assert (figures.at, figures.due_soon_until) == (
        datetime(2025, 3, 20, 23, 59, 59),
        datetime(2025, 3, 23, 23, 59, 59),
    )
    assert (figures.open, figures.amount_at_risk_minor) == (3, {"jpy": 9_800, "usd": 20_000})
    assert (figures.due_within_72h, figures.past_due) == (1, 0)
    # amy's, ben's and cho's; March's 5 charges; ben's dispute is on his February charge
    assert (figures.new, figures.succeeded_charges, figures.dispute_rate) == (3, 5, 0.6)
    assert (figures.charge_disputes, figures.charge_dispute_rate) == (2, 0.4)
    assert (figures.won, figures.lost, figures.win_rate) == (0, 0, None)


def test_the_last_90_days_hold_every_dispute_and_the_win_rate_of_the_closed_ones(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = dispute_figures(page, LAST_90, AS_OF)

    assert (figures.new, figures.succeeded_charges, figures.charge_disputes) == (5, 15, 5)
    assert figures.dispute_rate == figures.charge_dispute_rate == 5 / 15
    assert (figures.won, figures.lost, figures.win_rate) == (1, 1, 0.5)


def test_a_range_without_charges_has_no_dispute_rate(page: duckdb.DuckDBPyConnection) -> None:
    figures = dispute_figures(page, LAST_7, AS_OF)

    assert (figures.new, figures.succeeded_charges) == (2, 0)
    assert (figures.dispute_rate, figures.charge_dispute_rate, figures.win_rate) == (None,) * 3


def test_one_currency_counts_only_its_own_disputes_and_charges(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = dispute_figures(page, LAST_90, AS_OF, "jpy")

    assert (figures.open, figures.amount_at_risk_minor, figures.due_within_72h) == (
        1,
        {"jpy": 9_800},
        0,
    )
    assert (figures.new, figures.succeeded_charges, figures.dispute_rate) == (1, 3, 1 / 3)
    assert dispute_currencies(page) == ["jpy", "usd"]


def test_open_disputes_name_charge_and_customer_and_count_down_from_the_last_sync(
    page: duckdb.DuckDBPyConnection,
) -> None:
    rows = open_dispute_rows(page, LAST_30, AS_OF)

    columns = ["customer_name", "currency", "amount_minor", "reason", "status", "has_evidence"]
    columns += ["seconds_left", "due_within_72h", "respond_overdue"]
    assert rows[columns].to_dict("records") == [
        {"customer_name": AMY, "currency": "usd", "amount_minor": 10_000,
         "reason": "product_not_received", "status": "needs_response", "has_evidence": False,
         "seconds_left": 36 * 3_600 + 1, "due_within_72h": True, "respond_overdue": True},
        {"customer_name": "Cho", "currency": "jpy", "amount_minor": 9_800, "reason": "duplicate",
         "status": "needs_response", "has_evidence": False,
         "seconds_left": (7 * 24 + 12) * 3_600 + 1, "due_within_72h": False,
         "respond_overdue": False},
        {"customer_name": "Ben", "currency": "usd", "amount_minor": 10_000, "reason": "fraudulent",
         "status": "under_review", "has_evidence": True,
         "seconds_left": (8 * 24 + 12) * 3_600 + 1, "due_within_72h": False,
         "respond_overdue": False},
    ]  # fmt: skip
    charges = page.execute("SELECT id, customer FROM charges").fetchall()
    assert set(zip(rows["charge"], rows["customer"], strict=True)) <= set(charges)


def test_the_ranges_disputes_are_listed_newest_first_with_their_charge_dates(
    page: duckdb.DuckDBPyConnection,
) -> None:
    rows = range_dispute_rows(page, LAST_90, AS_OF)

    assert rows["customer_name"].tolist() == ["Cho", "Ben", AMY, "Eve", "Dan"]
    assert rows["status"].tolist() == ["needs_response", "under_review", "needs_response", "lost",
                                       "won"]  # fmt: skip
    assert [str(day)[:10] for day in rows["charge_created"]] == [
        "2025-03-05", "2025-02-05", "2025-03-05", "2025-02-05", "2025-01-05"
    ]  # fmt: skip


def test_a_past_day_counts_down_from_its_end(health: duckdb.DuckDBPyConnection) -> None:
    rows = dispute_rows(health, date(2025, 2, 28), date(2025, 3, 29))
    figures = dispute_figures(health, date(2025, 2, 28), date(2025, 3, 29))

    # hal's, due 2025-03-31 12:00, 36 hours after the end of 03-29 (lost 03-31, after it)
    assert rows[["customer_name", "is_open", "seconds_left", "due_within_72h"]].to_dict(
        "records"
    ) == [{"customer_name": "Hal", "is_open": True, "seconds_left": 36 * 3_600,
           "due_within_72h": True}]  # fmt: skip
    assert figures.at == datetime(2025, 3, 30)
    assert (figures.open, figures.due_within_72h, figures.new) == (1, 1, 1)


WINDOWS = [
    (date(2025, 1, 31), date(2025, 2, 28)),
    (date(2025, 2, 28), date(2025, 3, 29)),
    (date(2025, 1, 31), date(2025, 3, 31)),
    (date(2025, 3, 1), date(2025, 3, 31)),
    (date(2024, 12, 31), date(2025, 3, 31)),
]


@pytest.mark.parametrize(("since", "as_of"), WINDOWS)
def test_for_every_currency_the_figures_are_dispute_summarys(
    health: duckdb.DuckDBPyConnection, since: date, as_of: date
) -> None:
    figures = dispute_figures(health, since, as_of)
    summary = dispute_summary(health, since, as_of)

    fields = ["open", "amount_at_risk_minor", "new", "succeeded_charges", "dispute_rate"]
    fields += ["won", "lost", "win_rate", "past_due", "due_within_72h"]  # past days: same clock
    assert {f: getattr(figures, f) for f in fields} == {f: getattr(summary, f) for f in fields}


def test_the_page_scenarios_figures_are_dispute_summarys_too(
    page: duckdb.DuckDBPyConnection,
) -> None:
    for since in (LAST_30, LAST_90, LAST_7):
        figures, summary = dispute_figures(page, since, AS_OF), dispute_summary(page, since, AS_OF)
        assert (figures.open, figures.new, figures.dispute_rate, figures.win_rate) == (
            summary.open,
            summary.new,
            summary.dispute_rate,
            summary.win_rate,
        )
        assert figures.amount_at_risk_minor == summary.amount_at_risk_minor


def test_a_window_that_ends_before_it_starts_is_refused(page: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="must be before"):
        dispute_figures(page, AS_OF, AS_OF)
