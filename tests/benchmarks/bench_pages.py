"""Dashboard pages in a real browser: each page of `paylens serve`, cold and warm, on a published
snapshot of `demo` (or `large`).

SPEC §9: on `large` a page ≤ 3 s cold and ≤ 1 s warm. The warehouse is bench_metrics' (the sync's
own ingest of the simulation, no HTTP; BENCH_METRICS_KEEP reuses a kept one), its history rebuilt
and MRR tables stored; then what the service adds before it publishes: the run in `sync_runs`
(Stripe's clock at the simulation's now, so the pages default to the account's day as after a
real sync) and one alert cycle (`AlertJob`, the built-in rules, no Slack). `paylens serve`
(the dashboard alone, over the data directory) serves the snapshot; Debian's chromium, driven by
playwright, opens each page of `ui.available_pages()`.

A page is settled when its script has finished, no skeleton and no running indicator is shown,
and every visible Plotly chart has drawn its `.main-svg`, and it stays so for STABLE_MS (a rerun
may follow the first run). The time is from navigation (the document's time origin) to the last
moment it became settled, read in the page. Cold: the page's first open on a newly started
server (empty Streamlit caches), in a new browser context; warm: the best of the next WARM_RUNS
opens, each in a new tab (a new session; Streamlit's caches and the browser's are warm); new
snapshot: one more open after a new snapshot is published and AFTER_PUBLISH_S have passed, as
after each sync (the cache key changes; the dashboard's warmer, `app.warm`, has recomputed what
the opens before asked for). Floor rows: the same method on bare Streamlit scripts.
BENCH_PAGES_PRESET picks the preset: `demo` by default, `large` for the SPEC's figures
(~15 minutes and ~10 GB to build, a few minutes from a kept copy).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from app.alerting import AlertJob
from app.settings import Settings
from app.ui import PageSpec, available_pages
from metrics.refresh import refresh
from sync.engine import RunResult
from sync.history import rebuild_history
from sync.snapshots import publish
from sync.store import CLOCK, set_state, transaction

# bench_metrics' warehouse builder (and its BENCH_METRICS_KEEP copy), shared on purpose
from tests.app.serving import stop, wait_healthy
from tests.benchmarks.bench_metrics import _warehouse
from tests.benchmarks.common import Row

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; playwright never downloads a browser
WARM_RUNS = 3
AFTER_PUBLISH_S = 30  # a new snapshot, then this long before the page is opened again
STABLE_MS = 600
TIMEOUT_MS = 120_000
VIEWPORT = {"width": 1400, "height": 1400}
# The floor: Streamlit alone, a title and a line; and a title with one small Plotly chart (the
# first chart on a page loads Plotly's bundle, ~4.7 MB of JavaScript, in every new tab).
FLOORS = (
    ("a title only", 'st.title("floor")\nst.write("nothing else")'),
    ("a title and one Plotly chart",
     'import plotly.graph_objects as go\nst.title("floor")\n'
     "st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))"),
)  # fmt: skip
# Installed in every page before its scripts: on each animation frame, whether the page is
# settled, and the moment (ms from navigation) it last became so (null while it is not).
WATCH = """(() => {
  const shown = selector => document.querySelector(selector) !== null;
  const settled = () => {
    if (!shown('[data-testid=stApp][data-test-script-state=notRunning]')) return false;
    if (!shown('[data-testid=stMain] h1')) return false;
    if (shown('[data-testid=stSkeleton], [data-testid=stStatusWidget]')) return false;
    return [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
      .filter(chart => chart.offsetParent !== null)
      .every(chart => chart.querySelector('.main-svg'));
  };
  window.__settledAt = null;
  const tick = () => {
    if (!settled()) window.__settledAt = null;
    else if (window.__settledAt === null) window.__settledAt = performance.now();
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""
STABLE = (
    f"() => window.__settledAt !== null && performance.now() - window.__settledAt > {STABLE_MS}"
)
CHARTS = """() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
    .filter(chart => chart.querySelector('.main-svg')).length"""


@dataclasses.dataclass(frozen=True)
class Opened:
    """One open of a page: seconds from navigation to settled (None: not within TIMEOUT_MS),
    charts drawn, and the first line of an exception shown, if any."""

    seconds: float | None
    charts: int
    exception: str | None


def _preset() -> str:
    return os.environ.get("BENCH_PAGES_PRESET", "demo")


def rows() -> list[Row]:
    preset = _preset()
    if not CHROMIUM.exists():
        return [Row("dashboard: pages in the browser", "skipped", f"no chromium at {CHROMIUM}")]
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(
            Settings(), data_dir=Path(tmp), fx_rates_file=ROOT / "docs/examples/fx_rates.csv"
        )
        found = [_published(preset, settings)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                found += [_floor_row(browser, Path(tmp), name, body) for name, body in FLOORS]
                found += [_page_row(browser, settings, spec, preset) for spec in available_pages()]
            finally:
                browser.close()
    return found


def _published(preset: str, settings: Settings) -> Row:
    """Build the warehouse, add what a sync and the service record, publish; the setup row.
    Steps: bench_metrics' warehouse; the history rebuild and the MRR tables; the sync run and
    Stripe's clock; one alert cycle; the snapshot."""
    kept = os.environ.get("BENCH_METRICS_KEEP")
    master, now, setup = _warehouse(preset, settings.master_path, Path(kept) if kept else None)
    rebuild_history(master, now)
    refresh(master)
    machine_now = datetime.now(UTC)
    _record_sync(master, now, machine_now)
    result = RunResult(uuid.uuid4().hex, "backfill", "ok", 0, account_time=now)
    AlertJob(settings)(master, result)
    publish(master, settings.master_path, settings.snapshot_dir, machine_now)
    master.close()
    return Row(f"dashboard: warehouse `{preset}`", setup[0], f"{setup[1]}; published")


def _record_sync(con: duckdb.DuckDBPyConnection, now: datetime, machine_now: datetime) -> None:
    """The ingest as the finished backfill it stands for (no HTTP: no reads), and Stripe's clock
    (the simulation's `now`) against the machine's, as `sync.engine` records them."""
    naive = now.astimezone(UTC).replace(tzinfo=None)
    with transaction(con):
        con.execute(
            "INSERT INTO sync_runs (run_id, kind, started_at, finished_at, status, reads, "
            "account_time) VALUES (?, 'backfill', ?, ?, 'ok', 0, ?)",
            [uuid.uuid4().hex, naive, naive, naive],
        ).fetchall()
        offset = round((now - machine_now).total_seconds(), 3)
        set_state(con, CLOCK, {"offset_seconds": offset}, now)


def _floor_row(browser: Any, tmp: Path, name: str, body: str) -> Row:
    """The framework's own time, measured the same way: a Streamlit script of `body` alone
    (no data, no paylens), served by `streamlit run`; what no page can be faster than."""
    script = tmp / f"floor_{name.split()[0]}.py"
    script.write_text(f"import streamlit as st\n{body}\n", encoding="utf-8")
    port = _free_port()
    command = ["-m", "streamlit", "run", str(script), "--server.headless=true",
               f"--server.port={port}", "--server.address=127.0.0.1"]  # fmt: skip
    with _serving(command, {}, port) as url:
        opens = _opens(browser, url + "/")
    warm = [opened.seconds for opened in opens[1:] if opened.seconds is not None]
    result = f"{_seconds(opens[0].seconds)} / {_seconds(min(warm, default=None))} s"
    return Row(f"dashboard: floor, {name}, cold / warm", result, "bare Streamlit, same method")


def _opens(browser: Any, url: str, then: Callable[[], None] | None = None) -> list[Opened]:
    """The cold open of `url` and WARM_RUNS warm ones, each in a new tab of one context; with
    `then`, it is called after them and the page opened once more."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(script=WATCH)
    try:
        opens = [_open(context, url) for _ in range(1 + WARM_RUNS)]
        if then is not None:
            then()
            opens.append(_open(context, url))
        return opens
    finally:
        context.close()


def _republish(settings: Settings) -> None:
    """What the next sync cycle does for the readers: a new snapshot (of the same master), then
    AFTER_PUBLISH_S seconds, as a user opens a page some time after a sync."""
    master = duckdb.connect(str(settings.master_path))
    try:
        publish(master, settings.master_path, settings.snapshot_dir, datetime.now(UTC))
    finally:
        master.close()
    time.sleep(AFTER_PUBLISH_S)


def _page_row(browser: Any, settings: Settings, spec: PageSpec, preset: str) -> Row:
    """One page: cold on a newly started server, then warm, each open in a new tab."""
    path = "/" if spec.url_path == "overview" else f"/{spec.url_path}"
    with _serve(settings) as url:
        opens = _opens(browser, url + path, then=lambda: _republish(settings))
    warm = [opened.seconds for opened in opens[1:-1] if opened.seconds is not None]
    result = (
        f"{_seconds(opens[0].seconds)} / {_seconds(min(warm, default=None))} / "
        f"{_seconds(opens[-1].seconds)} s"
    )
    notes = f"`{preset}`; {opens[0].charts} charts; target ≤ 3 s cold, ≤ 1 s warm"
    if len(warm) < WARM_RUNS or None in (opens[0].seconds, opens[-1].seconds):
        notes += f"; not settled within {TIMEOUT_MS // 1000} s: {_seconds(None)}"
    failed = next((opened.exception for opened in opens if opened.exception), None)
    if failed is not None:
        notes += f"; EXCEPTION SHOWN: {failed}"
    return Row(f"dashboard: {path} in the browser, cold / warm / new snapshot", result, notes)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _open(context: Any, url: str) -> Opened:
    """Open `url` in a new tab, wait until it has settled and stayed so; close the tab."""
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    try:
        tab.goto(url)
        try:
            tab.wait_for_function(STABLE, polling="raf")
            seconds: float | None = float(tab.evaluate("() => window.__settledAt")) / 1000
        except PlaywrightTimeout:
            seconds = None
        exception = tab.locator("[data-testid=stException]")
        shown = exception.first.inner_text().splitlines()[0] if exception.count() else None
        return Opened(seconds, int(tab.evaluate(CHARTS)), shown)
    finally:
        tab.close()


@contextmanager
def _serve(settings: Settings) -> Iterator[str]:
    """`paylens serve` over the data directory, on a free loopback port; yields its URL."""
    port = _free_port()
    env = {
        "PAYLENS_DATA_DIR": str(settings.data_dir),
        "PAYLENS_FX_RATES_FILE": str(settings.fx_rates_file),
        "PAYLENS_DASHBOARD_PORT": str(port),
    }
    with _serving(["-m", "app.cli", "serve"], env, port) as url:
        yield url


@contextmanager
def _serving(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """`python *command` with `env` over the environment (without its PAYLENS_ and STRIPE_
    variables), answering on `port`; yields its URL and stops it after."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_"))}
    process = subprocess.Popen(
        [sys.executable, *command],
        env={**base, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        stop(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
