"""Starting the Streamlit dashboard as a child process, bound safely.

The dashboard is bound to 127.0.0.1 by default; bound to any other address it refuses to start
unless a password is configured. The child gets the environment minus the Stripe key and the
Slack webhook URL: it only reads published snapshots and needs neither.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

from app.errors import CommandError
from app.settings import Settings

ENTRY_POINT = Path(__file__).with_name("dashboard.py")
_SECRETS_NOT_FOR_THE_DASHBOARD = (
    "STRIPE_API_KEY",
    "STRIPE_API_KEY_FILE",
    "SLACK_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL_FILE",
)


def check_binding(settings: Settings) -> None:
    address = settings.dashboard_address
    loopback = address == "localhost" or ipaddress.ip_address(address).is_loopback
    if not loopback and settings.dashboard_password is None:
        raise CommandError(
            f"refusing to serve the dashboard on {address} without a password: set "
            "PAYLENS_DASHBOARD_PASSWORD (or _FILE), or bind to 127.0.0.1"
        )


def start(settings: Settings) -> subprocess.Popen[bytes]:
    """Start Streamlit in its own process group, so stopping it stops all it started."""
    check_binding(settings)
    env = {k: v for k, v in os.environ.items() if k not in _SECRETS_NOT_FOR_THE_DASHBOARD}
    env.update(_settings_env(settings))
    command = [sys.executable, "-m", "streamlit", "run", str(ENTRY_POINT)]
    command += [f"--{name}={value}" for name, value in _streamlit_options(settings).items()]
    return subprocess.Popen(command, env=env, start_new_session=True)


def _settings_env(settings: Settings) -> dict[str, str]:
    """What the dashboard must see as this process does, even when set in code (the demo)."""
    env = {
        "PAYLENS_DATA_DIR": str(settings.data_dir),
        "PAYLENS_REPORTING_CURRENCY": settings.reporting_currency,
    }
    if settings.fx_rates_file is not None:
        env["PAYLENS_FX_RATES_FILE"] = str(settings.fx_rates_file)
    if settings.alerts_file is not None:
        env["PAYLENS_ALERTS_FILE"] = str(settings.alerts_file)
    if settings.slack_standin_url is not None:
        env["PAYLENS_SLACK_STANDIN_URL"] = settings.slack_standin_url
    return env


def _streamlit_options(settings: Settings) -> dict[str, str]:
    return {
        "server.address": settings.dashboard_address,
        "server.port": str(settings.dashboard_port),
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "browser.gatherUsageStats": "false",
        "client.toolbarMode": "viewer",
    }


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def url(settings: Settings) -> str:
    return f"http://{settings.dashboard_address}:{settings.dashboard_port}"


def serve(settings: Settings) -> int:
    """`paylens serve`: run the dashboard until interrupted (Ctrl-C or SIGTERM, as a service
    manager stops it; either way Streamlit, in its own process group, is stopped too)."""
    process = start(settings)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"paylens dashboard: {url(settings)}", flush=True)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(process)
