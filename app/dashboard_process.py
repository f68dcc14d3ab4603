"""Starting the Streamlit dashboard as a child process, bound safely.

The dashboard is bound to 127.0.0.1 by default; bound to any other address it refuses to start
unless a password or OIDC login is configured. The child gets the environment minus the Stripe key
and the Slack webhook URL: it only reads published snapshots and needs neither. With OIDC it also
gets Streamlit's `[auth]` configuration in a secrets file of its own (`dashboard_secrets.toml` in
the data directory, readable by its owner only), since Streamlit reads `st.login`'s settings from
a secrets file and nowhere else.

Streamlit runs under `app.dashboard_child`, which stops it when this process ends without
stopping it (SIGKILL, a crash). The URL is printed only once that Streamlit answers on it, and a
port another process holds is refused before anything starts.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.errors import CommandError
from app.settings import Secret, Settings

ENTRY_POINT = Path(__file__).with_name("dashboard.py")
AUTH_SECRETS_FILE = "dashboard_secrets.toml"  # in the data directory, mode 0600
COOKIE_SECRET_FILE = "oidc_cookie_secret"  # in the data directory, mode 0600
MIN_COOKIE_SECRET = 32  # characters, as PAYLENS_OIDC_COOKIE_SECRET must have
SERVE_TIMEOUT = 60.0  # seconds for Streamlit to answer its health check after it starts
_SECRETS_NOT_FOR_THE_DASHBOARD = (
    "STRIPE_API_KEY",
    "STRIPE_API_KEY_FILE",
    "SLACK_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL_FILE",
)


def check_binding(settings: Settings) -> None:
    """Refuse a binding beyond loopback that nothing guards, and an OIDC login whose redirect
    URI no browser could reach."""
    address = settings.dashboard_address
    loopback = address == "localhost" or ipaddress.ip_address(address).is_loopback
    if not loopback and settings.dashboard_password is None and not settings.oidc_enabled:
        raise CommandError(
            f"refusing to serve the dashboard on {address} without a password or OIDC login: "
            "set PAYLENS_DASHBOARD_PASSWORD (or _FILE), or PAYLENS_OIDC_ISSUER, "
            "PAYLENS_OIDC_CLIENT_ID and PAYLENS_OIDC_CLIENT_SECRET (or _FILE), or bind to 127.0.0.1"
        )
    unspecified = address != "localhost" and ipaddress.ip_address(address).is_unspecified
    if settings.oidc_enabled and unspecified and settings.dashboard_url is None:
        raise CommandError(
            f"OIDC login on {address} needs PAYLENS_DASHBOARD_URL: the address browsers open "
            "the dashboard at, whose /oauth2callback the provider redirects to"
        )


def start(settings: Settings) -> subprocess.Popen[bytes]:
    """Start Streamlit in its own process group, so stopping it stops all it started."""
    check_binding(settings)
    env = {k: v for k, v in os.environ.items() if k not in _SECRETS_NOT_FOR_THE_DASHBOARD}
    env.update(_settings_env(settings))
    env.update(_gate_env(settings, env))
    options = _streamlit_options(settings)
    if settings.oidc_enabled:
        options["secrets.files"] = str(write_auth_secrets(settings))
    command = [sys.executable, "-m", "app.dashboard_child", str(os.getpid()), "run"]
    command.append(str(ENTRY_POINT))
    command += [f"--{name}={value}" for name, value in options.items()]
    return subprocess.Popen(command, env=env, start_new_session=True)


def check_port_free(settings: Settings) -> None:
    """Refuse (CommandError) when another process listens on the dashboard's address and port:
    Streamlit would fail to bind, while a browser sent there would reach that other server."""
    family = socket.AF_INET6 if ":" in settings.dashboard_address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Streamlit binds
        try:
            probe.bind((settings.dashboard_address, settings.dashboard_port))
        except OSError:
            raise CommandError(
                f"port {settings.dashboard_port} on {settings.dashboard_address} is in use by "
                "another process: stop it, or set PAYLENS_DASHBOARD_PORT to a free port"
            ) from None


def wait_until_served(
    process: subprocess.Popen[bytes], settings: Settings, timeout: float = SERVE_TIMEOUT
) -> None:
    """Return once the Streamlit `process` answers its health check; CommandError if it exits
    first or `timeout` seconds pass."""
    health = f"{_local_url(settings)}/_stcore/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(
                f"the dashboard stopped (exit {process.returncode}) before it served "
                f"{url(settings)}"
            )
        try:
            with urllib.request.urlopen(health, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"the dashboard did not answer at {url(settings)} within {timeout:g} s")


def _local_url(settings: Settings) -> str:
    """Where this machine reaches the dashboard: a wildcard address through loopback."""
    address = settings.dashboard_address
    if address != "localhost" and ipaddress.ip_address(address).is_unspecified:
        address = "::1" if ":" in address else "127.0.0.1"
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{settings.dashboard_port}"


def redirect_uri(settings: Settings) -> str:
    """Where the OIDC provider sends the browser back: the dashboard's own /oauth2callback, at
    PAYLENS_DASHBOARD_URL when set (behind a proxy), else at the address it is bound to."""
    return f"{settings.dashboard_url or url(settings)}/oauth2callback"


def write_auth_secrets(settings: Settings) -> Path:
    """Write Streamlit's `[auth]` configuration for `settings` (OIDC enabled) to the data
    directory, readable by its owner only, and return its path; it is rewritten at every start,
    so it always says what the settings say."""
    client_secret, metadata_url = settings.oidc_client_secret, settings.oidc_metadata_url
    if client_secret is None or metadata_url is None or settings.oidc_client_id is None:
        raise ValueError("OIDC login is not configured")
    auth = {
        "redirect_uri": redirect_uri(settings),
        "cookie_secret": cookie_secret(settings),
        "client_id": settings.oidc_client_id,
        "client_secret": client_secret.reveal(),
        "server_metadata_url": metadata_url,
    }
    lines = ["[auth]", *(f"{key} = {_toml_string(value)}" for key, value in auth.items())]
    path = settings.data_dir / AUTH_SECRETS_FILE
    _write_private(path, "\n".join(lines) + "\n")
    return path


def cookie_secret(settings: Settings) -> str:
    """The secret that signs the login cookie: PAYLENS_OIDC_COOKIE_SECRET, else the data
    directory's own, made on first use (so logins outlive a restart)."""
    if settings.oidc_cookie_secret is not None:
        return settings.oidc_cookie_secret.reveal()
    path = settings.data_dir / COOKIE_SECRET_FILE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = path.read_text(encoding="utf-8").strip()
        if len(kept) < MIN_COOKIE_SECRET:
            raise CommandError(
                f"{path} holds no usable cookie secret (under {MIN_COOKIE_SECRET} characters): "
                "delete it and a new one is made at the next start"
            ) from None
        return kept
    made = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(made + "\n")
    return made


def _write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, the file never readable by anyone but its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.tmp")
    staged.unlink(missing_ok=True)
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(staged, path)


def _toml_string(value: str) -> str:
    """`value` as a TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


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
    if settings.oidc_issuer is not None:
        env["PAYLENS_OIDC_ISSUER"] = settings.oidc_issuer
    if settings.oidc_client_id is not None:
        env["PAYLENS_OIDC_CLIENT_ID"] = settings.oidc_client_id
    return env


def _gate_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The gate's secrets for a dashboard whose settings were made in code, where neither the
    variable nor its _FILE is in the environment: the dashboard must guard what this process
    was told to guard."""
    given: dict[str, Secret | None] = {
        "PAYLENS_DASHBOARD_PASSWORD": settings.dashboard_password,
        "PAYLENS_OIDC_CLIENT_SECRET": settings.oidc_client_secret,
    }
    return {
        var: secret.reveal()
        for var, secret in given.items()
        if secret is not None and var not in env and f"{var}_FILE" not in env
    }


def _streamlit_options(settings: Settings) -> dict[str, str]:
    return {
        "server.address": settings.dashboard_address,
        "server.port": str(settings.dashboard_port),
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "browser.gatherUsageStats": "false",
        "client.toolbarMode": "viewer",
        "client.showErrorDetails": "none",  # a generic message: no traceback, path or text
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
    address = settings.dashboard_address
    host = f"[{address}]" if ":" in address else address  # an IPv6 address is bracketed
    return f"http://{host}:{settings.dashboard_port}"


def serve(settings: Settings) -> int:
    """`paylens serve`: run the dashboard until interrupted (Ctrl-C or SIGTERM, as a service
    manager stops it; either way Streamlit, in its own process group, is stopped too).

    Steps: refuse an unguarded binding or a port in use; catch SIGTERM (before Streamlit
    starts: a stop that came in between would leave it running); start; print the URL once it
    answers; wait; stop it, with further signals ignored so a second SIGTERM cannot cut the
    stop short."""
    check_binding(settings)
    check_port_free(settings)
    signal.signal(signal.SIGTERM, _interrupt)
    process: subprocess.Popen[bytes] | None = None
    try:
        process = start(settings)
        wait_until_served(process, settings)
        print(f"paylens dashboard: {url(settings)}", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if process is not None:
            stop(process)
