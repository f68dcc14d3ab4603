from __future__ import annotations

from datetime import date

import duckdb
import pytest

from metrics.payments import payment_success_daily, payment_success_rate
from metrics.revenue import active_subscriptions, mrr_by_currency, mrr_items
from tests.metrics.warehouse import Charge, Price, Sub, Warehouse

AS_OF = date(2026, 10, 31)


def test_every_metric_runs_on_a_read_only_connection_to_a_snapshot(wh: Warehouse) -> None:
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(Sub("sub_1", "active", "2026-01-05", [("price_m", 3)]))
    wh.charges(
        Charge("ch_1", "2026-10-30 10:00", "succeeded"),
        Charge("ch_2", "2026-10-31 10:00", "failed"),
    )
    con = wh.read_only()
    try:
        assert mrr_by_currency(con, AS_OF)["mrr_minor"].tolist() == [30_000.0]
        assert mrr_items(con, AS_OF)["subscription"].tolist() == ["sub_1"]
        assert active_subscriptions(con, AS_OF) == 1
        assert payment_success_daily(con, date(2026, 10, 30), AS_OF)["attempted"].tolist() == [1, 1]
        assert payment_success_rate(con, date(2026, 10, 29), AS_OF) == 0.5
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("CREATE TABLE scratch (a INTEGER)")
    finally:
        con.close()
