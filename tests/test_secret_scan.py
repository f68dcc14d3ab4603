"""A secret scan: Stripe echoes the whole API key in an error, and the key is found nowhere.

A small scenario is synced over real HTTP by the real `paylens sync`; then the sandbox's `echo`
fault (a 400 quoting the request's `Authorization` header) fails the next runs: one more
`paylens sync`, and one in-process cycle whose alert job posts `sync_failing` (two failures in a
row, with the run's error as its detail) to the Slack stand-in. The scan then reads every log
line those commands wrote, `paylens sync status` (text and JSON), every text column of every
table of the master file and of each snapshot, the Webhooks & sync page (AppTest) and each
payload Slack received: none holds the key.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from app.alerting import AlertJob
from app.service import open_master, sync_and_publish
from app.settings import Secret
from sandbox.api.server import start_server
from sandbox.scenario import example, load_scenario, simulate_scenario
from sandbox.slack_standin import start_slack_standin
from sync.scrub import REDACTED
from tests.app.pages import run_page
from tests.conftest import run_paylens, settings_for

KEY = "sk_test_SecretScan4242abcdefABCDEF0123"
HEALTH_PAGE = str(Path(__file__).resolve().parents[1] / "app" / "views" / "health.py")


@dataclass
class Scanned:
    data_dir: Path
    logs: list[str]  # stderr of each `paylens sync`
    status: list[str]  # `paylens sync status`, text and --json
    slack: list[str]  # each payload the stand-in accepted, as JSON
    echoed: str  # what the echo fault answers, read directly


def _env(url: str, data_dir: Path, slack: str) -> dict[str, str]:
    return {
        "STRIPE_API_KEY": KEY,
        "PAYLENS_STRIPE_API_BASE": url,
        "PAYLENS_DATA_DIR": str(data_dir),
        "SLACK_WEBHOOK_URL": slack,
        "PAYLENS_SYNC_RATE": "400",
        "PAYLENS_SYNC_ENDPOINT_RATE": "200",
    }


def _echo_body(url: str) -> str:
    request = urllib.request.Request(
        f"{url}/v1/customers", headers={"Authorization": f"Bearer {KEY}"}
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        return str(error.read().decode())
    raise AssertionError("the echo fault answered 200")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    """The sandbox on a hand-moved live clock, echoing from wall second 100 on (so the
    failed runs come after the good one on the account's clock too)."""
    data_dir = tmp_path_factory.mktemp("secret_scan")
    sim = simulate_scenario(load_scenario(example("spec_example")))
    wall = [0.0]
    with (
        start_server(
            sim, api_key=KEY, faults="echo=1,window=wall:100-10000", speed=1.0,
            wall_clock=lambda: wall[0],
        ) as server,
        start_slack_standin() as standin,
    ):  # fmt: skip
        env = _env(server.url, data_dir, standin.url)
        first = run_paylens("sync", env=env)
        assert first.returncode == 0, first.stderr
        wall[0] = 200.0
        failed = run_paylens("sync", env=env)
        assert failed.returncode == 1, failed.stderr
        wall[0] = 300.0
        settings = settings_for(server, data_dir, slack_webhook_url=Secret(standin.url))
        con = open_master(settings)
        try:
            result = sync_and_publish(settings, con=con, before_publish=[AlertJob(settings)])
        finally:
            con.close()
        assert result.status == "failed"
        status = [run_paylens("sync", "status", env=env),
                  run_paylens("sync", "status", "--json", env=env)]  # fmt: skip
        assert [done.returncode for done in status] == [0, 0]
        yield Scanned(
            data_dir,
            [first.stderr, failed.stderr],
            [done.stdout + done.stderr for done in status],
            [json.dumps(message, ensure_ascii=False) for message in standin.messages],
            _echo_body(server.url),
        )


def _text_cells(path: Path) -> list[str]:
    """Every VARCHAR and JSON value of every table in the DuckDB file at `path`."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'JSON') AND table_schema = 'main'"
        ).fetchall()
        cells = []
        for table, column in columns:
            rows = con.execute(f'SELECT "{column}"::VARCHAR FROM "{table}"').fetchall()
            cells += [value for (value,) in rows if value is not None]
        return cells
    finally:
        con.close()


def test_the_echo_fault_does_quote_the_whole_key(scanned: Scanned) -> None:
    assert f"Authorization: Bearer {KEY}" in scanned.echoed


def test_the_failed_runs_are_recorded_with_the_key_redacted(scanned: Scanned) -> None:
    con = duckdb.connect(str(scanned.data_dir / "master.duckdb"), read_only=True)
    try:
        errors = con.execute(
            "SELECT error FROM sync_runs WHERE status = 'failed' ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()
    assert len(errors) == 2
    for (error,) in errors:
        assert error.endswith(f"cannot use the header Authorization: {REDACTED}"), error


def test_no_log_line_holds_the_key(scanned: Scanned) -> None:
    assert any("sync incremental failed" in log for log in scanned.logs), scanned.logs
    for log in scanned.logs:
        assert KEY not in log and "Bearer" not in log


def test_sync_status_does_not_show_the_key(scanned: Scanned) -> None:
    assert any(REDACTED in output for output in scanned.status), scanned.status
    for output in scanned.status:
        assert KEY not in output


def test_no_table_of_the_master_or_of_a_snapshot_holds_the_key(scanned: Scanned) -> None:
    files = [
        scanned.data_dir / "master.duckdb",
        *sorted(scanned.data_dir.glob("snapshots/*.duckdb")),
    ]
    assert len(files) >= 3  # the master, the good sync's snapshot, the failed cycle's
    for path in files:
        cells = _text_cells(path)
        assert not [cell for cell in cells if KEY in cell], path
    for path in (files[0], files[-1]):  # the failed runs are in them
        assert any(REDACTED in cell for cell in _text_cells(path)), path


def test_the_slack_alert_about_the_failures_does_not_hold_the_key(scanned: Scanned) -> None:
    failing = [payload for payload in scanned.slack if "sync_failing" in payload]
    assert failing and REDACTED in failing[0]  # the run's error is the alert's detail
    for payload in scanned.slack:
        assert KEY not in payload


def test_the_health_page_does_not_show_the_key(
    scanned: Scanned, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(HEALTH_PAGE, monkeypatch, scanned.data_dir, {}, None)
    shown = [str(element.value) for element in (*at.markdown, *at.caption, *at.error,
                                                 *at.warning, *at.info)]  # fmt: skip
    shown += [frame.value.to_csv() for frame in at.dataframe]
    assert any("Authorization" in text for text in shown), shown  # the error is on the page
    assert not [text for text in shown if KEY in text]
