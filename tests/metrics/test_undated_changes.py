"""Changes the API cannot date: listed by the sync, placed where they are first shown, and
their MRR at stake — on a hand-written scenario with one change of each kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from app.report import build_report
from app.settings import Settings
from metrics.churn import ChurnSettings
from metrics.mrr import MrrSettings
from metrics.summary import summarise
from metrics.undated import UndatedExposure, undated_changes, undated_exposure
from sandbox.scenario import scenario_ids
from sandbox.sim import Simulation
from tests.metrics.scenarios import simulate_named, synced_snapshot
from tests.metrics.truth_checks import (
    differences,
    every_day,
    listed_undated,
    unobservable_before_window,
)

UNTIL = date(2025, 6, 30)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate_named("undated_changes")


@pytest.fixture(scope="module")
def con(
    sim: Simulation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = synced_snapshot(sim, tmp_path_factory.mktemp("undated"))
    yield connection
    connection.close()


def test_each_kind_of_undated_change_is_listed_once_where_the_history_places_it(
    con: duckdb.DuckDBPyConnection, sim: Simulation
) -> None:
    names = {v: k for k, v in scenario_ids(sim).items()}
    rows = undated_changes(con, UNTIL)

    found = [
        (names[r.subscription], str(r.earliest), r.placed_day, r.shown_by,
         r.before_mrr_minor, r.after_mrr_minor)
        for r in rows.itertuples()
    ]  # fmt: skip
    assert sorted(found) == [
        ("ann_sub", "2025-01-10 12:00:00", date(2025, 5, 31), "window_start", 10_000.0, 14_000.0),
        ("cal_sub", "2025-02-01 12:00:00", date(2025, 2, 20), "subscription", 3_000.0, 0.0),
        ("dot_sub", "2025-03-01 12:00:00", date(2025, 4, 1), "invoice", 5_000.0, 10_000.0),
        ("eve_sub", "2025-01-01 12:00:00", date(2025, 5, 31), "window_start", 5_000.0, 0.0),
    ]


def test_the_sync_records_the_items_and_statuses_before_and_after_each_change(
    con: duckdb.DuckDBPyConnection, sim: Simulation
) -> None:
    names = {v: k for k, v in scenario_ids(sim).items()}
    rows = con.execute(
        "SELECT subscription, before_quantity, after_quantity, before_status, after_status, "
        "before_price = after_price FROM undated_changes"
    ).fetchall()

    assert sorted((names[s], *rest) for s, *rest in rows) == [
        ("ann_sub", 5, 7, None, None, True),
        ("cal_sub", 3, 4, None, None, True),
        ("dot_sub", 1, 1, None, None, False),
        ("eve_sub", None, None, "active", "paused", None),
    ]


def test_a_change_inside_the_events_window_is_dated_by_its_event_and_not_listed(
    con: duckdb.DuckDBPyConnection, sim: Simulation
) -> None:
    fay = scenario_ids(sim)["fay_sub"]

    assert fay not in set(undated_changes(con, UNTIL)["subscription"])


def test_the_exposure_sums_the_mrr_each_placement_moves_and_counts_what_cannot_be_valued(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert undated_exposure(con, UNTIL) == UndatedExposure(
        subscriptions=4,
        latest_day=date(2025, 5, 31),
        mrr_at_stake_minor={"usd": 4_000.0 + 5_000.0 + 5_000.0},
        unknown_amount=1,
    )


def test_an_as_of_before_a_placement_leaves_it_out(con: duckdb.DuckDBPyConnection) -> None:
    assert undated_exposure(con, date(2025, 3, 31)).subscriptions == 1  # cal's, on 2025-02-20


def test_mrr_equals_the_truth_on_every_day_but_the_unknowable_ones_of_listed_changes(
    con: duckdb.DuckDBPyConnection, sim: Simulation
) -> None:
    wrong, wrong_totals, tolerated = differences(
        con, sim, MrrSettings(), every_day(sim.start, UNTIL)
    )

    assert (wrong, wrong_totals) == ([], [])
    names = {v: k for k, v in scenario_ids(sim).items()}
    assert {names[s] for s in tolerated} == {"ann_sub", "cal_sub", "dot_sub", "eve_sub"}
    assert tolerated <= listed_undated(con) <= unobservable_before_window(sim)


def test_the_report_warns_how_much_mrr_the_undated_changes_put_in_doubt(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    settings = dataclasses.replace(Settings(), data_dir=tmp_path)
    report = build_report(con, settings, UNTIL, date(2025, 5, 31))

    assert report["warnings"] == [
        "4 subscriptions changed at an unknown date on or before 2025-05-31; MRR before then "
        "may be off by up to $140.00 (1 of them ended: amount not known)"
    ]
    summary = summarise(
        con, as_of=date(2025, 1, 31), since=date(2024, 12, 31), definition=ChurnSettings(),
        reporting_currency="usd", rates=None,
    )  # fmt: skip
    assert summary.warnings == ()  # nothing undated is placed by then
