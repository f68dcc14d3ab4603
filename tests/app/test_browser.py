"""The dashboard in a real browser: `paylens serve` on a synced `demo`, driven by the playwright
package through Debian's chromium (`executable_path`; no browser is downloaded).

Every registered page opens without an exception shown; the Overview's headline figures are
`paylens report --json`'s for the same range; a deep link restores its filters; a drill-down on
Revenue shows rows; and account text full of markup (tests/app/scenario_files/hostile.toml)
shows as typed on every page. A screenshot of each page is saved under the test's tmp_path.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.filters import account_day
from app.ui import VIEWS, WORD_JOINER, available_pages
from metrics.money import format_money
from sandbox.scenario import load_scenario, simulate_scenario
from sandbox.sim import Simulation, simulate
from sync.snapshots import SnapshotReader
from tests.app.hostile import MARKUP  # the strings hostile.toml types
from tests.app.serving import stop, wait_healthy
from tests.conftest import run_paylens
from tests.metrics.scenarios import DEMO_UNTIL, synced_snapshot

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
FX = str(ROOT / "docs" / "examples" / "fx_rates.csv")
HOSTILE = Path(__file__).with_name("scenario_files") / "hostile.toml"
SETTLED = """() => document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]')
    && !document.querySelector('[data-testid=stSkeleton]')
    && !document.querySelector('[data-testid=stStatusWidget]')"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dashboard:
    """`paylens serve` on a data directory, in its own process group, on a free port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {"PAYLENS_DATA_DIR": str(data_dir), "PAYLENS_FX_RATES_FILE": FX}
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            env={**base, **self.env, "PAYLENS_DASHBOARD_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_healthy(self.url, self.process)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: `paylens serve` stops Streamlit too."""
        stop(self.process)
        with pytest.raises(OSError):  # nothing is left serving
            urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2)

    def account_day(self) -> date:
        reader = SnapshotReader(self.data_dir / "snapshots")
        con = reader.connection()
        assert con is not None
        try:
            return account_day(con)
        finally:
            reader.close()


def _serve(sim: Simulation, data_dir: Path) -> Iterator[Dashboard]:
    synced_snapshot(sim, data_dir).close()
    dashboard = Dashboard(data_dir)
    try:
        yield dashboard
    finally:
        dashboard.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """The `demo` preset with `paylens demo`'s seed (42), synced and served."""
    yield from _serve(simulate(42, DEMO_UNTIL, "demo"), tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    sim = simulate_scenario(load_scenario(HOSTILE))
    yield from _serve(sim, tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def _open(page: Any, url: str, shots: Path | None = None, name: str = "") -> None:
    """Go to `url` and wait until the page has settled: its script finished, no skeleton, no
    running indicator (twice, a moment apart: a rerun may follow the first run)."""
    page.goto(url)
    page.wait_for_selector("[data-testid=stMain] h1")
    _settle(page)
    if shots is not None:
        _screenshot(page, shots / f"{name}.png")


def _screenshot(page: Any, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall
    as that block for the picture."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 12_000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def _settle(page: Any) -> None:
    for _ in range(2):
        page.wait_for_function(SETTLED)
        page.wait_for_timeout(400)


def _path(url_path: str) -> str:
    return "/" if url_path == "overview" else f"/{url_path}"


def _metrics(page: Any) -> dict[str, str]:
    found = {}
    for metric in page.locator("[data-testid=stMetric]").all():
        label = metric.locator("[data-testid=stMetricLabel]").inner_text().strip()
        found[label] = metric.locator("[data-testid=stMetricValue]").inner_text().strip()
    return found


def _combobox(page: Any, label: str) -> str:
    value: str = (
        page.locator("[data-testid=stSidebar]").get_by_role("combobox", name=label).input_value()
    )
    return value


def test_every_page_opens_without_an_exception(demo: Dashboard, page: Any, tmp_path: Path) -> None:
    pages = available_pages()
    assert pages[0].file == "overview.py"
    links = page.locator("[data-testid=stSidebarNav] a")
    for spec in pages:
        _open(page, demo.url + _path(spec.url_path), tmp_path, spec.url_path)
        assert page.locator("[data-testid=stException]").count() == 0, spec.title
        assert page.locator("[data-testid=stMain] h1").first.inner_text().strip() != ""
    titles = [link.inner_text().strip().splitlines()[-1] for link in links.all()]
    assert titles == [spec.title for spec in pages]  # a page not written yet is not listed
    paths = [urllib.parse.urlsplit(link.get_attribute("href")).path for link in links.all()]
    assert paths == [_path(spec.url_path) for spec in pages]  # the stable URLs


def test_the_overviews_headline_figures_are_the_reports(
    demo: Dashboard, page: Any, tmp_path: Path
) -> None:
    day = demo.account_day()
    _open(page, demo.url + "/", tmp_path, "overview")
    shown = _metrics(page)
    ran = run_paylens("report", "--json", "--as-of", day.isoformat(), env=demo.env)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    moves = report["movements"]
    net_new = moves["new"] + moves["reactivation"] + moves["expansion"]
    net_new -= moves["contraction"] + moves["churn"]
    assert report["mrr"] is not None  # the rates file converts every currency
    assert shown["MRR"] == _usd(report["mrr"])
    assert shown["Net new MRR"] == _usd(net_new, signed=True)
    assert shown["Active subscriptions"] == f"{report['active_subscriptions']:,}"
    assert shown["Payment success rate"] == f"{report['payment_success_rate']:.2%}"
    assert shown["Disputes due within 72 h"] == str(report["disputes"]["due_within_72h"])
    assert shown["Webhook delivery"] == f"{report['webhook_delivery_rate']:.2%}"
    caption = page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").first
    assert f"--since {report['since']} --as-of {report['as_of']}" in caption.inner_text()


def test_the_integration_page_shows_every_signals_evidence_and_action(
    demo: Dashboard, page: Any, tmp_path: Path
) -> None:
    ran = run_paylens("health", "--json", env=demo.env)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    _open(page, demo.url + "/integration", tmp_path, "integration")
    assert _metrics(page)["Integration score"] == f"{report['score']}/8"
    # as it reads: the word joiners `ui.plain` puts where an autolink would start are invisible
    text = page.locator("[data-testid=stMain]").inner_text().replace(WORD_JOINER, "")
    for signal in report["signals"]:
        assert signal["title"] in text
        assert f"Action: {signal['action']}" in text
        for item in signal["evidence"]:
            assert item["text"] in text, item


def _usd(value: float, *, signed: bool = False) -> str:
    text = format_money(value, "usd")
    return f"+{text}" if signed and value > 0 else text


def test_a_deep_link_restores_its_filters(demo: Dashboard, page: Any, tmp_path: Path) -> None:
    if (VIEWS / "payments.py").exists():
        _open(page, demo.url + "/payments?range=7d&brand=visa", tmp_path, "payments_deep_link")
        assert _combobox(page, "Brand") == "visa"
        wanted = {"range=7d", "brand=visa"}
    else:
        _open(page, demo.url + "/?range=7d", tmp_path, "overview_deep_link")
        wanted = {"range=7d"}
    assert _combobox(page, "Range") == "Last 7 days"
    assert page.locator("[data-testid=stException]").count() == 0
    assert wanted <= set(page.url.split("?", 1)[1].split("&"))  # the link is kept as it came


def test_a_declines_tab_is_built_when_opened_and_its_link_names_it(
    demo: Dashboard, page: Any, tmp_path: Path
) -> None:
    _open(page, demo.url + "/payments", tmp_path, "payments_declines_default")
    headers = "[data-testid=stDataFrame] [role=columnheader]"
    assert "declines_by" not in page.url
    assert page.locator(headers, has_text="Brand").count() == 0  # only the open tab is built

    page.get_by_role("tab", name="Brand").click()
    page.wait_for_url("**declines_by=Brand**")
    _settle(page)
    assert page.locator(headers, has_text="Brand").count() >= 1
    assert page.locator("[data-testid=stException]").count() == 0


def test_a_drill_down_on_revenue_shows_the_customers_behind_a_movement(
    demo: Dashboard, page: Any, tmp_path: Path
) -> None:
    if not (VIEWS / "revenue.py").exists():
        pytest.skip("the Revenue page is not there yet")
    _open(page, demo.url + "/revenue?range=12m", tmp_path, "revenue_12m")
    tables = page.locator("[data-testid=stDataFrame]")
    before = tables.count()
    period = page.locator("[data-testid=stMain]").get_by_role("combobox", name="Period")
    options = page.locator("[role=option]")
    for _ in range(10):  # a click while the page still lays out its charts may not open it
        period.click()
        page.wait_for_timeout(500)
        if period.get_attribute("aria-expanded") == "true" and options.count() > 2:
            break
    names = options.all_inner_texts()
    options.nth(len(names) - 2).click()  # the last full month; the movement is "New"
    _settle(page)
    assert period.input_value() == names[-2]
    _screenshot(page, tmp_path / "revenue_drill_down.png")
    assert page.locator("[data-testid=stException]").count() == 0
    assert tables.count() > before
    cells = tables.nth(before).locator("td[role=gridcell]")
    assert cells.count() > 0


def test_markup_in_account_text_shows_as_typed_on_every_page(
    hostile: Dashboard, page: Any, tmp_path: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    texts = []
    for spec in available_pages():
        # Revenue on its MRR-by-product tab: those bars are labelled with the product's name
        tab = "?mrr_by=By+product" if spec.url_path == "revenue" else ""
        url = hostile.url + _path(spec.url_path) + tab
        _open(page, url, tmp_path, f"hostile_{spec.url_path}")
        assert page.locator("[data-testid=stException]").count() == 0, spec.title
        rendered = page.evaluate(
            """() => ({
                scripts: [...document.querySelectorAll('script')]
                    .filter(s => s.textContent.includes('alert(1)')).length,
                bold: [...document.querySelectorAll('strong, b, em')]
                    .map(e => e.textContent).filter(t => t.includes('bold')),
                links: [...document.querySelectorAll('a')]
                    .map(a => a.getAttribute('href') || '')
                    .filter(h => h.startsWith('http://x') || h.includes('.example')),
                text: document.body.textContent,
                chart: [...document.querySelectorAll('.main-svg text')]
                    .map(t => t.textContent).filter(t => t.includes('chart')),
            })"""
        )
        if spec.url_path == "revenue":
            assert any("<i>chart</i>" in label for label in rendered["chart"]), rendered["chart"]
        assert rendered["scripts"] == 0, spec.title
        assert rendered["bold"] == [], spec.title
        # none of the account's text is a link: its URLs (evil.example, the endpoints' at
        # hooks.example.test) show as typed
        assert rendered["links"] == [], spec.title
        texts.append(rendered["text"])
    assert dialogs == []
    everything = "\n".join(texts)
    for markup in MARKUP:  # and each reached some page, as typed
        assert markup in everything, markup
