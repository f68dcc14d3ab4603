"""The integration setup synced from the real sandbox over real HTTP (issue 20, docs/SYNC.md "The
integration setup"): typed rows of the portal configurations, the tax settings and
registrations, automatic tax and tax amounts on subscriptions and invoices; listed again when
due, with rows no longer listed removed; a restricted key without a permission makes that
resource unavailable, named in the warnings, while the rest syncs and publishes; and the key's
kind is recorded, never the key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from app.service import sync_and_publish
from app.settings import Secret
from sandbox.api.server import start_server
from sandbox.scenario import load_scenario, simulate_scenario
from sandbox.sim import Simulation
from sync.account_setup import KEY_KIND, REFRESHED
from sync.snapshots import SnapshotReader
from sync.store import UNAVAILABLE, delete_state, get_state, open_warehouse, set_state
from tests.conftest import settings_for
from tests.sandbox.test_integration_objects import CONFIGURED, SCENARIO

SETUP_PATHS = ("/v1/billing_portal/configurations", "/v1/tax/settings", "/v1/tax/registrations")
FORBIDDEN = (
    "the API key may not read tax settings (403; it needs the rak_tax_settings_read permission)"
)


@pytest.fixture()
def sim(tmp_path: Path) -> Simulation:
    path = tmp_path / "integration.toml"
    path.write_text(SCENARIO.format(setup=CONFIGURED), encoding="utf-8")
    return simulate_scenario(load_scenario(path))


def _utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC).replace(tzinfo=None)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


def _state_text(con: duckdb.DuckDBPyConnection) -> str:
    return " ".join(str(row) for row in _rows(con, "SELECT key, value FROM sync_state"))


def test_a_backfill_stores_the_setup_as_typed_rows_and_the_keys_kind(
    sim: Simulation, tmp_path: Path
) -> None:
    with start_server(sim) as server:
        settings = settings_for(server, tmp_path / "data")
        result = sync_and_publish(settings)
    assert (result.kind, result.status) == ("backfill", "ok"), result.error
    assert (result.objects["billing_portal_configurations"], result.objects["tax_settings"]) == (
        2,
        1,
    )
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    assert con is not None
    try:
        assert sorted(
            _rows(
                con,
                "SELECT active, is_default, livemode, payment_method_update, subscription_cancel, "
                "invoice_history FROM billing_portal_configurations",
            )
        ) == [(False, False, False, True, True, True), (True, True, False, True, False, True)]
        assert _rows(
            con,
            "SELECT id, status, tax_behavior, head_office_country, livemode FROM tax_settings",
        ) == [("tax_settings", "active", "inclusive", "DE", False)]
        registrations = _rows(
            con,
            "SELECT country, status, active_from, expires_at, livemode FROM tax_registrations "
            "ORDER BY country",
        )
        served = {r["country"]: r for r in sim.tax_registrations.values()}
        assert registrations == [
            (
                country,
                served[country]["status"],
                _utc(served[country]["active_from"]),
                None
                if served[country]["expires_at"] is None
                else _utc(served[country]["expires_at"]),
                False,
            )
            for country in ("DE", "GB", "US")
        ]
        assert [r[1] for r in registrations] == ["active", "expired", "scheduled"]
        assert _rows(con, "SELECT automatic_tax FROM subscriptions") == [(True,)]
        assert _rows(con, "SELECT automatic_tax, tax, total FROM invoices ORDER BY created") == [
            (True, 1000, 11000),
            (True, 1000, 11000),
        ]
        assert get_state(con, KEY_KIND) == {"mode": "test", "restricted": False}
        assert server.api_key not in _state_text(con)
    finally:
        reader.close()


def test_an_invoice_without_tax_amounts_has_tax_null_and_none_charged_zero(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(SCENARIO.format(setup=""), encoding="utf-8")
    sim = simulate_scenario(load_scenario(path))
    first, second = sorted(sim.invoices.values(), key=lambda i: i["created"])
    del second["total_taxes"]  # an API version without the field
    with start_server(sim) as server:
        settings = settings_for(server, tmp_path / "data")
        assert sync_and_publish(settings).status == "ok"
    con = duckdb.connect(str(settings.master_path), read_only=True)
    try:
        assert _rows(con, "SELECT id, automatic_tax, tax FROM invoices ORDER BY created") == [
            (first["id"], False, 0),
            (second["id"], False, None),
        ]
        assert _rows(con, "SELECT count(*) FROM billing_portal_configurations") == [(0,)]
        assert _rows(con, "SELECT status FROM tax_settings") == [("pending",)]
    finally:
        con.close()


def test_a_key_without_the_tax_settings_permission_leaves_them_unavailable_and_the_rest_syncs(
    sim: Simulation, tmp_path: Path
) -> None:
    restricted = "rk_" + "test_integration_key_0002"
    with start_server(sim, restricted_keys={restricted: ["tax_settings"]}) as server:
        settings = replace(
            settings_for(server, tmp_path / "data"), stripe_api_key=Secret(restricted)
        )
        result = sync_and_publish(settings)
        idle = sync_and_publish(settings)
    assert (result.kind, result.status, result.complete) == ("backfill", "degraded", True)
    assert result.errors == {"tax_settings": FORBIDDEN}
    assert result.error == f"tax_settings unavailable: {FORBIDDEN}"
    assert (idle.kind, idle.status, idle.reads) == ("incremental", "degraded", 1)
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    assert con is not None  # published
    try:
        state = get_state(con, UNAVAILABLE)
        assert {name: (e["status"], e["reason"]) for name, e in state.items()} == {
            "tax_settings": (403, FORBIDDEN)
        }
        assert _rows(con, "SELECT count(*) FROM tax_settings") == [(0,)]
        assert _rows(con, "SELECT count(*) FROM billing_portal_configurations") == [(2,)]
        assert _rows(con, "SELECT count(*) FROM tax_registrations") == [(3,)]
        assert _rows(con, "SELECT count(*) FROM invoices") == [(len(sim.invoices),)]
        assert get_state(con, KEY_KIND) == {"mode": "test", "restricted": True}
        assert restricted not in _state_text(con)
        runs = " ".join(str(r) for r in _rows(con, "SELECT error, errors FROM sync_runs"))
        assert restricted not in runs
    finally:
        reader.close()


def test_the_setup_is_listed_again_when_due_and_rows_no_longer_listed_leave(
    sim: Simulation, tmp_path: Path
) -> None:
    """Due: a warehouse that never listed the setup (its refresh undated) lists it on its next
    run; until the refresh interval has passed, a run lists none of it. The account changes its
    setup in between (served by a new server: a still sandbox never rebuilds its lists)."""
    data_dir = tmp_path / "data"
    with start_server(sim) as server:
        settings = settings_for(server, data_dir)
        assert sync_and_publish(settings).status == "ok"
        server.requests.clear()
        assert sync_and_publish(settings).reads == 1  # not due: the poll only
        assert not [r for r in server.requests if r.path.split("?")[0] in SETUP_PATHS]
    portal = sim.billing_portal_configurations
    del portal[next(i for i, c in portal.items() if not c["active"])]
    assert sim.tax_settings is not None
    sim.tax_settings = {**sim.tax_settings, "status": "pending"}
    with start_server(sim) as server:
        settings = settings_for(server, data_dir)
        con = open_warehouse(settings.master_path)
        try:
            delete_state(con, REFRESHED)  # as a warehouse made before the setup was synced
            refreshed = sync_and_publish(settings, con=con)
            listed = sorted(r.path.split("?")[0] for r in server.requests)
            assert [p for p in listed if p in SETUP_PATHS] == sorted(SETUP_PATHS)
            assert (refreshed.status, refreshed.reads) == ("ok", 4)
            assert refreshed.objects["tax_settings"] == 1
            assert _rows(con, "SELECT id FROM billing_portal_configurations") == [
                (c,) for c in portal
            ]
            assert _rows(con, "SELECT status FROM tax_settings") == [("pending",)]
            assert get_state(con, REFRESHED) is not None  # dated again
        finally:
            con.close()


def test_unavailable_tax_settings_are_backfilled_once_a_key_may_read_them(
    sim: Simulation, tmp_path: Path
) -> None:
    """The daily ask (`sync.availability.retry`) reads the single object without paging
    parameters; when it answers, the run backfills it."""
    restricted = "rk_" + "test_integration_key_0003"
    with start_server(sim, restricted_keys={restricted: ["tax_settings"]}) as server:
        full = settings_for(server, tmp_path / "data")
        limited = replace(full, stripe_api_key=Secret(restricted))
        assert sync_and_publish(limited).status == "degraded"
        con = open_warehouse(full.master_path)
        try:
            found = get_state(con, UNAVAILABLE)
            due = {"tax_settings": {**found["tax_settings"], "checked": 0}}  # asked long ago
            set_state(con, UNAVAILABLE, due, datetime.now(UTC))
            server.requests.clear()
            again = sync_and_publish(full, con=con)
            asked = [r.path for r in server.requests if r.path.startswith("/v1/tax/settings")]
            assert (again.kind, again.status) == ("backfill", "ok"), again.error
            assert asked == ["/v1/tax/settings", "/v1/tax/settings"]  # the ask, the backfill
            assert _rows(con, "SELECT id, status FROM tax_settings") == [("tax_settings", "active")]
            assert get_state(con, UNAVAILABLE) == {}
            assert get_state(con, KEY_KIND) == {"mode": "test", "restricted": False}
        finally:
            con.close()
