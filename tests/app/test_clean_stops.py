"""Stops that leave nothing behind: no dashboard outlives its `paylens serve`, a stalled network
does not hold `paylens run` past the request timeout, and no URL is printed for a port another
process holds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _base_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_", "SLACK_"))
    }


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**_base_env(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll `condition()` until true or `seconds` pass; whether it became true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def listening() -> Iterator[int]:
    """A port another process (this one) listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def test_a_serve_killed_outright_takes_its_dashboard_with_it(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = _start(
        "serve", env={"PAYLENS_DATA_DIR": str(tmp_path), "PAYLENS_DASHBOARD_PORT": str(port)}
    )
    children: list[int] = []
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()  # Streamlit's own lines come first
        while line and not line.startswith("paylens dashboard:"):
            line = serve.stdout.readline()
        children += _children(serve.pid)
        assert line == f"paylens dashboard: {url}\n"
        assert _answers(url)  # printed once it is served
        assert len(children) == 1
        serve.kill()  # no chance to stop Streamlit itself
        serve.wait(timeout=10)
        assert _wait_for(lambda: not _alive(children[0]), 30)
        assert not _answers(url)
    finally:
        serve.kill()
        for pid in children:  # a dashboard left behind would also hold the pipes open
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        serve.communicate()


def _run_to_files(tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """`paylens *args` with its output in files (a process it leaves behind cannot hold a pipe
    open), killed after 120 s; (exit code, stdout, stderr)."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env={**_base_env(), **env},
            stdout=stdout,
            stderr=stderr,
        )
        try:
            code = process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    return code, out.read_text(), err.read_text()


def test_serve_refuses_a_port_another_process_listens_on_and_prints_no_url(
    tmp_path: Path, listening: int
) -> None:
    env = {"PAYLENS_DATA_DIR": str(tmp_path / "data"), "PAYLENS_DASHBOARD_PORT": str(listening)}
    code, out, err = _run_to_files(tmp_path, "serve", env=env)
    assert code == 2
    assert out == ""
    assert err.strip() == (
        f"paylens: port {listening} on 127.0.0.1 is in use by another process: stop it, or set "
        "PAYLENS_DASHBOARD_PORT to a free port"
    )


def test_demo_refuses_a_port_another_process_listens_on_before_it_starts(
    tmp_path: Path, listening: int
) -> None:
    env = {"PAYLENS_DATA_DIR": str(tmp_path / "data"), "PAYLENS_DASHBOARD_PORT": str(listening)}
    code, out, err = _run_to_files(tmp_path, "demo", "--preset", "small", env=env)
    assert code == 2
    assert "paylens demo: open" not in out
    assert err.strip().splitlines()[-1] == (
        f"paylens: port {listening} on 127.0.0.1 is in use by another process: stop it, or set "
        "PAYLENS_DASHBOARD_PORT to a free port"
    )
    assert not (tmp_path / "data" / "demo" / "master.duckdb").exists()


class StalledApi(threading.Thread):
    """A TCP server that accepts every connection, reads the request and never answers."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.requests = threading.Event()
        self.held: list[socket.socket] = []

    def run(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)
            if connection.recv(65536):
                self.requests.set()

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


def test_sigterm_during_a_network_stall_stops_the_service_within_the_request_timeout(
    tmp_path: Path,
) -> None:
    api = StalledApi()
    api.start()
    env = {
        "STRIPE_API_KEY": "sk_test_stalled",
        "PAYLENS_STRIPE_API_BASE": api.url,
        "PAYLENS_DATA_DIR": str(tmp_path),
        "PAYLENS_SYNC_TIMEOUT_SECONDS": "3",
        # each read would be tried 11 times, 3 s each: over 30 s before the cycle could end
        "PAYLENS_SYNC_NETWORK_RETRIES": "10",
    }
    service = _start("run", env=env)
    try:
        assert api.requests.wait(timeout=60)
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=25)
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
        api.close()
    assert service.returncode == 0, err
    assert " ERROR " not in err and "Traceback" not in err
    assert "the running sync is still waiting on Stripe after 3 s; stopping without it" in err
    assert "paylens service stopped" in err
