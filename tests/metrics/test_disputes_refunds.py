"""Disputes and refunds, pinned on the payment_health scenario and checked on the demo preset
against the simulation's own disputes, refunds and charges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from metrics.disputes import dispute_list, dispute_summary, open_disputes
from metrics.refunds import refund_summary, refunds_by_currency
from sandbox.sim import Simulation
from tests.metrics.scenarios import simulate_named, synced_snapshot

FEB = (date(2025, 1, 31), date(2025, 2, 28))
MAR_29 = (date(2025, 2, 28), date(2025, 3, 29))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("payment_health"), tmp_path_factory.mktemp("health"))
    yield con
    con.close()


def test_at_the_end_of_february_both_disputes_are_open_and_neither_is_due_soon(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    summary = dispute_summary(scenario, *FEB)

    # fay's (won 03-15) and gus's (lost 03-06) were still open: their close events are later.
    assert (summary.open, summary.amount_at_risk_minor) == (2, {"usd": 20_000})
    assert (summary.due_within_72h, summary.past_due) == (0, 0)
    assert (summary.new, summary.succeeded_charges, summary.dispute_rate) == (2, 7, 2 / 7)
    assert (summary.won, summary.lost, summary.win_rate) == (0, 0, None)
    rows = open_disputes(scenario, FEB[1])
    # gus has no evidence and is due 2025-03-06 12:00: 132 hours after the end of Feb 28.
    # fay's, with evidence, is due at the same time (14 days after opening).
    assert sorted(rows["needs_response"].tolist()) == [False, True]
    assert rows["hours_left"].tolist() == [132.0, 132.0]
    assert rows["due_within_72h"].tolist() == [False, False]


def test_a_dispute_without_evidence_due_in_36_hours_is_due_within_72h(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    summary = dispute_summary(scenario, *MAR_29)
    rows = open_disputes(scenario, MAR_29[1])

    assert (summary.open, summary.amount_at_risk_minor, summary.due_within_72h) == (
        1,
        {"usd": 10_000},
        1,
    )
    assert rows[["hours_left", "needs_response", "due_within_72h", "respond_overdue"]].to_dict(
        "records"
    ) == [{"hours_left": 36.0, "needs_response": True, "due_within_72h": True,
           "respond_overdue": True}]  # fmt: skip
    assert rows["respond_by"].tolist() == [pd.Timestamp("2025-03-27 12:00")]
    # hal's dispute is lost on 03-31, after as_of: not closed yet, so no win rate.
    assert (summary.new, summary.dispute_rate, summary.win_rate) == (1, 1 / 7, None)


def test_win_rate_counts_the_won_and_the_lost_dispute_once_closed(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    summary = dispute_summary(scenario, date(2025, 1, 31), date(2025, 3, 31))

    assert (summary.won, summary.lost, summary.win_rate) == (1, 2, 1 / 3)
    assert (summary.open, summary.amount_at_risk_minor, summary.due_within_72h) == (0, {}, 0)
    assert summary.new == 3


def test_dispute_list_shows_every_dispute_with_its_latest_status(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    rows = dispute_list(scenario, date(2025, 3, 31))

    assert sorted(rows["status"]) == ["lost", "lost", "won"]
    assert rows["is_open"].tolist() == [False, False, False]


def test_a_partial_refund_counts_its_own_amount_against_the_months_charges(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    frame = refunds_by_currency(scenario, *FEB)

    assert frame.drop(columns="refund_rate").to_dict("records") == [
        {"currency": "jpy", "refunds": 0, "refunded_minor": 0, "succeeded_charges": 2,
         "charged_minor": 15_980},
        {"currency": "usd", "refunds": 1, "refunded_minor": 2_500, "succeeded_charges": 5,
         "charged_minor": 50_000},
    ]  # fmt: skip
    assert frame["refund_rate"].tolist() == [0.0, 0.05]


def test_refund_summary_converts_volumes_when_currencies_mix(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    rates = pd.DataFrame({"date": [date(2025, 1, 1)], "currency": ["jpy"], "rate": [0.0065]})

    summary = refund_summary(scenario, *FEB, rates=rates, reporting_currency="usd")

    assert (summary.count, summary.amount_minor) == (1, {"usd": 2_500})
    assert summary.rate == pytest.approx(25.0 / (500.0 + 15_980 * 0.0065))


def test_refund_rate_is_none_without_charges(scenario: duckdb.DuckDBPyConnection) -> None:
    summary = refund_summary(scenario, date(2025, 1, 1), date(2025, 1, 3))

    assert (summary.count, summary.amount_minor, summary.rate) == (0, {}, None)


# --- the demo preset against the simulation's own objects ---

DEMO_WINDOWS = [
    (date(2025, 11, 30), date(2026, 2, 28)),
    (date(2026, 5, 31), date(2026, 9, 30)),
    (date(2026, 10, 20), date(2026, 11, 20)),
]


@pytest.mark.parametrize(("since", "as_of"), DEMO_WINDOWS)
def test_demo_refunds_equal_the_simulations_refunds(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, since: date, as_of: date
) -> None:
    start, end = _unix(since + timedelta(days=1)), _unix(as_of + timedelta(days=1))
    refunded: dict[str, int] = {}
    for refund in demo_sim.refunds.values():
        if start <= refund["created"] < end:
            refunded[refund["currency"]] = refunded.get(refund["currency"], 0) + refund["amount"]

    frame = refunds_by_currency(demo, since, as_of)

    assert {
        r["currency"]: r["refunded_minor"] for r in frame.to_dict("records") if r["refunds"]
    } == (refunded)
    charged = {c: 0 for c in frame["currency"]}
    for charge in demo_sim.charges.values():
        if charge["status"] == "succeeded" and start <= charge["created"] < end:
            charged[charge["currency"]] += charge["amount"]
    assert dict(zip(frame["currency"], frame["charged_minor"], strict=True)) == charged


DISPUTE_WINDOWS = [
    (date(2025, 6, 30), date(2025, 7, 31)),
    (date(2026, 7, 31), date(2026, 9, 30)),
    (date(2026, 10, 20), date(2026, 11, 20)),
]


@pytest.mark.parametrize(("since", "as_of"), DISPUTE_WINDOWS)
def test_demo_disputes_equal_the_simulations_disputes(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, since: date, as_of: date
) -> None:
    start, end = _unix(since + timedelta(days=1)), _unix(as_of + timedelta(days=1))
    new = [d for d in demo_sim.disputes.values() if start <= d["created"] < end]
    closed = {
        e["data"]["object"]["id"]: e["created"]
        for e in demo_sim.events.values()
        if e["type"] == "charge.dispute.closed"
    }
    is_open = {
        d["id"]: d["created"] < end
        and (d["status"] not in ("won", "lost") or closed.get(d["id"], 0) >= end)
        for d in demo_sim.disputes.values()
    }
    succeeded = sum(
        c["status"] == "succeeded" and start <= c["created"] < end
        for c in demo_sim.charges.values()
    )
    won = sum(d["status"] == "won" and not is_open[d["id"]] for d in new)
    lost = sum(d["status"] == "lost" and not is_open[d["id"]] for d in new)

    summary = dispute_summary(demo, since, as_of)

    assert summary.new == len(new) and summary.succeeded_charges == succeeded
    assert summary.dispute_rate == len(new) / succeeded
    assert (summary.won, summary.lost) == (won, lost)
    assert summary.open == sum(is_open.values())
    assert summary.new > 0


def _unix(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
