"""A page that fails shows the visitor Streamlit's generic message, never the exception's text,
type or traceback (source paths), under the options `paylens serve` starts Streamlit with.

The page is run headless (AppTest) in this process with those same `client.*` options set in
Streamlit's config, which is where `streamlit run --client.x=…` puts them; the failure is a real
one: a CURRENT pointer naming no snapshot, whose ValueError quotes the data directory's path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from app.dashboard_process import _streamlit_options
from app.settings import Settings

OVERVIEW = str(Path(__file__).resolve().parents[2] / "app" / "views" / "overview.py")


@pytest.fixture
def served_options() -> Iterator[dict[str, str]]:
    """Streamlit's client options as `paylens serve` passes them, restored afterwards."""
    options = {k: v for k, v in _streamlit_options(Settings()).items() if k.startswith("client.")}
    before = {key: config.get_option(key) for key in options}
    for key, value in options.items():
        config.set_option(key, value)
    yield options
    for key, value in before.items():
        config.set_option(key, value)


def _failing_page(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> AppTest:
    (data_dir / "snapshots").mkdir(parents=True)
    (data_dir / "snapshots" / "CURRENT").write_text("../../etc/passwd\n", encoding="utf-8")
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(data_dir))
    at = AppTest.from_file(OVERVIEW, default_timeout=60)
    at.run()
    return at


def test_serve_hides_every_error_detail(served_options: dict[str, str]) -> None:
    assert served_options["client.showErrorDetails"] == "none"


def test_a_failing_page_shows_only_a_generic_message(
    served_options: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = _failing_page(monkeypatch, tmp_path)

    [shown] = at.exception
    assert shown.message.startswith("This app has encountered an error.")
    assert list(shown.stack_trace) == []
    assert shown.proto.type == ""
    assert str(tmp_path) not in str(shown.proto) and ".py" not in str(shown.proto)


def test_without_the_option_the_same_failure_would_show_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The control: Streamlit's default ("full") shows what the served option hides."""
    at = _failing_page(monkeypatch, tmp_path)

    [shown] = at.exception
    assert str(tmp_path) in shown.message and shown.proto.type == "ValueError"
    assert any(".py" in line for line in shown.stack_trace)
