"""What the weekly tests share: the weekly scenario (tests/metrics/scenario_files/weekly.toml)
synced into a data directory, and the review `metrics` computes on a published snapshot — what
a page or a command must show."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import load_settings
from app.weekly import review_for
from metrics.weekly_model import IsoWeek, WeeklyReview
from sync.snapshots import SnapshotReader
from tests.metrics.scenarios import simulate_named, synced_snapshot


def synced_weekly(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A new data directory `name…` holding the weekly scenario synced and published once."""
    data_dir = tmp_path_factory.mktemp(name)
    synced_snapshot(simulate_named("weekly"), data_dir).close()
    return data_dir


def published_review(week: IsoWeek | None) -> WeeklyReview:
    """The review of `week` (None: the last complete one) on the newest published snapshot of
    the data directory the environment names, with the environment's settings."""
    settings = load_settings()
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    assert con is not None
    try:
        return review_for(settings, con, week)
    finally:
        reader.close()
