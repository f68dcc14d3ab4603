"""The Alerts page, headless (AppTest), on a warehouse `paylens sync` filled with a rules file
whose lines the sandbox's account crosses: what fires and what is pending, each with its value
now against the line it crossed, as `paylens report` computes the value."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sandbox.api.server import SandboxServer
from tests.conftest import run_paylens

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "alerts_page.py")
RULES = """
[rules.mrr_floor]
metric = "mrr.by_currency.usd"
direction = "below"
warn = 1000000
pending = "6h"

[rules.too_many_customers]
metric = "active_customers"
direction = "above"
warn = 2
critical = 3
"""


@pytest.fixture(scope="module")
def synced(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("alerts-page")
    rules = data_dir / "alerts.toml"
    rules.write_text(RULES, encoding="utf-8")
    env = {
        "STRIPE_API_KEY": sandbox.api_key,
        "PAYLENS_STRIPE_API_BASE": sandbox.url,
        "PAYLENS_DATA_DIR": str(data_dir),
        "PAYLENS_SYNC_RATE": "400",
        "PAYLENS_ALERTS_FILE": str(rules),
    }
    done = run_paylens("sync", env=env)
    assert done.returncode == 0, done.stderr
    return env


@pytest.fixture(scope="module")
def report(synced: dict[str, str]) -> dict[str, object]:
    done = run_paylens("report", "--json", env=synced)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _shown(markdown: str) -> str:
    """An element's markdown as it reads on the page (account text comes markdown-escaped)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _page(synced: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AppTest:
    for name, value in synced.items():
        if name.startswith("PAYLENS_"):
            monkeypatch.setenv(name, value)
    page = AppTest.from_file(PAGE, default_timeout=30)
    page.run()
    assert not page.exception
    return page


def test_a_firing_alert_shows_its_value_against_the_line_it_crossed(
    synced: dict[str, str], report: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _page(synced, monkeypatch)
    customers = report["active_customers"]
    assert isinstance(customers, int) and customers > 3  # past the critical line
    (shown,) = [_shown(box.value) for box in page.error if "too_many_customers" in box.value]
    assert shown.startswith("**CRITICAL** · `too_many_customers` · Active customers")
    assert f" · now {customers:,} (above 3) · since " in shown


def test_a_pending_alert_is_listed_apart_with_its_value_line_and_wait(
    synced: dict[str, str], report: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _page(synced, monkeypatch)
    headers = [header.value for header in page.subheader]
    assert any(header.startswith("Pending") for header in headers), headers
    (shown,) = [_shown(box.value) for box in page.info if "mrr_floor" in box.value]
    by_currency = report["mrr_by_currency"]
    assert isinstance(by_currency, dict)
    mrr = by_currency["usd"]
    assert 0 < mrr < 1_000_000
    assert shown.startswith("**WARNING** · `mrr_floor` · Mrr: by currency: usd")
    assert f" · now {mrr:,.2f} (below 1,000,000.00) · since " in shown
    assert shown.endswith(" · fires after 6h")
    assert not any("mrr_floor" in box.value for box in [*page.error, *page.warning])
