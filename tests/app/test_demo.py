"""`paylens demo`: sandbox, sync and dashboard in one command, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_serves_the_dashboard_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_"))}
    env.update({"PAYLENS_DATA_DIR": str(tmp_path), "PAYLENS_DASHBOARD_PORT": str(port)})
    demo = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--preset", "small"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert demo.stdout is not None
        line = demo.stdout.readline()
        while line and "paylens demo: open" not in line:
            line = demo.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        health = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as answer:
                    health = answer.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert health == "ok"
        assert (tmp_path / "demo" / "snapshots" / "CURRENT").exists()
        assert (tmp_path / "demo" / "fx_rates.csv").exists()
        started = _children(demo.pid)
        assert started  # the dashboard runs as a child process
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        assert [pid for pid in started if _alive(pid)] == []
    finally:
        if demo.poll() is None:
            demo.kill()
