"""The warehouse store: typed bulk upserts keyed by Stripe id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.objects import charge_row, invoice_line_row, subscription_row
from sync.store import open_warehouse, upsert

SYNCED_AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _charge(charge_id: str, amount: int, status: str = "succeeded") -> dict:
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
    }


def test_an_upsert_writes_typed_columns_and_the_raw_json(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    charge = _charge("ch_1", 4999)
    upsert(
        con, "charges", [charge_row(charge)], raws=[charge], api_version="v1", synced_at=SYNCED_AT
    )
    row = con.execute(
        "SELECT id, created, customer, amount, currency, card_brand, card_country, raw, "
        "api_version, synced_at FROM charges"
    ).fetchone()
    assert row is not None
    assert row[:7] == ("ch_1", datetime(2025, 11, 24, 16, 0), "cus_1", 4999, "usd", "visa", "BR")
    assert json.loads(row[7])["unknown_future_field"] == {"nested": [1, 2]}
    assert row[8:] == ("v1", datetime(2026, 11, 27, 8, 0))


def test_a_second_upsert_replaces_by_id_and_a_batch_keeps_its_last_version(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    first, second, third = _charge("ch_1", 100), _charge("ch_1", 200, "failed"), _charge("ch_2", 5)
    upsert(con, "charges", [charge_row(first)], raws=[first], api_version="v", synced_at=SYNCED_AT)
    written = upsert(
        con,
        "charges",
        [charge_row(second), charge_row(third), charge_row(second)],
        raws=[second, third, second],
        api_version="v",
        synced_at=SYNCED_AT,
    )
    assert written == 2
    rows = con.execute(
        "SELECT id, amount, status, failure_code FROM charges ORDER BY id"
    ).fetchall()
    assert rows == [("ch_1", 200, "failed", "card_declined"), ("ch_2", 5, "succeeded", None)]


def test_huge_and_negative_amounts_survive(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    huge, negative = _charge("ch_h", 99_999_999_999_999), _charge("ch_n", -500)
    upsert(
        con,
        "charges",
        [charge_row(huge), charge_row(negative)],
        raws=[huge, negative],
        api_version="v",
        synced_at=SYNCED_AT,
    )
    assert con.execute("SELECT amount FROM charges ORDER BY id").fetchall() == [
        (99_999_999_999_999,),
        (-500,),
    ]


def test_object_rows_without_a_version_are_refused(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    charge = _charge("ch_1", 1)
    with pytest.raises(ValueError, match="api_version and synced_at"):
        upsert(con, "charges", [charge_row(charge)], raws=[charge])


def test_nesting_of_the_current_api_version_is_read() -> None:
    subscription = {
        "id": "sub_1",
        "created": 1,
        "customer": "cus_1",
        "status": "canceled",
        "currency": "eur",
        "cancellation_details": {"reason": "payment_failed"},
    }
    assert subscription_row(subscription)["cancellation_reason"] == "payment_failed"
    line = {
        "id": "il_1",
        "invoice": "in_1",
        "amount": 1000,
        "currency": "usd",
        "quantity": 2,
        "period": {"start": 10, "end": 20},
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": "sub_1",
                "subscription_item": "si_1",
                "proration": False,
            },
        },
        "pricing": {
            "type": "price_details",
            "price_details": {"price": "price_1", "product": "prod_1"},
        },
    }
    assert invoice_line_row(line) == {
        "id": "il_1",
        "invoice": "in_1",
        "subscription": "sub_1",
        "subscription_item": "si_1",
        "price": "price_1",
        "quantity": 2,
        "amount": 1000,
        "currency": "usd",
        "period_start": 10,
        "period_end": 20,
        "proration": False,
    }
