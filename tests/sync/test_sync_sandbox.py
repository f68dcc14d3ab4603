"""The sync against the real sandbox over real HTTP: complete, incremental, economical, robust."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from app.service import sync_and_publish
from sandbox.api.server import start_server
from sandbox.sim import Simulation, simulate
from sync.limits import endpoint_of
from sync.store import open_warehouse, set_state
from tests.conftest import PRESET, SEED, UNTIL, settings_for
from tests.sync.warehouse_checks import checksums, ids, sync_process

NESTED = {"subscription_items": "subscription_items", "invoice_lines": "invoice_lines"}
EVENT_DAYS = 30 * 86_400


def _served_ids(sim: Simulation) -> dict[str, set[str]]:
    """What the sandbox lists per resource (events: only the last 30 days, as Stripe)."""
    served = {name: set(sim.resource(name)) for name in _SERVED_TABLES[:10]}
    served["events"] = {e for e, o in sim.events.items() if o["created"] >= sim.now - EVENT_DAYS}
    served["subscription_items"] = {i["id"] for v in sim.subscription_items.values() for i in v}
    served["invoice_lines"] = {line["id"] for v in sim.invoice_lines.values() for line in v}
    return served


def _stored_ids(path: Path) -> dict[str, set[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: ids(con, table) for table in _SERVED_TABLES}
    finally:
        con.close()


_SERVED_TABLES = (
    "customers", "products", "prices", "coupons", "subscriptions", "invoices", "charges",
    "refunds", "disputes", "webhook_endpoints", "events", "subscription_items", "invoice_lines",
)  # fmt: skip


def _checksums(path: Path) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return checksums(con)
    finally:
        con.close()


@pytest.fixture()
def fresh_sim() -> Simulation:
    """A simulation of its own, for tests that move its clock or change its objects."""
    return simulate(SEED, UNTIL, PRESET)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Simulation, Path]]:
    """A fault-free backfill of the small business, on the sandbox's clock."""
    sim = simulate(SEED, UNTIL, PRESET)
    data_dir = tmp_path_factory.mktemp("reference")
    with start_server(sim) as server:
        result = sync_and_publish(settings_for(server, data_dir))
    assert (result.status, result.errors) == ("ok", {})
    yield sim, data_dir / "master.duckdb"


def test_after_a_backfill_the_warehouse_holds_every_object_the_sandbox_serves(
    reference: tuple[Simulation, Path],
) -> None:
    sim, master = reference
    served, stored = _served_ids(sim), _stored_ids(master)
    assert {t: len(v) for t, v in stored.items()} == {t: len(v) for t, v in served.items()}
    assert stored == served
    assert len(stored["invoice_lines"]) == sum(len(v) for v in sim.invoice_lines.values())


def test_an_idle_run_makes_exactly_one_request(fresh_sim: Simulation, tmp_path: Path) -> None:
    with start_server(fresh_sim) as server:
        settings = settings_for(server, tmp_path)
        assert sync_and_publish(settings).status == "ok"
        server.requests.clear()
        result = sync_and_publish(settings)
        assert (result.kind, result.status, result.reads) == ("incremental", "ok", 1)
        assert [r.path.split("?")[0] for r in server.requests] == ["/v1/events"]


def test_a_sync_after_the_clock_moved_on_applies_every_change(
    fresh_sim: Simulation, tmp_path: Path
) -> None:
    with start_server(fresh_sim) as server:
        settings = settings_for(server, tmp_path / "incremental")
        assert sync_and_publish(settings).status == "ok"
    fresh_sim.advance(fresh_sim.now + 5 * 86_400)
    with start_server(fresh_sim) as server:  # a server serves the state it started with
        settings = settings_for(server, tmp_path / "incremental")
        result = sync_and_publish(settings)
        assert (result.kind, result.status) == ("incremental", "ok")
        assert result.reads < 60
        again = settings_for(server, tmp_path / "fresh")
        assert sync_and_publish(again).status == "ok"
    incremental, fresh = _checksums(settings.master_path), _checksums(again.master_path)
    window = f"created >= make_timestamp({(fresh_sim.now - EVENT_DAYS) * 1_000_000})"
    con = duckdb.connect(str(settings.master_path), read_only=True)
    con.execute(f"CREATE TEMP TABLE recent AS SELECT * FROM events WHERE {window}").fetchall()
    recent_events = con.execute("SELECT count(*) FROM recent").fetchall()[0][0]
    con.close()
    assert recent_events == fresh["events"][0]
    for table in fresh:
        if table != "events":
            assert incremental[table] == fresh[table], table
    assert _stored_ids(settings.master_path)["subscriptions"] == set(fresh_sim.subscriptions)


FAULTS = "500=0.1,503=0.02,lock=0.02,reset=0.02,stall=0.01,truncate=0.01,stall_seconds=0.3"


def test_under_faults_and_429_bursts_the_warehouse_ends_identical_to_a_fault_free_run(
    reference: tuple[Simulation, Path], tmp_path: Path
) -> None:
    sim, master = reference
    with start_server(sim, faults=FAULTS, fault_seed=3, rate=12, endpoint_rate=4) as server:
        settings = settings_for(
            server, tmp_path, sync_rate=80.0, sync_endpoint_rate=40.0, sync_timeout_seconds=2.0
        )
        result = sync_and_publish(settings)
        log = server.requests.snapshot()
    assert (result.status, result.errors) == ("ok", {})
    statuses = {record.status for record in log}
    assert {429, 500, 503} <= statuses  # the faults and the rate limits really happened
    assert _checksums(settings.master_path) == _checksums(master)


def test_the_token_buckets_never_let_more_requests_through_than_configured(
    reference: tuple[Simulation, Path], tmp_path: Path
) -> None:
    sim, _ = reference
    with start_server(sim, rate=30, endpoint_rate=10) as server:
        # the sync in a process of its own: sharing this one's GIL, the server could log a
        # second's requests late, all at once
        process = sync_process(server, tmp_path, rate=30, endpoint_rate=10)
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
        log = server.requests.snapshot()
    assert [r for r in log if r.status == 429] == []
    times = sorted(r.at for r in log)
    # the buckets hold two tokens (sync/limits.py): rate × T + 2 in any stretch of T seconds
    assert max(_busiest_second(times)) <= 30 + 2
    by_endpoint: dict[str, list[float]] = {}
    for record in log:
        by_endpoint.setdefault(endpoint_of(record.path), []).append(record.at)
    for endpoint, moments in by_endpoint.items():
        assert max(_busiest_second(sorted(moments))) <= 10 + 2, endpoint


def _busiest_second(times: list[float]) -> list[int]:
    return [sum(1 for t in times if start <= t < start + 1.0) for start in times]


def test_a_restricted_key_names_what_it_lacks_and_the_rest_is_synced(
    reference: tuple[Simulation, Path], tmp_path: Path
) -> None:
    sim, master = reference
    key = "rk_test_no_refunds"
    with start_server(sim, restricted_keys={key: {"refunds"}}) as server:
        server.api_key = key
        settings = settings_for(server, tmp_path)
        result = sync_and_publish(settings)
    assert result.status == "degraded"
    assert result.errors == {
        "refunds": "the API key may not read refunds (403; it needs the rak_refund_read permission)"
    }
    ours, full = _checksums(settings.master_path), _checksums(master)
    assert ours["refunds"] == (0, 0)
    assert {t: v for t, v in ours.items() if t != "refunds"} == {
        t: v for t, v in full.items() if t != "refunds"
    }
    assert settings.snapshot_dir.joinpath("CURRENT").exists()


def test_a_malformed_object_is_quarantined_with_its_reason_and_the_rest_syncs(
    fresh_sim: Simulation, tmp_path: Path
) -> None:
    broken = dict(next(iter(fresh_sim.charges.values())), id="ch_broken", currency="zzz")
    fresh_sim.charges["ch_broken"] = broken
    with start_server(fresh_sim) as server:
        settings = settings_for(server, tmp_path)
        result = sync_and_publish(settings)
    assert (result.status, result.degraded) == (
        "degraded",
        ["1 object quarantined by this run (charges 1)"],
    )
    con = duckdb.connect(str(settings.master_path), read_only=True)
    assert con.execute("SELECT table_name, object_key, reason FROM quarantine").fetchall() == [
        ("charges", "ch_broken", "unknown currency zzz")
    ]
    assert ids(con, "charges") == set(fresh_sim.charges) - {"ch_broken"}


def test_an_interrupted_backfill_resumes_to_the_same_warehouse_without_duplicates(
    reference: tuple[Simulation, Path], tmp_path: Path
) -> None:
    sim, master = reference
    with start_server(sim) as server:
        settings = settings_for(server, tmp_path)
        pages = {"n": 0}

        def stop_after_a_while() -> bool:
            pages["n"] += 1
            return pages["n"] > 8

        first = sync_and_publish(settings, should_stop=stop_after_a_while)
        assert (first.status, first.complete) == ("abandoned", False)
        assert not settings.snapshot_dir.joinpath("CURRENT").exists()
        second = sync_and_publish(settings)
    assert (second.kind, second.status) == ("backfill", "ok")
    assert _checksums(settings.master_path) == _checksums(master)


def test_a_cursor_older_than_29_days_triggers_a_new_backfill(
    reference: tuple[Simulation, Path], tmp_path: Path
) -> None:
    sim, _ = reference
    with start_server(sim) as server:
        settings = settings_for(server, tmp_path)
        assert sync_and_publish(settings).kind == "backfill"
        con = open_warehouse(settings.master_path)
        now = datetime.fromtimestamp(sim.now, UTC)
        set_state(con, "events_cursor", {"at": sim.now - 29 * 86_400 - 1}, now)
        con.close()
        assert sync_and_publish(settings).kind == "backfill"
        assert sync_and_publish(settings).kind == "incremental"
