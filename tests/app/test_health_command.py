"""`paylens health [--json]` on a published snapshot of the `small` sandbox business, run as
the real command: the same report the page shows (`metrics.integration`), as JSON and text."""

from __future__ import annotations

import json
from pathlib import Path

from app.alerting import integration_setup
from app.health_commands import format_health
from app.settings import load_settings
from metrics.integration import integration_report, report_json
from sync import account_day
from sync.snapshots import SnapshotReader
from tests.conftest import run_paylens


def _expected(data_dir: Path, monkeypatch_env: dict[str, str]) -> dict[str, object]:
    reader = SnapshotReader(data_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    try:
        settings = load_settings(monkeypatch_env)
        report = integration_report(con, account_day(con), integration_setup(settings))
        return {"json": report_json(report), "text": format_health(report)}
    finally:
        reader.close()


def test_health_json_is_the_pages_report(synced_dir: Path) -> None:
    env = {"PAYLENS_DATA_DIR": str(synced_dir)}

    done = run_paylens("health", "--json", env=env)

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data == _expected(synced_dir, env)["json"]
    assert len(data["signals"]) == 8
    assert all(signal["evidence"] and signal["action"] for signal in data["signals"])


def test_health_prints_every_signal_with_its_evidence_and_action(synced_dir: Path) -> None:
    env = {"PAYLENS_DATA_DIR": str(synced_dir)}

    done = run_paylens("health", env=env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n") == _expected(synced_dir, env)["text"]
    assert done.stdout.startswith("Integration health ")
    assert "[red] Test → live (observed)" in done.stdout  # the sandbox key is a test key


def test_health_before_any_sync_says_to_sync_first(tmp_path: Path) -> None:
    done = run_paylens("health", env={"PAYLENS_DATA_DIR": str(tmp_path)})

    assert done.returncode == 2
    assert "run `paylens sync` first" in done.stderr
