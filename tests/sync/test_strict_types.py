"""Strict types: a value a cast would change is quarantined with its reason, never stored cast,
and the quarantine keeps every bad object, identical copies included (issue 17, item 3)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from app.service import sync_and_publish
from sandbox.api.server import start_server
from sandbox.sim import simulate
from sync.store import open_warehouse
from tests.conftest import PRESET, SEED, UNTIL, settings_for
from tests.sync.test_ingest import _body, _charge, _ingest, _item, _subscription

INT64_MAX = 2**63 - 1


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return open_warehouse(tmp_path / "master.duckdb")


def _charges(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT id, amount, status FROM charges ORDER BY id").fetchall()


def _quarantined(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT table_name, object_key, reason FROM quarantine ORDER BY table_name, object_key"
    ).fetchall()


def test_six_charges_with_the_numeric_id_12345_are_six_quarantine_rows_and_no_charge(
    con: duckdb.DuckDBPyConnection,
) -> None:
    six = (_charge(12345, 4999 + n) for n in range(6))  # type: ignore[arg-type]
    page = _body(*six, _charge("ch_ok", 4999))
    assert _ingest(con, "charges", page) == {"charges": 1}
    assert _charges(con) == [("ch_ok", 4999, "succeeded")]
    copies = ["12345", *(f"12345 #{n}" for n in range(2, 7))]
    assert _quarantined(con) == [("charges", key, "id is not a string") for key in copies]
    raws = con.execute("SELECT raw FROM quarantine").fetchall()
    assert [json.loads(raw)["id"] for (raw,) in raws] == [12345] * 6


def test_the_same_page_synced_again_refreshes_its_six_copies_rather_than_adding_six(
    con: duckdb.DuckDBPyConnection,
) -> None:
    page = _body(*(_charge(12345, 4999 + n) for n in range(6)))  # type: ignore[arg-type]
    _ingest(con, "charges", page)
    _ingest(con, "charges", page)
    assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(6,)]


def test_one_bad_object_staged_twice_in_one_source_is_one_quarantine_row(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # a page ending in a malformed object continues after the last good id, so the next page
    # of the same batch lists it again
    bad = _charge(12345, 4999)  # type: ignore[arg-type]
    _ingest(con, "charges", _body(_charge("ch_a", 100), bad, bad, _charge("ch_b", 200)))
    assert _quarantined(con) == [("charges", "12345", "id is not a string")]
    assert _charges(con) == [("ch_a", 100, "succeeded"), ("ch_b", 200, "succeeded")]


def test_a_fractional_amount_is_quarantined_rather_than_truncated(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _ingest(con, "charges", _body(_charge("ch_frac", 43700.5), _charge("ch_whole", 43700)))
    assert _charges(con) == [("ch_whole", 43700, "succeeded")]
    assert _quarantined(con) == [("charges", "ch_frac", "amount is not an integer")]


def test_a_status_outside_stripes_enum_is_quarantined_as_a_string_or_a_number(
    con: duckdb.DuckDBPyConnection,
) -> None:
    page = _body(_charge("ch_text", 100, "123"), _charge("ch_num", 100, 123), _charge("ch_ok", 100))  # type: ignore[arg-type]
    _ingest(con, "charges", page)
    assert _charges(con) == [("ch_ok", 100, "succeeded")]
    assert _quarantined(con) == [
        ("charges", "ch_num", "unknown status 123"),
        ("charges", "ch_text", "unknown status 123"),
    ]


def test_a_negative_charge_amount_is_quarantined(con: duckdb.DuckDBPyConnection) -> None:
    _ingest(con, "charges", _body(_charge("ch_neg", -500), _charge("ch_zero", 0)))
    assert _charges(con) == [("ch_zero", 0, "succeeded")]
    assert _quarantined(con) == [("charges", "ch_neg", "amount is negative")]


def test_a_quantity_beyond_int64_quarantines_the_item_and_keeps_its_subscription(
    con: duckdb.DuckDBPyConnection,
) -> None:
    items = [_item("si_over", 2**63), _item("si_max", INT64_MAX), _item("si_one", 1)]
    _ingest(con, "subscriptions", _body(_subscription(items)))
    assert con.execute("SELECT id, status FROM subscriptions").fetchall() == [("sub_1", "active")]
    assert con.execute(
        "SELECT id, subscription, price, quantity FROM subscription_items ORDER BY id"
    ).fetchall() == [("si_max", "sub_1", "price_1", INT64_MAX), ("si_one", "sub_1", "price_1", 1)]
    assert _quarantined(con) == [("subscription_items", "si_over", "quantity is beyond int64")]


def test_a_price_amount_beyond_int64_is_quarantined_and_its_neighbour_stored(
    con: duckdb.DuckDBPyConnection,
) -> None:
    def price(price_id: str, unit_amount: int) -> dict[str, Any]:
        recurring = {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
        return {"id": price_id, "object": "price", "created": 1_700_000_000, "currency": "usd",
                "unit_amount": unit_amount, "billing_scheme": "per_unit", "type": "recurring",
                "recurring": recurring}  # fmt: skip

    _ingest(con, "prices", _body(price("price_over", 2**63), price("price_ok", 2500)))
    assert con.execute("SELECT id, unit_amount, interval FROM prices").fetchall() == [
        ("price_ok", 2500, "month")
    ]
    assert _quarantined(con) == [("prices", "price_over", "unit_amount is beyond int64")]


def test_other_values_a_cast_would_change_are_quarantined_each_with_its_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _ingest(
        con,
        "charges",
        _body(
            _charge("ch_paid", 100, paid="yes"),
            _charge("ch_customer", 100, customer=42),
            _charge("ch_created", 100, created=1_764_000_000.5),
            _charge("ch_year", 100, created=2**62),  # microseconds beyond int64: no crash
            _charge("ch_ok", 100),
        ),
    )
    assert _charges(con) == [("ch_ok", 100, "succeeded")]
    assert con.execute("SELECT created, paid, customer FROM charges").fetchall() == [
        (datetime(2025, 11, 24, 16, 0), True, "cus_1")
    ]
    assert _quarantined(con) == [
        ("charges", "ch_created", "created is not an integer"),
        ("charges", "ch_customer", "customer is not an id or an object with one"),
        ("charges", "ch_paid", "paid is not a boolean"),
        ("charges", "ch_year", "created is not a unix time"),
    ]


def test_every_copy_of_an_object_leaves_the_quarantine_when_it_comes_back_valid(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _ingest(con, "charges", _body(_charge("ch_1", -1), _charge("ch_1", -3), _charge("ch_2", -2)))
    assert [key for _, key, _ in _quarantined(con)] == ["ch_1", "ch_1 #2", "ch_2"]
    _ingest(con, "charges", _body(_charge("ch_1", 1)))
    assert _quarantined(con) == [("charges", "ch_2", "amount is negative")]
    assert _charges(con) == [("ch_1", 1, "succeeded")]


def test_a_sandbox_sync_over_http_quarantines_only_the_bad_charges(tmp_path: Path) -> None:
    sim = simulate(SEED, UNTIL, PRESET)
    model = next(iter(sim.charges.values()))
    sim.charges["ch_fraction"] = dict(model, id="ch_fraction", amount=43700.5)
    sim.charges["ch_status"] = dict(model, id="ch_status", status="123")
    with start_server(sim) as server:
        settings = settings_for(server, tmp_path)
        result = sync_and_publish(settings)
    # complete, whatever its status says of the quarantine (sync.engine)
    assert (result.kind, result.complete, result.errors) == ("backfill", True, {})
    con = duckdb.connect(str(settings.master_path), read_only=True)
    assert _quarantined(con) == [
        ("charges", "ch_fraction", "amount is not an integer"),
        ("charges", "ch_status", "unknown status 123"),
    ]
    good = {i: c for i, c in sim.charges.items() if i not in ("ch_fraction", "ch_status")}
    stored = con.execute("SELECT id, amount, status FROM charges").fetchall()
    assert {row[0]: row[1:] for row in stored} == {
        i: (c["amount"], c["status"]) for i, c in good.items()
    }
    for table, served in (("customers", sim.customers), ("invoices", sim.invoices)):
        assert {i for (i,) in con.execute(f"SELECT id FROM {table}").fetchall()} == set(served)
