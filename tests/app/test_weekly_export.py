"""The weekly review's offline file: one self-contained HTML file that opens in headless
Chromium with the network off and draws every chart, and the PDF Chromium prints from it.

Reviews are real ones: tests/metrics/scenario_files/weekly.toml's 2025-W10 (the decline spike)
and the last complete week of tests/app/scenario_files/hostile.toml (account text full of
markup), each synced through the sandbox and published.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest

from app.errors import CommandError
from app.settings import load_settings
from app.ui import PAGES
from app.weekly import review_for
from app.weekly_charts import charts
from app.weekly_export import PAGE_TITLES, PdfError, html, pdf_bytes, write_html, write_pdf
from metrics.weekly_model import IsoWeek, WeeklyReview
from sandbox.scenario import load_scenario, simulate_scenario
from sandbox.sim import Simulation
from tests.metrics.scenarios import simulate_named, synced_snapshot

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = Path(__file__).resolve().parent / "scenario_files" / "hostile.toml"
MIXED = "<script>alert(1)</script> **bold** [link](http://x) <!channel>"
BASE = "https://paylens.example.test"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing")
# A chart has drawn when its plot holds a trace (plotly gives each plot three .main-svg layers).
DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .filter(plot => plot.querySelector('.main-svg .trace')).length"""


def _review(sim: Simulation, data_dir: Path, week: IsoWeek | None) -> WeeklyReview:
    con = synced_snapshot(sim, data_dir)
    try:
        return review_for(load_settings(), con, week)
    finally:
        con.close()


@pytest.fixture(scope="module")
def spike(tmp_path_factory: pytest.TempPathFactory) -> WeeklyReview:
    """2025-W10 of the weekly scenario: every chart has something to show."""
    return _review(simulate_named("weekly"), tmp_path_factory.mktemp("spike"), IsoWeek(2025, 10))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> WeeklyReview:
    sim = simulate_scenario(load_scenario(HOSTILE))
    return _review(sim, tmp_path_factory.mktemp("hostile"), None)


def test_the_file_inlines_plotly_once_and_loads_nothing_from_elsewhere(
    spike: WeeklyReview,
) -> None:
    page = html(spike, base_url=BASE)

    assert page.count("plotly.js v") == 1  # the library's banner: inlined once
    assert "<script src" not in page and "<link" not in page
    assert len(charts(spike)) == 4 and page.count('class="chart"') == 4
    assert page.count('<div id="chart-') == 4
    assert f'<a href="{BASE}/payments?range=custom&amp;from=2025-03-03&amp;to=2025-03-09">' in page
    assert "<title>paylens weekly review 2025-W10</title>" in page


def test_a_figures_link_is_named_after_its_dashboard_page() -> None:
    paths = {("/" if i == 0 else f"/{spec.url_path}"): spec.title for i, spec in enumerate(PAGES)}
    assert paths == PAGE_TITLES


def test_account_text_is_escaped_everywhere_in_the_file(hostile: WeeklyReview) -> None:
    page = html(hostile, base_url=BASE)

    assert MIXED in hostile.sentences[0]  # the dispute's customer reaches the narrative
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; **bold** [link](http://x) &lt;!channel&gt;"
    assert page.count(escaped) == 2  # the narrative and the disputes table
    assert "<script>alert(1)" not in page and "<!channel>" not in page


def test_write_html_replaces_a_file_whole_and_names_a_folder_it_cannot_write(
    spike: WeeklyReview, tmp_path: Path
) -> None:
    target = tmp_path / "review.html"
    target.write_text("last week's", encoding="utf-8")

    write_html(spike, target, base_url=BASE)

    assert target.read_text(encoding="utf-8") == html(spike, base_url=BASE)
    assert [path.name for path in tmp_path.iterdir()] == ["review.html"]  # no temporary left
    with pytest.raises(CommandError, match=r"cannot write .*missing.*review\.html"):
        write_html(spike, tmp_path / "missing" / "review.html", base_url=BASE)


def test_without_chromium_the_pdf_says_what_to_install_and_writes_nothing(
    spike: WeeklyReview, tmp_path: Path
) -> None:
    target = tmp_path / "review.pdf"

    with pytest.raises(PdfError, match=r"needs Chromium.*apt-get install chromium"):
        write_pdf(spike, target, base_url=BASE, chromium=tmp_path / "no-chromium")

    assert not target.exists()


@pytest.fixture
def offline_page() -> Iterator[tuple[Any, list[str], list[str]]]:
    """A Chromium tab with the network off: (the tab, every request it made, every console
    error, page error and dialog it met)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        context.route(lambda url: not url.startswith("file:"), lambda route: route.abort())
        tab = context.new_page()
        requests: list[str] = []
        problems: list[str] = []
        tab.on("request", lambda request: requests.append(request.url))
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda error: problems.append(str(error)))
        tab.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
        yield tab, requests, problems
        browser.close()


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("which", ["spike", "hostile"])
def test_the_file_opens_offline_and_draws_every_chart(
    which: str,
    request: pytest.FixtureRequest,
    offline_page: tuple[Any, list[str], list[str]],
    tmp_path: Path,
) -> None:
    review: WeeklyReview = request.getfixturevalue(which)
    target = tmp_path / f"{which}.html"
    write_html(review, target, base_url=BASE)
    tab, requests, problems = offline_page

    tab.goto(target.as_uri())
    tab.wait_for_function(f"() => ({DRAWN})() === {len(charts(review))}", timeout=30_000)

    tab.screenshot(path=str(tmp_path / f"{which}.png"), full_page=True)
    assert requests == [target.as_uri()]  # nothing else was even asked for
    assert problems == []
    assert tab.evaluate(DRAWN) == len(charts(review))
    titles = tab.locator(".chart h3").all_inner_texts()
    assert titles == [title for title, _ in charts(review)]
    narrative = tab.locator("ol.narrative li").all_inner_texts()
    assert narrative == list(review.sentences)  # account text shows as typed


@pytest.mark.slow
@needs_chromium
def test_the_pdf_has_the_narrative_the_figures_and_the_charts(
    spike: WeeklyReview, tmp_path: Path
) -> None:
    target = tmp_path / "review.pdf"

    write_pdf(spike, target, base_url=BASE)

    content = target.read_bytes()
    assert content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(content))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert " ".join(spike.sentences[0].split()) in text
    assert "Visa cards issued in BR declining with do_not_honor" in text
    assert "Payment success rate 78.71% 98.43% -19.72 pp Payments" in text
    for title, _ in charts(spike):
        assert title in text
    # text Plotly drew inside the charts: axis titles and the movements' bar labels
    assert "Succeeded ÷ attempted" in text and "Day of the week (UTC)" in text
    assert "Mon Tue Wed Thu Fri Sat Sun" in text and "MRR (USD)" in text
    assert pdf_bytes(spike, base_url=BASE).startswith(b"%PDF-")
