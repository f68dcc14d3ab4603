"""Metrics read a published snapshot through a read-only connection and never write to it.

MRR comes from the history the sync writes, which this hand-built warehouse has none of; the
MRR pins (test_mrr_pins.py and the other scenario tests) all read published snapshots, which
`synced_snapshot` opens read-only, so they run this path with exact values.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from metrics.churn import DEFAULT_CHURN
from metrics.mrr import mrr_currency_daily
from metrics.payments import payment_success_daily, payment_success_rate
from metrics.summary import Amount, summarise
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
        assert list(mrr_currency_daily(con, AS_OF, AS_OF).columns) == [
            "day", "currency", "list_mrr_minor", "net_mrr_minor", "active_subscriptions",
            "active_customers",
        ]  # fmt: skip
        assert payment_success_daily(con, date(2026, 10, 30), AS_OF)["attempted"].tolist() == [1, 1]
        assert payment_success_rate(con, date(2026, 10, 29), AS_OF) == 0.5
        summary = summarise(
            con,
            as_of=AS_OF,
            since=date(2026, 10, 29),
            definition=DEFAULT_CHURN,
            reporting_currency="usd",
            rates=None,
        )
        assert summary.mrr == Amount({}, 0.0)
        assert summary.payments.success_rate == 0.5
        assert summary.warnings == ()
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("CREATE TABLE scratch (a INTEGER)")
    finally:
        con.close()
