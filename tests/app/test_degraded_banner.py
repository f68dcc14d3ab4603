"""Every dashboard page shows what the synced data is missing, in one banner, as plain text."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.service import sync_and_publish
from app.ui import VIEWS, available_pages, plain
from sandbox.api.server import start_server
from sandbox.sim import simulate
from tests.app.pages import run_page
from tests.conftest import PRESET, SEED, UNTIL, settings_for

FORBIDDEN = "the API key may not read refunds (403; it needs the rak_refund_read permission)"


@pytest.fixture(scope="module")
def degraded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small business synced with a key that may not read refunds."""
    data_dir = tmp_path_factory.mktemp("degraded_pages")
    with start_server(simulate(SEED, UNTIL, PRESET), faults="403=refunds") as server:
        assert sync_and_publish(settings_for(server, data_dir)).status == "degraded"
    return data_dir


@pytest.mark.parametrize("page", [page.file for page in available_pages()])
def test_every_page_shows_the_banner_of_what_is_not_synced(
    page: str, degraded_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(str(VIEWS / page), monkeypatch, degraded_dir, {}, None)
    banners = [w.value for w in at.warning if w.value.startswith("Some of the account's data")]
    assert len(banners) == 1
    text = banners[0]
    assert text.startswith(
        "Some of the account's data is not in paylens; figures that use it are short:\n- "
    )
    assert plain("refunds unavailable since ") in text
    assert text.endswith(plain(f": {FORBIDDEN}; not synced, affects refunds and refund rate"))


def test_a_page_of_a_complete_sync_shows_no_banner(
    synced_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(str(VIEWS / "overview.py"), monkeypatch, synced_dir, {}, None)
    assert not [w for w in at.warning if w.value.startswith("Some of the account's data")]
