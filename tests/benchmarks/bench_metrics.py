"""Metrics figures on a published `demo` snapshot: the report, and each dashboard query warm.

SPEC §9: each dashboard query ≤ 200 ms warm; the full refresh (history rebuild + every query the
dashboard and the report run) ≤ 3 s on `large`. `large` needs its warehouse built first (a
backfill of ~5 M objects), which this module does not do yet: the rows say `demo`.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from app.report import build_report, churn_settings
from app.service import sync_and_publish
from app.settings import Secret, Settings
from metrics.churn import churn_monthly
from metrics.disputes import dispute_summary
from metrics.movements import mrr_movements
from metrics.mrr import mrr_currency_daily
from metrics.payments import payment_success_breakdown, payment_success_daily
from metrics.retention import cohort_retention
from metrics.webhooks import webhook_summary
from sandbox.server import start_server
from sandbox.sim import simulate
from sync.history import rebuild_history
from sync.snapshots import SnapshotReader
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)
YEAR_AGO = UNTIL - timedelta(days=365)
MONTH_AGO = UNTIL - timedelta(days=30)


def queries(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Callable[[], Any]]:
    """What the dashboard pages run, by name."""
    definition = churn_settings(settings)
    return {
        "report (every key)": lambda: build_report(con, settings, UNTIL),
        "MRR per currency per day, 1 year": lambda: mrr_currency_daily(
            con, YEAR_AGO, UNTIL, definition
        ),
        "MRR movements per month, 1 year": lambda: mrr_movements(con, YEAR_AGO, UNTIL, definition),
        "churn per month, 1 year": lambda: churn_monthly(con, YEAR_AGO, UNTIL, definition),
        "cohort retention": lambda: cohort_retention(con, UNTIL, definition),
        "payment success per day, 90 days": lambda: payment_success_daily(
            con, UNTIL - timedelta(days=89), UNTIL
        ),
        "payment breakdowns, 30 days": lambda: payment_success_breakdown(con, MONTH_AGO, UNTIL),
        "disputes": lambda: dispute_summary(con, MONTH_AGO, UNTIL),
        "webhooks": lambda: webhook_summary(con, MONTH_AGO, UNTIL),
    }


def rows() -> list[Row]:
    found: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, start_server(simulate(42, UNTIL, "demo")) as server:
        settings = dataclasses.replace(
            Settings(),
            stripe_api_key=Secret(server.api_key),
            stripe_api_base=server.url,
            data_dir=Path(tmp),
            fx_rates_file=Path(__file__).resolve().parents[2] / "docs/examples/fx_rates.csv",
        )
        sync_and_publish(settings)
        master = duckdb.connect(str(settings.master_path))
        _, rebuild = timed(lambda: rebuild_history(master, datetime.now(UTC)))
        master.close()
        found.append(Row("metrics: history rebuild", f"{rebuild * 1000:.0f} ms", "`demo`"))
        reader = SnapshotReader(settings.snapshot_dir)
        con = reader.connection()
        assert con is not None
        total = 0.0
        for name, query in queries(con, settings).items():
            query()  # warm
            _, seconds = timed(query)
            total += seconds
            found.append(
                Row(f"metrics: {name}, warm", f"{seconds * 1000:.0f} ms", "`demo` snapshot")
            )
        reader.close()
    found.append(
        Row(
            "metrics: full refresh (rebuild + every query)",
            f"{rebuild + total:.2f} s",
            "`demo`; target ≤ 3 s on `large` (not measured yet)",
        )
    )
    return found
