"""Shared fixtures: a real sandbox over real HTTP, and a data directory synced from it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.service import sync_and_publish
from app.settings import Secret, Settings
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation, simulate

SEED = 7
UNTIL = date(2026, 11, 20)
PRESET = "small"


@pytest.fixture(scope="session")
def small_sim() -> Simulation:
    return simulate(SEED, UNTIL, PRESET)


@pytest.fixture(scope="session")
def sandbox(small_sim: Simulation) -> Iterator[SandboxServer]:
    server = start_server(small_sim)
    yield server
    server.shutdown()


def settings_for(server: SandboxServer, data_dir: Path, **changes: object) -> Settings:
    """Settings for syncing `server` into `data_dir`; an unlimited sandbox gets fast limits."""
    base = {"sync_rate": 400.0, "sync_endpoint_rate": 200.0, "sync_network_retries": 3}
    return dataclasses.replace(
        Settings(),
        stripe_api_key=Secret(server.api_key),
        stripe_api_base=server.url,
        data_dir=data_dir,
        **{**base, **changes},  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def synced_dir(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding one published snapshot of the small sandbox business."""
    data_dir = tmp_path_factory.mktemp("synced")
    result = sync_and_publish(settings_for(sandbox, data_dir))
    assert result.status == "ok", result.error
    return data_dir


def run_paylens(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real `paylens` command in a child process, with only the given settings."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_", "SLACK_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
