"""Hostile account text (tests/app/hostile.py) reaches every surface as text, never as markup.

The hostile business is served by the real sandbox and synced by the real `paylens sync`, whose
alert cycle posts to the Slack stand-in (new disputes, disputes due, with the customer's name);
`paylens weekly --post` posts the digest and `paylens weekly --html` writes the file. Then every
dashboard page is run headless (AppTest): the markdown each element receives holds the strings
escaped (`ui.plain`), tables hold them as typed, charts HTML-escaped; every Slack payload holds
them with Slack's control characters escaped; the weekly file holds them HTML-escaped.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from alerts.slack import escape
from app import ui
from sandbox.api.server import start_server
from sandbox.scenario import load_scenario, simulate_scenario
from sandbox.slack_standin import start_slack_standin
from tests.app.hostile import EXTRA, HOSTILE, MARKUP, hostile_scenario
from tests.app.pages import run_page
from tests.conftest import run_paylens

VIEWS = Path(__file__).resolve().parents[2] / "app" / "views"
# markup that would render (in markdown: unless backslash-escaped, as `ui.plain` does)
LIVE_MARKDOWN = re.compile(r"(?<!\\)<(?:script|img|!channel|http)|(?<!\\)\]\((?!\\)")
LIVE_SLACK = ("<script", "<img", "<!channel>", "<http")  # Slack parses <…> in any text
DISPUTED = EXTRA  # each extra customer disputes a charge in 2025-W11


@dataclass
class Surfaces:
    data_dir: Path
    slack: list[dict[str, Any]]
    weekly_html: str


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Surfaces]:
    root = tmp_path_factory.mktemp("hostile_text")
    sim = simulate_scenario(load_scenario(hostile_scenario(root / "hostile_text.json")))
    with start_server(sim) as server, start_slack_standin() as standin:
        env = {
            "STRIPE_API_KEY": server.api_key,
            "PAYLENS_STRIPE_API_BASE": server.url,
            "PAYLENS_DATA_DIR": str(root / "data"),
            "SLACK_WEBHOOK_URL": standin.url,
            "PAYLENS_DASHBOARD_URL": "https://paylens.example.test",
        }
        for args in (("sync",), ("weekly", "--post"), ("weekly", "--html", str(root / "w.html"))):
            done = run_paylens(*args, env=env)
            assert done.returncode == 0, (args, done.stderr)
        yield Surfaces(
            root / "data", standin.messages, (root / "w.html").read_text(encoding="utf-8")
        )


def _markdown_texts(at: AppTest) -> list[str]:
    """What each element that Streamlit renders as markdown was given."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "info", "warning",
             "error", "success")  # fmt: skip
    texts = [str(element.value) for kind in kinds for element in at.get(kind)]
    texts += [
        str(element.label) for kind in ("metric", "expander", "tab") for element in at.get(kind)
    ]
    return texts


def _cells(at: AppTest) -> str:
    return "\n".join(frame.value.to_csv() for frame in at.dataframe)


def _charts(at: AppTest) -> str:
    return "\n".join(chart.proto.spec for chart in at.get("plotly_chart"))


def test_every_page_shows_the_hostile_text_as_text(
    surfaces: Surfaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    reached: set[str] = set()
    for spec in ui.available_pages():
        at = run_page(str(VIEWS / spec.file), monkeypatch, surfaces.data_dir, {}, None)
        markdown, cells, charts = _markdown_texts(at), _cells(at), _charts(at)
        for text in markdown:
            assert not LIVE_MARKDOWN.search(text), (spec.title, text[:300])
        for chart in (json.loads(c) for c in charts.splitlines() if c):
            labels = json.dumps(chart.get("data", []), ensure_ascii=False)
            assert "<script" not in labels and "<img" not in labels, spec.title
        for hostile in HOSTILE:
            shown = (any(ui.plain(hostile) in text for text in markdown) or hostile in cells
                     or json.dumps(html.escape(hostile, quote=False))[1:-1] in charts)  # fmt: skip
            if shown:
                reached.add(hostile)
    assert sorted(reached) == sorted(HOSTILE)  # each string reached some page, as typed


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for entry in value.values():
            yield from _strings(entry)
    elif isinstance(value, list):
        for entry in value:
            yield from _strings(entry)


def test_the_slack_alerts_and_digest_carry_the_text_escaped(surfaces: Surfaces) -> None:
    texts = [text for message in surfaces.slack for text in _strings(message)]
    assert texts
    for text in texts:
        assert not [live for live in LIVE_SLACK if live in text], text[:300]
    everything = "\n".join(texts)
    for hostile in MARKUP[::3] + EXTRA[:2]:  # the ones holding Slack's control characters
        assert escape(hostile) in everything, hostile
    digest = [m for m in surfaces.slack if "Weekly review" in json.dumps(m)]
    assert len(digest) == 1


def test_the_weekly_file_carries_the_text_escaped(surfaces: Surfaces) -> None:
    page = surfaces.weekly_html
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "<!channel>" not in page and "<http://evil" not in page
    for hostile in DISPUTED:
        assert html.escape(hostile, quote=False) in page, hostile[:60]
