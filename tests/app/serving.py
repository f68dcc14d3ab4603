"""Waiting for and stopping a `paylens serve` child process: what the browser tests and the
page benchmark share."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Return once Streamlit at `url` answers its health check; RuntimeError when the process
    exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("paylens serve exited before it answered")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"the dashboard did not answer at {url} within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a service manager stops it (`paylens serve` stops Streamlit too); SIGKILL to
    its process group after 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
