"""The daily reconciliation: objects whose events were lost are listed and stored by the first
incremental run of the next account day, counted as what the events missed, once a day.

A hand-written business is served on a hand-moved clock by the real sandbox, whose
`drop_events` fault loses every event of one morning: three customers subscribe then (new
customers, subscriptions, items, invoices, lines, charges) and the charge of a customer who
subscribed the day before is updated (a changed object within the reconciliation's margin)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import duckdb
import pytest

from app.service import sync_and_publish
from sandbox.api.faults import Window, parse_faults
from sandbox.api.server import start_server
from sandbox.objects.clock import day_end, day_start
from sandbox.scenario import load_scenario, simulate_scenario
from sync.reconcile import RECONCILED_RESOURCES, due
from sync.status import format_status, sync_status
from sync.store import open_warehouse
from tests.conftest import settings_for
from tests.sync.warehouse_checks import checksum

SCENARIO = """
[scenario]
name = "lost_events"
start = 2025-03-01
until = 2025-03-12

[products.pro]
name = "Pro"

[prices.pro_monthly]
product = "pro"
currency = "usd"
unit_amount = 5000
interval = "month"

[[timeline]]
at = 2025-03-01T00:00:00Z
op = "create_customer"
customer = "early"
count = 2

[[timeline]]
at = 2025-03-01T01:00:00Z
op = "subscribe"
subscription = "early_pro"
customer = "early"
items = [{ price = "pro_monthly" }]

[[timeline]]
at = 2025-03-10T12:00:00Z
op = "create_customer"
customer = "recent"

[[timeline]]
at = 2025-03-10T12:00:00Z
op = "subscribe"
subscription = "recent_pro"
customer = "recent"
items = [{ price = "pro_monthly" }]

[[timeline]]
at = 2025-03-11T06:00:00Z
op = "create_customer"
customer = "late"
count = 3

[[timeline]]
at = 2025-03-11T06:00:00Z
op = "subscribe"
subscription = "late_pro"
customer = "late"
items = [{ price = "pro_monthly" }]

[[timeline]]
at = 2025-03-11T07:00:00Z
op = "update_charge"
customer = "recent"
description = "Pro, March (corrected)"
"""
SERVED_FROM = day_end(dt.date(2025, 3, 10))  # the sandbox's clock when the wall reads 0
LOST = "drop_events=sim:2025-03-11T05:00..2025-03-11T09:00"
# what the events of that morning would have told: 3 sign-ups and one charge updated
MISSED = {
    "customers": 3,
    "subscriptions": 3,
    "subscription_items": 3,
    "invoices": 3,
    "invoice_lines": 3,
    "charges": 4,
}
# the tables a reconciliation lists (events are the poll's, webhook endpoints listed hourly)
COMPARED = (
    "customers", "products", "prices", "coupons", "discounts", "subscriptions",
    "subscription_items", "invoices", "invoice_lines", "charges", "refunds", "disputes",
)  # fmt: skip


def _at(day: int, hour: int, minute: int = 0) -> float:
    """The wall reading that puts the sandbox at 2025-03-<day> hour:minute UTC."""
    moment = day_start(dt.date(2025, 3, day)) + hour * 3600 + minute * 60
    return float(moment - SERVED_FROM)


def test_lost_events_are_reconciled_by_the_first_run_of_the_next_account_day_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "lost_events.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    sim = simulate_scenario(load_scenario(path), until=dt.date(2025, 3, 10))
    wall = [0.0]
    with start_server(sim, speed=1.0, wall_clock=lambda: wall[0], faults=LOST) as server:
        settings = settings_for(server, tmp_path / "incremental")
        con = open_warehouse(settings.master_path)
        try:
            wall[0] = _at(11, 0, 1)  # the backfill, as the account's day begins
            assert sync_and_publish(settings, con=con).kind == "backfill"
            assert _count(con, "customers") == 3  # early ×2 and recent

            wall[0] = _at(11, 12)  # the same account day: the morning's events never came
            same_day = sync_and_publish(settings, con=con)
            written = {"webhook_endpoints": 4}  # the hourly refresh, and nothing else
            assert (same_day.status, same_day.reconciled, same_day.objects) == ("ok", None, written)
            assert _count(con, "customers") == 3

            wall[0] = _at(12, 0, 30)  # the next day's first run reconciles
            caplog.set_level(logging.INFO, logger="paylens.sync")
            server.requests.clear()
            next_day = sync_and_publish(settings, con=con)
            listed = [r.path.split("?")[0] for r in server.requests]
            assert (next_day.status, next_day.reconciled) == ("ok", MISSED)
            assert next_day.objects == written | MISSED
            assert _count(con, "customers") == 6
            # one events page, the hourly refresh (two lists), one page per resource reconciled
            assert next_day.reads == 3 + len(RECONCILED_RESOURCES) == 12
            assert sorted(
                p for p in listed if p not in ("/v1/events", "/v1/webhook_endpoints")
            ) == [f"/v1/{name}" for name in sorted(RECONCILED_RESOURCES)]
            assert (
                "reconciliation of 9 resources: 9 reads; missed by the events: customers 3, "
                "subscriptions 3, subscription_items 3, invoices 3, invoice_lines 3, charges 4"
            ) in caplog.messages

            wall[0] = _at(12, 1)  # a second run that day: one read, nothing reconciled
            again = sync_and_publish(settings, con=con)
            assert (again.status, again.reads, again.reconciled) == ("ok", 1, None)

            recorded = [
                None if found is None else json.loads(found)
                for (found,) in con.execute(
                    "SELECT reconciled FROM sync_runs ORDER BY started_at"
                ).fetchall()
            ]
            assert recorded == [None, None, MISSED, None]
            shown = format_status(sync_status(con, dt.datetime.now(dt.UTC)))
            assert (
                "reconciled: customers 3, subscriptions 3, subscription_items 3, invoices 3, "
                "invoice_lines 3, charges 4"
            ) in shown
            incremental = {table: checksum(con, table) for table in COMPARED}
        finally:
            con.close()
        fresh = settings_for(server, tmp_path / "fresh")
        assert sync_and_publish(fresh).kind == "backfill"
    con = duckdb.connect(str(fresh.master_path), read_only=True)
    try:
        assert {table: checksum(con, table) for table in COMPARED} == incremental
    finally:
        con.close()


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


NOON = dt.datetime(2025, 3, 12, 12, tzinfo=dt.UTC)


def _unix(moment: dt.datetime) -> int:
    return int(moment.timestamp())


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        ({}, ["customers", "charges"]),  # never reconciled (a warehouse older than this)
        ({"customers": _unix(NOON), "charges": _unix(NOON)}, []),
        ({"customers": _unix(dt.datetime(2025, 3, 12, 0, 0, tzinfo=dt.UTC))}, ["charges"]),
        (
            {"customers": _unix(dt.datetime(2025, 3, 11, 23, 59, 59, tzinfo=dt.UTC))},
            ["customers", "charges"],
        ),
        ({"customers": _unix(dt.datetime(2025, 3, 13, 0, 0, tzinfo=dt.UTC))}, ["charges"]),
    ],
    ids=["never", "earlier today", "at midnight today", "a second before midnight", "tomorrow"],
)
def test_a_resource_is_due_when_not_reconciled_on_the_account_day_of_now(
    last: dict[str, int], expected: list[str]
) -> None:
    assert due(last, ["customers", "charges"], NOON) == expected


def test_a_lost_events_span_must_be_simulated_time() -> None:
    assert parse_faults(LOST).lost == Window(
        "sim",
        float(day_start(dt.date(2025, 3, 11)) + 5 * 3600),
        float(day_start(dt.date(2025, 3, 11)) + 9 * 3600),
    )
    with pytest.raises(ValueError, match="drop_events takes a simulated span"):
        parse_faults("drop_events=wall:5-20")
