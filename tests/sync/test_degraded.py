"""Degradation is always visible: a 403 and a 404 list endpoint, an undecodable object and an item
with an unknown price, synced from the real sandbox over real HTTP.

Each gap is marked (unavailable, quarantined), the rest is synced and published, the run is
`degraded` (not `ok`), `sync status` says so (and never "running"), `paylens report --json` lists
each gap with its count and what it affects, every page shows a banner, and `sync_degraded`
fires.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from alerts.evaluate import Context, evaluate
from alerts.rules import load_rules
from app.service import sync_and_publish
from app.settings import Settings
from metrics.degraded import UNAVAILABLE_KEY
from sandbox.api.server import start_server
from sandbox.sim import Simulation, simulate
from sync.engine import RunResult
from sync.snapshots import SnapshotReader
from sync.status import format_status, sync_status
from sync.store import UNAVAILABLE, get_state, open_warehouse, set_state
from sync.undecodable import REASON
from tests.conftest import PRESET, SEED, UNTIL, run_paylens, settings_for
from tests.sync.warehouse_checks import ids

FAULTS = "404=disputes,403=refunds,deep={deep}"
NOT_SERVED = "the API does not serve disputes (404 on GET /v1/disputes)"
FORBIDDEN = "the API key may not read refunds (403; it needs the rak_refund_read permission)"


@dataclass(frozen=True)
class Degraded:
    """The sandbox business with gaps, synced twice (a backfill, then an idle run)."""

    sim: Simulation
    settings: Settings
    backfill: RunResult
    idle: RunResult
    deep: str  # the customer served too deep to decode
    price: str  # the price no longer served
    items: int  # its subscription items
    subscriptions: int  # their subscriptions
    paying: int  # of which active or past due


def _price_in_use(sim: Simulation) -> str:
    """A price of an item of an active subscription."""
    for subscription, items in sorted(sim.subscription_items.items()):
        if sim.subscriptions[subscription]["status"] == "active":
            return str(items[0]["price"]["id"])
    raise AssertionError("no active subscription")


@pytest.fixture(scope="module")
def degraded(tmp_path_factory: pytest.TempPathFactory) -> Degraded:
    sim = simulate(SEED, UNTIL, PRESET)
    deep = sorted(sim.customers)[3]
    price = _price_in_use(sim)
    del sim.prices[price]  # its items now name a price the warehouse never sees
    using = {
        sub: sum(1 for item in items if item["price"]["id"] == price)
        for sub, items in sim.subscription_items.items()
    }
    using = {sub: n for sub, n in using.items() if n}
    paying = sum(1 for sub in using if sim.subscriptions[sub]["status"] in ("active", "past_due"))
    data_dir = tmp_path_factory.mktemp("degraded")
    with start_server(sim, faults=FAULTS.format(deep=deep)) as server:
        settings = settings_for(server, data_dir)
        backfill = sync_and_publish(settings)
        idle = sync_and_publish(settings)
    return Degraded(
        sim, settings, backfill, idle, deep, price, sum(using.values()), len(using), paying
    )


@pytest.fixture()
def snapshot(degraded: Degraded) -> Iterator[duckdb.DuckDBPyConnection]:
    reader = SnapshotReader(degraded.settings.snapshot_dir)
    con = reader.connection()
    assert con is not None
    yield con
    reader.close()


def test_a_403_and_a_404_resource_are_unavailable_and_the_rest_is_published(
    degraded: Degraded, snapshot: duckdb.DuckDBPyConnection
) -> None:
    sim = degraded.sim
    assert (degraded.backfill.kind, degraded.backfill.status) == ("backfill", "degraded")
    assert degraded.backfill.complete
    assert degraded.backfill.errors == {"disputes": NOT_SERVED, "refunds": FORBIDDEN}
    assert ids(snapshot, "disputes") == set() and ids(snapshot, "refunds") == set()
    assert ids(snapshot, "charges") == set(sim.charges)
    assert ids(snapshot, "subscriptions") == set(sim.subscriptions)
    assert ids(snapshot, "customers") == set(sim.customers) - {degraded.deep}
    state = get_state(snapshot, UNAVAILABLE)
    assert {name: (e["status"], e["reason"]) for name, e in state.items()} == {
        "disputes": (404, NOT_SERVED),
        "refunds": (403, FORBIDDEN),
    }


def test_an_undecodable_object_is_quarantined_alone_and_the_rest_of_its_page_stored(
    degraded: Degraded, snapshot: duckdb.DuckDBPyConnection
) -> None:
    rows = snapshot.execute("SELECT table_name, object_key, reason FROM quarantine").fetchall()
    assert rows == [("customers", degraded.deep, REASON)]
    assert REASON == "undecodable: JSON nested deeper than Python's decoder allows"
    assert degraded.backfill.objects["customers"] == len(degraded.sim.customers)  # as logged


def test_every_run_while_a_resource_is_unavailable_is_degraded_and_says_why(
    degraded: Degraded, snapshot: duckdb.DuckDBPyConnection
) -> None:
    idle = degraded.idle
    assert (idle.kind, idle.status, idle.reads) == ("incremental", "degraded", 1)
    unavailable = [f"disputes unavailable: {NOT_SERVED}", f"refunds unavailable: {FORBIDDEN}"]
    assert idle.degraded == unavailable
    assert degraded.backfill.degraded == [
        *unavailable,
        "1 object quarantined by this run (customers 1)",
    ]
    statuses = snapshot.execute("SELECT status, error FROM sync_runs ORDER BY kind").fetchall()
    assert statuses == [
        ("degraded", "; ".join(degraded.backfill.degraded)),
        ("degraded", "; ".join(unavailable)),
    ]


def test_sync_status_names_what_is_unavailable_and_nothing_as_running(
    degraded: Degraded, snapshot: duckdb.DuckDBPyConnection
) -> None:
    status = sync_status(snapshot, datetime.now(UTC))
    since = {name: entry["since"] for name, entry in status["unavailable"].items()}
    day = {name: datetime.fromtimestamp(at, UTC) for name, at in since.items()}
    lines = format_status(status).splitlines()
    assert lines[:2] == ["backfill: done", lines[1]]
    assert lines[1].startswith("events cursor age: ")
    assert lines[2:4] == [
        f"unavailable: disputes since {day['disputes']:%Y-%m-%d %H:%M} UTC: {NOT_SERVED}",
        f"unavailable: refunds since {day['refunds']:%Y-%m-%d %H:%M} UTC: {FORBIDDEN}",
    ]
    assert [run["status"] for run in status["runs"]] == ["degraded", "degraded"]
    assert status["windows_left"] == {}


def test_a_sync_status_after_a_killed_run_shows_it_interrupted_and_a_negative_age_never(
    tmp_path: Path,
) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    con.execute(
        "INSERT INTO sync_runs (run_id, kind, started_at, status) "
        "VALUES ('r1', 'backfill', '2026-11-20 11:00', 'running')"
    ).fetchall()
    set_state(con, "backfill", {"status": "running"}, now)
    set_state(con, "events_cursor", {"at": int((now + timedelta(minutes=5)).timestamp())}, now)
    status = sync_status(con, now)
    assert (status["backfill"], status["cursor_age_seconds"]) == ("incomplete", 0)
    assert [run["status"] for run in status["runs"]] == ["interrupted"]
    assert "running" not in format_status(status)


def test_an_unavailable_resource_is_asked_again_a_day_later_and_backfilled_once_it_answers(
    tmp_path: Path,
) -> None:
    sim = simulate(SEED, UNTIL, PRESET)
    with start_server(sim, faults="404=disputes") as server:
        settings = settings_for(server, tmp_path)
        assert sync_and_publish(settings).status == "degraded"
        server.requests.clear()
        again = sync_and_publish(settings)  # within the day: not asked
        assert (again.status, again.reads) == ("degraded", 1)
    con = open_warehouse(settings.master_path)
    state = get_state(con, UNAVAILABLE)
    state["disputes"]["checked"] -= 86_400
    set_state(con, UNAVAILABLE, state, datetime.now(UTC))
    con.close()
    with start_server(sim) as server:  # the API serves disputes again
        settings = settings_for(server, tmp_path)
        back = sync_and_publish(settings)
        asked = [r.path.split("?")[0] for r in server.requests if "disputes" in r.path]
    assert (back.kind, back.status, back.errors) == ("backfill", "ok", {})
    assert asked == ["/v1/disputes", "/v1/disputes"]  # the one-object check, then the window
    con = duckdb.connect(str(settings.master_path), read_only=True)
    assert ids(con, "disputes") == set(sim.disputes)
    assert get_state(con, UNAVAILABLE) == {}
    con.close()


def test_the_report_lists_each_gap_with_its_count_and_what_it_affects(
    degraded: Degraded, snapshot: duckdb.DuckDBPyConnection
) -> None:
    env = {"PAYLENS_DATA_DIR": str(degraded.settings.data_dir)}
    done = run_paylens("report", "--json", env=env)
    assert done.returncode == 0, done.stderr
    warnings = json.loads(done.stdout)["warnings"]
    since = get_state(snapshot, UNAVAILABLE_KEY)
    day = {n: datetime.fromtimestamp(e["since"], UTC).date() for n, e in since.items()}
    seen = snapshot.execute("SELECT first_seen FROM quarantine").fetchall()[0][0]
    gaps = [w for w in warnings if "amounts in" not in w and "unknown date" not in w]
    assert gaps == [
        f"disputes unavailable since {day['disputes']}: {NOT_SERVED}; not synced, affects "
        "disputes and dispute rate",
        f"refunds unavailable since {day['refunds']}: {FORBIDDEN}; not synced, affects "
        "refunds and refund rate",
        f"1 object in customers quarantined since {seen:%Y-%m-%d} (malformed, not stored); "
        "affects customer counts, ARPU and LTV",
        f"{degraded.items} subscription items of {degraded.subscriptions} subscriptions "
        f"({degraded.paying} active or past due) name a price that is not synced; MRR counts "
        "them as 0",
    ]


def test_sync_degraded_fires_once_for_each_gap(
    degraded: Degraded, snapshot: duckdb.DuckDBPyConnection
) -> None:
    rules = [rule for rule in load_rules(None) if rule.name == "sync_degraded"]
    readings = evaluate(snapshot, rules, Context(datetime.now(UTC), timedelta(minutes=5)))
    assert [(r.segment, r.value) for r in readings] == [
        ("unavailable:disputes", 1.0),
        ("unavailable:refunds", 1.0),
        ("quarantined:customers", 1.0),
        ("unknown_price:subscription_items", 1.0),
    ]
    assert readings[2].label.startswith("1 object in customers quarantined since ")
