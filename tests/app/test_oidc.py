"""OIDC login: `paylens serve` configured for a real local provider (tests/app/oidc_provider.py),
driven in Debian's chromium through the playwright package, from the "Log in" button through the
provider and back to the Overview, and out again; and the files that hand Streamlit its `[auth]`
settings (owner-only, exact contents, a cookie secret made once per data directory).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import socket
import stat
import subprocess
import sys
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.dashboard_process import (
    AUTH_SECRETS_FILE,
    COOKIE_SECRET_FILE,
    cookie_secret,
    write_auth_secrets,
)
from app.errors import CommandError
from app.settings import Secret, Settings
from sandbox.sim import Simulation
from tests.app.oidc_provider import OidcProvider, User, pkce_challenge
from tests.app.serving import stop, wait_healthy
from tests.metrics.scenarios import synced_snapshot

CHROMIUM = Path("/usr/bin/chromium")
CLIENT_ID = "paylens-dashboard"
CLIENT_SECRET = "oidc-client-secret-never-shown-0815"
ADA = User(sub="ada-1815", name="Ada Lovelace", email="ada@example.com")
SETTLED = """() => document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]')
    && !document.querySelector('[data-testid=stSkeleton]')
    && !document.querySelector('[data-testid=stStatusWidget]')"""
OIDC = {
    "oidc_issuer": "https://login.example.com/tenant-7",
    "oidc_client_id": CLIENT_ID,
    "oidc_client_secret": Secret(CLIENT_SECRET),
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_streamlit_gets_its_auth_settings_in_an_owner_only_file(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        Settings(), data_dir=tmp_path / "data", dashboard_port=8600, **OIDC
    )  # type: ignore[arg-type]
    path = write_auth_secrets(settings)
    assert path == tmp_path / "data" / AUTH_SECRETS_FILE
    assert _mode(path) == 0o600
    made = (tmp_path / "data" / COOKIE_SECRET_FILE).read_text(encoding="utf-8").strip()
    assert _mode(tmp_path / "data" / COOKIE_SECRET_FILE) == 0o600
    assert len(made) >= 32
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {
        "auth": {
            "redirect_uri": "http://127.0.0.1:8600/oauth2callback",
            "cookie_secret": made,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "server_metadata_url": (
                "https://login.example.com/tenant-7/.well-known/openid-configuration"
            ),
        }
    }
    path.chmod(0o644)  # whatever became of the old file, the new one is owner-only
    proxied = dataclasses.replace(settings, dashboard_url="https://paylens.example.com/ops")
    assert _mode(write_auth_secrets(proxied)) == 0o600
    auth = tomllib.loads(path.read_text(encoding="utf-8"))["auth"]
    assert auth["redirect_uri"] == "https://paylens.example.com/ops/oauth2callback"
    assert auth["cookie_secret"] == made  # made once per data directory: logins outlive restarts


def test_odd_characters_in_a_secret_reach_streamlit_as_they_are(tmp_path: Path) -> None:
    odd = 'quote" back\\slash \x7f tab\t ünï ' + "#" * 8
    settings = dataclasses.replace(Settings(), data_dir=tmp_path, **OIDC)  # type: ignore[arg-type]
    settings = dataclasses.replace(settings, oidc_client_secret=Secret(odd))
    auth = tomllib.loads(write_auth_secrets(settings).read_text(encoding="utf-8"))["auth"]
    assert auth["client_secret"] == odd


def test_a_configured_cookie_secret_wins_and_a_bad_stored_one_is_named(tmp_path: Path) -> None:
    given = dataclasses.replace(
        Settings(), data_dir=tmp_path, oidc_cookie_secret=Secret("c" * 40), **OIDC
    )  # type: ignore[arg-type]
    assert cookie_secret(given) == "c" * 40
    assert not (tmp_path / COOKIE_SECRET_FILE).exists()
    (tmp_path / COOKIE_SECRET_FILE).write_text("short\n", encoding="utf-8")
    stored = dataclasses.replace(given, oidc_cookie_secret=None)
    with pytest.raises(CommandError) as refused:
        cookie_secret(stored)
    assert str(refused.value) == (
        f"{tmp_path / COOKIE_SECRET_FILE} holds no usable cookie secret (under 32 characters): "
        "delete it and a new one is made at the next start"
    )
    assert "short" not in str(refused.value).replace("shorter", "")


def _post(url: str, form: dict[str, str], auth: tuple[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode())
    if auth is not None:
        basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as refused:
        return json.load(refused)


def _code(provider: OidcProvider, verifier: str) -> str:
    query = {
        "client_id": CLIENT_ID, "redirect_uri": provider.redirect_uri, "response_type": "code",
        "scope": "openid email", "state": "s1", "nonce": "n1",
        "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    }  # fmt: skip
    location = provider.authorize(query)
    assert location.startswith(provider.redirect_uri + "?")
    answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert answer["state"] == "s1"
    return answer["code"]


def test_the_local_provider_refuses_what_a_real_one_would() -> None:
    """The browser test proves something only if the provider is strict: wrong credentials, a
    wrong PKCE verifier and a reused code are refused; the right exchange gets a token."""
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, "http://127.0.0.1:9/oauth2callback", ADA) as idp:
        token_url = f"{idp.issuer}/token"
        exchange = {"grant_type": "authorization_code", "redirect_uri": idp.redirect_uri}
        code = _code(idp, "v" * 43)
        wrong = _post(token_url, {**exchange, "code": code, "code_verifier": "v" * 43},
                      auth=(CLIENT_ID, "not-the-secret"))  # fmt: skip
        assert wrong["error"] == "invalid_client"
        bad_pkce = _post(token_url, {**exchange, "code": code, "code_verifier": "w" * 43},
                         auth=(CLIENT_ID, CLIENT_SECRET))  # fmt: skip
        assert bad_pkce["error"] == "invalid_grant"
        code = _code(idp, "v" * 43)
        good = _post(token_url, {**exchange, "code": code, "code_verifier": "v" * 43},
                     auth=(CLIENT_ID, CLIENT_SECRET))  # fmt: skip
        assert good["token_type"] == "Bearer" and good["id_token"].count(".") == 2
        again = _post(token_url, {**exchange, "code": code, "code_verifier": "v" * 43},
                      auth=(CLIENT_ID, CLIENT_SECRET))  # fmt: skip
        assert again["error"] == "invalid_grant"
        assert idp.userinfo(f"Bearer {good['access_token']}")["email"] == "ada@example.com"
        assert idp.refused == [
            "invalid_client: wrong client credentials",
            "invalid_grant: the PKCE verifier does not match",
            "invalid_grant: unknown or used code",
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def data_dir(small_sim: Simulation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("oidc")
    synced_snapshot(small_sim, path).close()
    return path


@pytest.fixture
def served(data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, OidcProvider, Path]]:
    """`paylens serve` with OIDC login against the local provider (the client secret from a
    file, as a deployment would give it): the dashboard's URL, the provider, and the log."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    secret_file = tmp_path / "client_secret"
    secret_file.write_text(CLIENT_SECRET + "\n", encoding="utf-8")
    log = tmp_path / "serve.log"
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, f"{url}/oauth2callback", ADA) as provider:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_"))}
        env = {
            **base,
            "PAYLENS_DATA_DIR": str(data_dir),
            "PAYLENS_DASHBOARD_PORT": str(port),
            "PAYLENS_OIDC_ISSUER": provider.issuer,
            "PAYLENS_OIDC_CLIENT_ID": CLIENT_ID,
            "PAYLENS_OIDC_CLIENT_SECRET_FILE": str(secret_file),
        }
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_healthy(url, process)
                yield url, provider, log
            finally:
                stop(process)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        yield tab
        context.close()
        chromium.close()


def _settle(page: Any) -> None:
    for _ in range(2):  # twice, a moment apart: a rerun may follow the first run
        page.wait_for_function(SETTLED)
        page.wait_for_timeout(400)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_a_visitor_logs_in_through_the_provider_lands_on_the_overview_and_logs_out(
    served: tuple[str, OidcProvider, Path], page: Any, data_dir: Path, tmp_path: Path
) -> None:
    url, provider, log = served
    page.goto(url)
    login = page.get_by_role("button", name="Log in")
    login.wait_for()
    _settle(page)
    page.screenshot(path=str(tmp_path / "login.png"))
    assert page.locator("[data-testid=stMetric]").count() == 0  # no data before the login
    assert page.locator("[data-testid=stSidebarNav]").count() == 0

    login.click()
    page.wait_for_selector("[data-testid=stMetric]")  # through the provider and back
    _settle(page)
    page.screenshot(path=str(tmp_path / "overview.png"))
    assert urllib.parse.urlsplit(page.url).path == "/"
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("[data-testid=stMain] h1").first.inner_text().strip() == "Overview"
    labels = page.locator("[data-testid=stMetricLabel]").all_inner_texts()
    assert "MRR" in [label.strip() for label in labels]
    sidebar = page.locator("[data-testid=stSidebar]")
    assert "Logged in as Ada Lovelace · ada@example.com" in sidebar.inner_text()
    assert provider.refused == []
    assert provider.seen[:1] == ["GET /.well-known/openid-configuration"]
    assert {"GET /authorize", "POST /token", "GET /jwks"} <= set(provider.seen)
    assert [set(form) for form in provider.token_requests] == [
        {"grant_type", "code", "redirect_uri", "code_verifier"}  # PKCE; the secret in Basic
    ]

    page.reload()  # a new session: the login cookie still admits
    page.wait_for_selector("[data-testid=stMetric]")
    _settle(page)
    assert "Logged in as Ada Lovelace" in sidebar.inner_text()

    sidebar.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()  # out at the provider and back
    _settle(page)
    assert "GET /logout" in provider.seen
    assert page.locator("[data-testid=stMetric]").count() == 0
    assert page.locator("[data-testid=stException]").count() == 0

    secrets_file = data_dir / AUTH_SECRETS_FILE
    assert _mode(secrets_file) == 0o600 and _mode(data_dir / COOKIE_SECRET_FILE) == 0o600
    made = (data_dir / COOKIE_SECRET_FILE).read_text(encoding="utf-8").strip()
    shown = page.content() + log.read_text(encoding="utf-8", errors="replace")
    for secret in (CLIENT_SECRET, made):
        assert secret not in shown
