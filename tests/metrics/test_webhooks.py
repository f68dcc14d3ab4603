"""Webhook delivery derived from `pending_webhooks`: hand-built events, and the demo preset
against the simulation's own events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from metrics.webhooks import (
    disabled_endpoints,
    pending_events,
    webhook_delivery_rate,
    webhook_health,
    webhook_summary,
)
from sandbox.sim import Simulation
from tests.metrics.warehouse import API_VERSION, SYNCED_AT, Warehouse

AS_OF = date(2026, 3, 10)  # its end is 2026-03-11 00:00 UTC


def _events(wh: Warehouse, *rows: tuple[str, str, int]) -> None:
    wh.con.executemany(
        "INSERT INTO events (id, created, type, pending_webhooks, raw, api_version, synced_at) "
        "VALUES (?, ?, 'invoice.paid', ?, '{}', ?, ?)",
        [
            (id_, datetime.fromisoformat(at), pending, API_VERSION, SYNCED_AT)
            for id_, at, pending in rows
        ],
    )


def _endpoints(wh: Warehouse, *rows: tuple[str, str, str, bool]) -> None:
    wh.con.executemany(
        "INSERT INTO webhook_endpoints (id, created, url, status, deleted, raw, api_version, "
        "synced_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?)",
        [
            (id_, datetime.fromisoformat(at), f"https://hooks.test/{id_}", status, deleted,
             API_VERSION, SYNCED_AT)
            for id_, at, status, deleted in rows
        ],
    )  # fmt: skip


@pytest.fixture
def events(wh: Warehouse) -> Warehouse:
    _events(
        wh,
        ("evt_before_window", "2026-03-08 12:00", 1),
        ("evt_ok_1", "2026-03-09 08:00", 0),
        ("evt_stuck", "2026-03-09 09:00", 2),  # pending for 39 hours at the end of as_of
        ("evt_ok_2", "2026-03-10 10:00", 0),
        ("evt_ok_3", "2026-03-10 22:59:59", 0),
        ("evt_young", "2026-03-10 23:30", 1),  # inside the hour of grace: not judged yet
        ("evt_after", "2026-03-11 00:00", 1),
    )
    _endpoints(
        wh,
        ("we_live", "2026-01-01", "enabled", False),
        ("we_off", "2026-01-02", "disabled", False),
        ("we_gone", "2026-01-03", "disabled", True),
        ("we_later", "2026-03-11", "disabled", False),
    )
    return wh


def test_delivery_rate_judges_only_events_older_than_the_grace_period(events: Warehouse) -> None:
    # (Mar 8, Mar 10]: four events past the hour of grace, three of them delivered.
    assert webhook_delivery_rate(events.con, date(2026, 3, 8), AS_OF) == 3 / 4
    # With no grace, the young pending event counts too.
    assert webhook_delivery_rate(events.con, date(2026, 3, 8), AS_OF, timedelta(0)) == 3 / 5
    # A grace of two hours leaves out the event of 22:59:59 as well.
    assert webhook_delivery_rate(events.con, date(2026, 3, 8), AS_OF, timedelta(hours=2)) == 2 / 3


def test_summary_counts_pending_events_and_disabled_endpoints(events: Warehouse) -> None:
    summary = webhook_summary(events.con, date(2026, 3, 8), AS_OF)

    assert (summary.judged, summary.delivered, summary.delivery_rate) == (4, 3, 0.75)
    # Every event still pending at the end of as_of, young or old, in or before the window.
    assert summary.pending_events == 3
    assert summary.oldest_pending == datetime(2026, 3, 8, 12, 0)
    assert summary.disabled_endpoints == 1


def test_pending_events_lists_them_oldest_first_with_their_age(events: Warehouse) -> None:
    rows = pending_events(events.con, AS_OF)

    assert rows[["event", "pending_webhooks", "past_grace", "age_hours"]].to_dict("records") == [
        {"event": "evt_before_window", "pending_webhooks": 1, "past_grace": True,
         "age_hours": 60.0},
        {"event": "evt_stuck", "pending_webhooks": 2, "past_grace": True, "age_hours": 39.0},
        {"event": "evt_young", "pending_webhooks": 1, "past_grace": False, "age_hours": 0.5},
    ]  # fmt: skip


def test_disabled_endpoints_are_those_listed_and_existing_by_as_of(events: Warehouse) -> None:
    assert disabled_endpoints(events.con, AS_OF)["endpoint"].tolist() == ["we_off"]


def test_a_window_without_events_has_no_delivery_rate(wh: Warehouse) -> None:
    summary = webhook_summary(wh.con, date(2026, 3, 8), AS_OF)

    assert (summary.delivery_rate, summary.pending_events, summary.oldest_pending) == (
        None,
        0,
        None,
    )


@pytest.mark.parametrize(
    ("rate", "band"),
    [(1.0, "healthy"), (0.995, "healthy"), (0.9949, "warning"), (0.99, "warning"),
     (0.9899, "critical"), (None, None)],
)  # fmt: skip
def test_webhook_health_bands_follow_the_spec(rate: float | None, band: str | None) -> None:
    assert webhook_health(rate) == band


@pytest.mark.parametrize(
    ("since", "as_of"),
    [(date(2026, 10, 22), date(2026, 11, 5)), (date(2026, 10, 31), date(2026, 11, 20))],
)
def test_demo_delivery_equals_the_simulations_events(
    demo: duckdb.DuckDBPyConnection, demo_sim: Simulation, since: date, as_of: date
) -> None:
    start = _unix(since + timedelta(days=1))
    cutoff = _unix(as_of + timedelta(days=1)) - 3_600
    judged = [e for e in demo_sim.events.values() if start <= e["created"] < cutoff]
    delivered = sum(e["pending_webhooks"] == 0 for e in judged)
    disabled = [e for e in demo_sim.webhook_endpoints.values() if e["status"] == "disabled"]

    summary = webhook_summary(demo, since, as_of)

    assert (summary.judged, summary.delivered) == (len(judged), delivered)
    assert summary.disabled_endpoints == len(disabled) == 1
    assert summary.pending_events == sum(
        e["pending_webhooks"] > 0 for e in demo_sim.events.values()
    )


def _unix(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
