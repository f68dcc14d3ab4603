"""Bulk ingest: typed columns parsed by DuckDB, raw JSON kept, bad objects quarantined."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from sync.ingest import Staging, flush, stage_pages
from sync.store import open_warehouse, transaction

SYNCED_AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _charge(charge_id: str, amount: Any, status: str = "succeeded", **extra: Any) -> dict:
    return {
        "id": charge_id,
        "object": "charge",
        "created": 1_764_000_000,
        "amount": amount,
        "amount_refunded": 0,
        "currency": "usd",
        "status": status,
        "paid": status == "succeeded",
        "customer": {"id": "cus_1", "object": "customer"},
        "payment_intent": "pi_1",
        "failure_code": None if status == "succeeded" else "card_declined",
        "outcome": {"type": "authorized", "reason": None, "network_decline_code": None},
        "payment_method_details": {"card": {"brand": "visa", "country": "BR", "funding": "credit"}},
        "unknown_future_field": {"nested": [1, 2]},
        **extra,
    }


def _body(*objects: Any) -> str:
    return json.dumps({"object": "list", "data": list(objects), "has_more": False, "url": "/v1/x"})


def _ingest(con: duckdb.DuckDBPyConnection, table: str, *bodies: str) -> dict[str, int]:
    staging = Staging()
    stage_pages(con, staging, table, list(bodies))
    with transaction(con):
        return flush(con, staging, "2026-10-28.endive", SYNCED_AT)


def test_a_page_is_stored_as_typed_columns_with_its_raw_json(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    assert _ingest(con, "charges", _body(_charge("ch_1", 4999))) == {"charges": 1}
    row = con.execute(
        "SELECT id, created, customer, amount, currency, card_brand, card_country, raw, "
        "api_version, synced_at FROM charges"
    ).fetchall()[0]
    assert row[:7] == ("ch_1", datetime(2025, 11, 24, 16, 0), "cus_1", 4999, "usd", "visa", "BR")
    assert json.loads(row[7])["unknown_future_field"] == {"nested": [1, 2]}
    assert row[8:] == ("2026-10-28.endive", datetime(2026, 11, 27, 8, 0))


def test_a_second_ingest_replaces_by_id_and_a_batch_keeps_its_last_version(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    _ingest(con, "charges", _body(_charge("ch_1", 100)))
    _ingest(con, "charges", _body(_charge("ch_2", 5)), _body(_charge("ch_1", 200, "failed")))
    rows = con.execute(
        "SELECT id, amount, status, failure_code FROM charges ORDER BY id"
    ).fetchall()
    assert rows == [("ch_1", 200, "failed", "card_declined"), ("ch_2", 5, "succeeded", None)]


def test_huge_zero_decimal_and_credit_amounts_survive(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    _ingest(
        con,
        "charges",
        _body(
            _charge("ch_h", 99_999_999_999_999),
            _charge("ch_j", 1200, currency="jpy"),
            _charge("ch_k", 1234, currency="kwd"),
        ),
    )
    assert con.execute("SELECT id, amount, currency FROM charges ORDER BY id").fetchall() == [
        ("ch_h", 99_999_999_999_999, "usd"),
        ("ch_j", 1200, "jpy"),
        ("ch_k", 1234, "kwd"),
    ]
    # an invoice of a credit proration totals below zero (a charge cannot: test_strict_types)
    credit = {"id": "in_c", "object": "invoice", "created": 1, "currency": "usd", "total": -500}
    _ingest(con, "invoices", _body(dict(credit, subtotal=-500, amount_due=0)))
    assert con.execute("SELECT id, subtotal, total, amount_due FROM invoices").fetchall() == [
        ("in_c", -500, -500, 0)
    ]


def test_malformed_objects_are_quarantined_with_the_reason_and_the_rest_is_stored(
    tmp_path: Path,
) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    missing = _charge("ch_missing", 1)
    del missing["amount"]
    written = _ingest(
        con,
        "charges",
        _body(
            _charge("ch_ok", 700),
            missing,
            _charge("ch_type", "a lot"),
            _charge("ch_money", 5, currency="xyz"),
            {"object": "charge", "amount": 5},
            "not an object",
        ),
    )
    assert written == {"charges": 1}
    assert con.execute("SELECT id FROM charges").fetchall() == [("ch_ok",)]
    reasons = dict(
        con.execute(
            "SELECT object_key, reason FROM quarantine WHERE object_key LIKE 'ch_%'"
        ).fetchall()
    )
    assert reasons == {
        "ch_missing": "amount is missing",
        "ch_type": "amount is not an integer",
        "ch_money": "unknown currency xyz",
    }
    others = con.execute(
        "SELECT reason FROM quarantine WHERE object_key NOT LIKE 'ch_%' ORDER BY reason"
    ).fetchall()
    assert others == [("id is missing",), ("not a JSON object",)]


def test_a_quarantined_object_that_comes_back_valid_leaves_the_quarantine(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    _ingest(con, "charges", _body(_charge("ch_1", 5, currency="xyz")))
    _ingest(con, "charges", _body(_charge("ch_1", 5)))
    assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
    assert con.execute("SELECT currency FROM charges").fetchall() == [("usd",)]


def _subscription(items: list[dict], has_more: bool = False) -> dict:
    return {
        "id": "sub_1",
        "object": "subscription",
        "created": 1_700_000_000,
        "customer": "cus_1",
        "status": "active",
        "currency": "eur",
        "cancellation_details": {"reason": "payment_failed"},
        "discounts": [
            {
                "id": "di_1",
                "object": "discount",
                "source": {"coupon": "co_25", "type": "coupon"},
                "customer": "cus_1",
                "subscription": "sub_1",
                "start": 1_700_000_000,
                "end": None,
            }
        ],
        "items": {"object": "list", "data": items, "has_more": has_more, "url": "/v1/x"},
    }


def _item(item_id: str, quantity: int) -> dict:
    return {
        "id": item_id,
        "object": "subscription_item",
        "created": 1_700_000_000,
        "subscription": "sub_1",
        "price": {"id": "price_1", "object": "price"},
        "quantity": quantity,
        "discounts": ["di_item"],
    }


def test_nested_items_and_expanded_discounts_are_stored_and_removed_items_leave(
    tmp_path: Path,
) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    _ingest(con, "subscriptions", _body(_subscription([_item("si_1", 2), _item("si_2", 1)])))
    assert con.execute("SELECT cancellation_reason, discounts FROM subscriptions").fetchall() == [
        ("payment_failed", '["di_1"]')
    ]
    assert con.execute("SELECT id, coupon, subscription FROM discounts").fetchall() == [
        ("di_1", "co_25", "sub_1")
    ]
    _ingest(con, "subscriptions", _body(_subscription([_item("si_2", 5)])))
    assert con.execute(
        "SELECT id, subscription, price, quantity, discounts FROM subscription_items"
    ).fetchall() == [("si_2", "sub_1", "price_1", 5, '["di_item"]')]


def test_invoice_lines_read_the_nesting_of_the_current_api_version(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    line = {
        "id": "il_1",
        "object": "line_item",
        "invoice": "in_1",
        "amount": 1000,
        "currency": "usd",
        "quantity": 2,
        "period": {"start": 10, "end": 20},
        "discount_amounts": [{"amount": 150, "discount": "di_1"}, {"amount": 50}],
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": "sub_1",
                "subscription_item": "si_1",
                "proration": False,
            },
        },
        "pricing": {"type": "price_details", "price_details": {"price": "price_1"}},
    }
    invoice = {
        "id": "in_1",
        "object": "invoice",
        "created": 1,
        "currency": "usd",
        "status_transitions": {"paid_at": 30},
        "parent": {"subscription_details": {"subscription": "sub_1"}},
        "lines": {"object": "list", "data": [line], "has_more": False, "url": "/v1/x"},
    }
    _ingest(con, "invoices", _body(invoice))
    assert con.execute("SELECT subscription, paid_at FROM invoices").fetchall() == [
        ("sub_1", datetime(1970, 1, 1, 0, 0, 30))
    ]
    assert con.execute(
        "SELECT id, invoice, subscription, subscription_item, price, quantity, amount, currency, "
        "period_start, period_end, proration, discount_amount FROM invoice_lines"
    ).fetchall() == [
        (
            "il_1",
            "in_1",
            "sub_1",
            "si_1",
            "price_1",
            2,
            1000,
            "usd",
            datetime(1970, 1, 1, 0, 0, 10),
            datetime(1970, 1, 1, 0, 0, 20),
            False,
            200,
        )
    ]


def test_an_id_staged_twice_in_one_batch_is_written_once_with_its_last_version(
    tmp_path: Path,
) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    staging = Staging()
    stage_pages(con, staging, "charges", [_body(_charge("ch_1", 100), _charge("ch_2", 7))])
    stage_pages(con, staging, "charges", [_body(_charge("ch_1", 300, "failed"))])
    with transaction(con):
        written = flush(con, staging, "2026-10-28.endive", SYNCED_AT)
    assert written == {"charges": 2}
    assert con.execute("SELECT id, amount, status FROM charges ORDER BY id").fetchall() == [
        ("ch_1", 300, "failed"),
        ("ch_2", 7, "succeeded"),
    ]


def test_follow_up_pages_of_a_nested_list_are_stored_under_their_parent(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    staging = Staging()
    stage_pages(con, staging, "subscriptions", [_body(_subscription([_item("si_1", 1)], True))])
    rest = _body(_item("si_2", 2), _item("si_3", 3))
    stage_pages(con, staging, "subscription_items", [rest], ["sub_1"])
    with transaction(con):
        flush(con, staging, "2026-10-28.endive", SYNCED_AT)
    items = "SELECT id, subscription, quantity FROM subscription_items ORDER BY id"
    assert con.execute(items).fetchall() == [
        ("si_1", "sub_1", 1),
        ("si_2", "sub_1", 2),
        ("si_3", "sub_1", 3),
    ]
    _ingest(con, "subscriptions", _body(_subscription([_item("si_3", 4)])))
    assert con.execute(items).fetchall() == [("si_3", "sub_1", 4)]


def test_raw_json_is_stored_zstd_compressed(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    _ingest(con, "charges", _body(*(_charge(f"ch_{n}", n) for n in range(500))))
    con.execute("CHECKPOINT").fetchall()
    methods = con.execute(
        "SELECT DISTINCT compression FROM pragma_storage_info('charges') "
        "WHERE column_name = 'raw' AND segment_type <> 'VALIDITY'"
    ).fetchall()
    assert methods == [("ZSTD",)]
