"""Metrics figures: the report's queries on a published snapshot."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import date
from pathlib import Path

from app.report import build_report
from app.service import sync_and_publish
from app.settings import Secret, Settings
from sandbox.server import start_server
from sandbox.sim import simulate
from sync.snapshots import SnapshotReader
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)


def rows() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp, start_server(simulate(42, UNTIL, "demo")) as server:
        settings = dataclasses.replace(
            Settings(),
            stripe_api_key=Secret(server.api_key),
            stripe_api_base=server.url,
            data_dir=Path(tmp),
        )
        sync_and_publish(settings)
        reader = SnapshotReader(settings.snapshot_dir)
        con = reader.connection()
        assert con is not None
        build_report(con, settings, UNTIL)  # warm
        _, seconds = timed(lambda: build_report(con, settings, UNTIL))
        reader.close()
    return [
        Row(
            "metrics: report (MRR, subscriptions, success rate), warm",
            f"{seconds * 1000:.0f} ms",
            "`demo`, one published snapshot, read-only",
        )
    ]
