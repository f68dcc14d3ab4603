"""The stored MRR segments (`metrics.refresh`): built once, read by every MRR query under any
settings, on hand-built history."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from metrics._sql import MissingSegmentsError
from metrics.mrr import MrrSettings, mrr_currency_daily, mrr_item_daily
from tests.metrics.warehouse import Price, Sub, Warehouse

STRIPE = MrrSettings()
PERIOD_END = MrrSettings(churn_at_period_end=True)


def _history(
    wh: Warehouse,
    items: list[tuple[str, int, str, str | None]],
    status: list[tuple[str, str, str | None]],
) -> None:
    """Item rows (price, quantity, from, to) of `si_sub_1_0` and status rows (status, from, to)
    of `sub_1`."""
    wh.con.executemany(
        "INSERT INTO subscription_item_history (subscription, subscription_item, price, quantity, "
        "valid_from, valid_to, source) VALUES ('sub_1', 'si_sub_1_0', ?, ?, ?, ?, 'test')",
        items,
    )
    wh.con.executemany(
        "INSERT INTO subscription_status_history (subscription, status, valid_from, valid_to, "
        "source) VALUES ('sub_1', ?, ?, ?, 'test')",
        status,
    )


def _usd(con: duckdb.DuckDBPyConnection, day: date, settings: MrrSettings = STRIPE) -> float:
    daily = mrr_currency_daily(con, day, day, settings)
    return float(daily.loc[daily["currency"] == "usd", "net_mrr_minor"].sum())


@pytest.fixture
def upgraded(wh: Warehouse) -> Warehouse:
    """$100 × 2 a month from 2026-01-05, billed monthly (one history row per invoice), × 3 from
    2026-03-05; cancellation requested 2026-03-20, the subscription ends 2026-04-05."""
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(Sub("sub_1", "active", "2026-01-05", [("price_m", 2)]))
    _history(
        wh,
        [
            ("price_m", 2, "2026-01-05 10:00", "2026-02-05 10:00"),
            ("price_m", 2, "2026-02-05 10:00", "2026-03-05 10:00"),
            ("price_m", 3, "2026-03-05 10:00", "2026-04-05 10:00"),
            ("price_m", 3, "2026-04-05 10:00", None),
        ],
        [
            ("active", "2026-01-05 10:00", "2026-04-05 10:00"),
            ("canceled", "2026-04-05 10:00", None),
        ],
    )
    wh.con.execute("UPDATE subscriptions SET canceled_at = TIMESTAMP '2026-03-20 09:00'")
    return wh


def test_rows_split_per_invoice_are_stored_as_one_piece_per_price_and_quantity(
    upgraded: Warehouse,
) -> None:
    upgraded.refresh()
    pieces = upgraded.con.execute(
        "SELECT quantity, from_day, to_day, leaves_day FROM mrr_item_pieces ORDER BY from_day"
    ).fetchall()
    assert pieces == [
        (2, date(2026, 1, 5), date(2026, 3, 5), date(2026, 3, 20)),
        (3, date(2026, 3, 5), date(2026, 4, 5), date(2026, 3, 20)),
    ]


def test_one_stored_table_answers_both_cancellation_settings(upgraded: Warehouse) -> None:
    con = upgraded.read_only()
    try:
        assert _usd(con, date(2026, 2, 10)) == 20_000.0
        assert _usd(con, date(2026, 3, 5)) == 30_000.0
        assert _usd(con, date(2026, 3, 19)) == 30_000.0
        assert _usd(con, date(2026, 3, 20)) == 0.0  # left at the request (Stripe)
        assert _usd(con, date(2026, 3, 20), PERIOD_END) == 30_000.0
        assert _usd(con, date(2026, 4, 4), PERIOD_END) == 30_000.0
        assert _usd(con, date(2026, 4, 5), PERIOD_END) == 0.0
        items = mrr_item_daily(con, date(2026, 3, 18), date(2026, 3, 21))
        assert sorted(items["day"]) == [date(2026, 3, 18), date(2026, 3, 19)]
    finally:
        con.close()


def test_a_second_refresh_replaces_the_stored_segments(upgraded: Warehouse) -> None:
    upgraded.refresh()
    upgraded.con.execute("UPDATE subscriptions SET canceled_at = NULL")
    upgraded.con.execute(
        "UPDATE subscription_status_history SET valid_to = NULL WHERE status = 'active'"
    )
    upgraded.con.execute("DELETE FROM subscription_status_history WHERE status = 'canceled'")
    con = upgraded.read_only()
    try:
        assert _usd(con, date(2026, 6, 1)) == 30_000.0
    finally:
        con.close()


def test_a_warehouse_never_refreshed_gets_a_clear_error(upgraded: Warehouse) -> None:
    upgraded.con.close()
    con = duckdb.connect(str(upgraded.path), read_only=True)
    try:
        with pytest.raises(MissingSegmentsError, match=r"metrics\.refresh"):
            mrr_currency_daily(con, date(2026, 2, 1), date(2026, 2, 1))
    finally:
        con.close()
