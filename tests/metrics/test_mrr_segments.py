"""The MRR segment layers against the per-day definition they replaced, on the scenario files.

`mrr_daily_reference.sql` is the old definition (a day spine joined with every item span, one row
per item per day); `metrics.mrr` now reads day ranges (segments). Both must give the same
subscriptions on the same days with the same MRR, under every setting, and the running sums of
`mrr_currency_daily` must equal the per-day totals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics.mrr import MrrSettings, mrr_currency_daily, mrr_subscription_daily
from tests.metrics.scenarios import simulate_named, synced_snapshot

SCENARIOS = ["coupons", "cancellations", "plan_changes", "normalisation", "currencies", "dunning"]
SETTINGS = [MrrSettings(), MrrSettings(False, True, True), MrrSettings(True, True, False)]
REFERENCE = (Path(__file__).parent / "mrr_daily_reference.sql").read_text(encoding="utf-8")
CLOSE = 1e-12  # relative: the reference sums a subscription's items in no fixed order


@pytest.fixture(scope="module")
def snapshots(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, duckdb.DuckDBPyConnection]]:
    cons = {
        name: synced_snapshot(simulate_named(name), tmp_path_factory.mktemp(name))
        for name in SCENARIOS
    }
    yield cons
    for con in cons.values():
        con.close()


def _window(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """From the first item span's day to a week past the last change."""
    row = con.execute(
        "SELECT MIN(valid_from)::DATE, GREATEST(MAX(valid_from), MAX(valid_to))::DATE "
        "FROM subscription_item_history"
    ).fetchone()
    assert row is not None and row[0] is not None
    return row[0], row[1] + timedelta(days=7)


def _reference(
    con: duckdb.DuckDBPyConnection, start: date, as_of: date, settings: MrrSettings
) -> list[tuple[Any, ...]]:
    params = {"start": start, "as_of": as_of, **asdict(settings)}
    body = re.sub(r"--[^\n]*", "", REFERENCE)
    used = {k: v for k, v in params.items() if f"${k}" in body}
    return con.execute(body, used).fetchall()


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= CLOSE * max(abs(a), abs(b))


@pytest.mark.parametrize("settings", SETTINGS, ids=["stripe", "period_end_once", "both_coupons"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_segments_give_every_subscription_the_mrr_of_the_per_day_definition_every_day(
    snapshots: dict[str, duckdb.DuckDBPyConnection], name: str, settings: MrrSettings
) -> None:
    con = snapshots[name]
    start, as_of = _window(con)
    expected = {
        (day, sub): (customer, currency, items, list_mrr, net_mrr)
        for day, sub, customer, currency, items, list_mrr, net_mrr in _reference(
            con, start, as_of, settings
        )
    }
    ours = mrr_subscription_daily(con, start, as_of, settings)
    found = {
        (day, sub): (customer, currency, items, list_mrr, net_mrr)
        for day, sub, customer, currency, items, list_mrr, net_mrr in ours[
            [
                "day",
                "subscription",
                "customer",
                "currency",
                "items",
                "list_mrr_minor",
                "net_mrr_minor",
            ]
        ].itertuples(index=False)
    }

    assert expected  # the scenario has MRR to compare
    assert found.keys() == expected.keys()
    wrong = [
        key
        for key, (customer, currency, items, list_mrr, net_mrr) in expected.items()
        if found[key][:3] != (customer, currency, items)
        or not _close(found[key][3], list_mrr)
        or not _close(found[key][4], net_mrr)
    ]
    assert wrong == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_running_sums_per_currency_equal_the_per_day_totals(
    snapshots: dict[str, duckdb.DuckDBPyConnection], name: str
) -> None:
    con = snapshots[name]
    start, as_of = _window(con)
    totals: dict[tuple[date, str], list[float]] = {}
    customers: dict[tuple[date, str], set[str]] = {}
    for day, _sub, customer, currency, _items, list_mrr, net_mrr in _reference(
        con, start, as_of, MrrSettings()
    ):
        row = totals.setdefault((day, currency), [0.0, 0.0, 0])
        row[0] += list_mrr
        row[1] += net_mrr
        if net_mrr > 0:
            row[2] += 1
            customers.setdefault((day, currency), set()).add(customer)
    daily = mrr_currency_daily(con, start, as_of)
    found = {
        (day, currency): (list_mrr, net_mrr, subs, active)
        for day, currency, list_mrr, net_mrr, subs, active in daily[
            [
                "day",
                "currency",
                "list_mrr_minor",
                "net_mrr_minor",
                "active_subscriptions",
                "active_customers",
            ]
        ].itertuples(index=False)
    }

    assert found.keys() == totals.keys()
    for key, (list_mrr, net_mrr, subs) in totals.items():
        assert found[key][0] == pytest.approx(list_mrr, rel=1e-12, abs=1e-9)
        assert found[key][1] == pytest.approx(net_mrr, rel=1e-12, abs=1e-9)
        assert found[key][2:] == (subs, len(customers.get(key, set())))
