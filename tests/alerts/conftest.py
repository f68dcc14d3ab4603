"""Fixtures for the alert store and delivery tests: a real DuckDB file, a real local HTTP server
standing in for Slack, and a clock the tests move by hand (sleeping advances it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from alerts.store import ensure_schema
from sandbox.slack_standin import SlackStandin, start_slack_standin

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class FakeClock:
    """The machine's clock for a test: `now()` stands still until `sleep` or `advance` moves it,
    and every sleep is kept (the pacing between posts is asserted on them)."""

    def __init__(self, start: datetime = START) -> None:
        self.at = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.at += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def advance_to(self, at: datetime) -> None:
        self.at = max(self.at, at)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def master(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A master file in tmp_path with the alert tables."""
    con = duckdb.connect(str(tmp_path / "master.duckdb"))
    ensure_schema(con)
    yield con
    con.close()


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    server = start_slack_standin()
    yield server
    server.shutdown()
