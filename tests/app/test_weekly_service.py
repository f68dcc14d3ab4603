"""The weekly digest as the running service posts it: `Service.run` on a thread, syncing the
weekly scenario (tests/metrics/scenario_files/weekly.toml; its upgrade wave is 2025-W11)
served on a hand-moved clock, posting to a real local HTTP server standing in for Slack.

The scenario is played to Sunday 2025-03-16 23:59:59 UTC, and the account's time zone is
Asia/Tokyo (UTC+9), so the sandbox's clock starts one second before Monday 09:00 there, the
default schedule: moving it one second makes the digest of 2025-W11 due. The clock is the
sandbox's own (the account's, which the digest is scheduled on); the service runs a cycle a
second of real time and the tests wait for cycles that saw the time they set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from alerts.digest import Schedule, digest_blocks
from alerts.store import OutboxRow, outbox
from app.scheduler import Service
from app.settings import Secret, Settings, SettingsError, load_settings
from app.weekly import review_for
from metrics.weekly_model import IsoWeek
from sandbox.scenario import load_scenario, simulate_scenario
from sandbox.slack_standin import SlackStandin
from tests.app.hand_clock import served_by_hand
from tests.metrics.scenarios import OWN

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2025, 3, 16, 23, 59, 59, tzinfo=dt.UTC)  # Monday 08:59:59 in Tokyo
DUE = START + dt.timedelta(seconds=1)  # Monday 09:00 in Tokyo
W11 = IsoWeek(2025, 11)
DASHBOARD = "http://127.0.0.1:8501"


@dataclasses.dataclass
class Account:
    settings: Settings
    standin: SlackStandin
    wall: list[float]

    def at(self, moment: dt.datetime) -> None:
        """Move the sandbox's clock to `moment`."""
        self.wall[0] = (moment - START).total_seconds()

    def digests(self) -> list[dict[str, Any]]:
        """The digests Slack accepted, in order."""
        return [m for m in self.standin.messages if m["text"].startswith("Weekly review")]

    def digest_posts(self) -> list[int]:
        """The answers to every post of a digest (status 0: none)."""
        return [r.status for r in self.standin.requests if "Weekly review" in r.body]

    def rows(self) -> list[OutboxRow]:
        """The digest rows of the outbox (the service must not be running)."""
        con = duckdb.connect(str(self.settings.master_path), read_only=True)
        try:
            return [row for row in outbox(con) if row.key.startswith("weekly:")]
        finally:
            con.close()


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    sim = simulate_scenario(load_scenario(OWN / "weekly.toml"), until=dt.date(2025, 3, 16))
    with served_by_hand(sim) as live:
        settings = live.settings(tmp_path, dashboard_url=DASHBOARD, timezone="Asia/Tokyo")
        yield Account(settings, live.standin, live.wall)


@contextmanager
def running(settings: Settings) -> Iterator[Service]:
    """`paylens run` on a thread: a cycle every second until the block ends."""
    service = Service(settings, interval_seconds=1)
    thread = threading.Thread(target=service.run, name="paylens-run", daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stop()
        thread.join(60)
    assert not thread.is_alive()


def wait_for_cycles(service: Service, since: dt.datetime, count: int = 1) -> None:
    """Until `count` cycles have synced at or after `since` on the account's clock."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen = [c for c in list(service.cycles) if c and c.account_time and c.account_time >= since]
        if len(seen) >= count:
            assert all(c.status == "ok" for c in seen), [c.error for c in seen]
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} cycles at or after {since} within 120 s")


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within 120 s")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_running_service_posts_the_digest_once_at_the_scheduled_time(account: Account) -> None:
    with running(account.settings) as service:
        wait_for_cycles(service, START, count=2)
        assert account.digests() == []  # 08:59:59 in Tokyo: not yet
        account.at(DUE)
        wait_for_cycles(service, DUE)
        assert len(account.digests()) == 1  # sent within the cycle that found it due
        account.at(DUE + dt.timedelta(minutes=10))
        wait_for_cycles(service, DUE + dt.timedelta(minutes=10), count=3)
    account.at(DUE + dt.timedelta(hours=1))
    with running(account.settings) as again:  # a restart later the same week
        wait_for_cycles(again, DUE + dt.timedelta(hours=1), count=2)

    (digest,) = account.digests()
    assert account.digest_posts() == [200]
    assert [(r.key, r.status, r.attempts) for r in account.rows()] == [
        ("weekly:2025-W11", "sent", 1)
    ]
    con = duckdb.connect(str(account.settings.master_path), read_only=True)
    try:
        text, blocks = digest_blocks(review_for(account.settings, con, W11), base_url=DASHBOARD)
    finally:
        con.close()
    assert digest == {"text": text, "blocks": blocks}
    assert blocks[0]["text"]["text"] == "Weekly review 2025-W11"
    assert text.startswith("Weekly review 2025-W11: MRR rose $2,156.67 (+35.4%), mostly expansion")
    assert "Initech &lt;R&amp;D&gt;" in text and "<R&D>" not in str(digest)


@pytest.mark.slow
def test_the_digest_survives_a_slack_outage_and_arrives_once(account: Account) -> None:
    with running(account.settings) as service:
        wait_for_cycles(service, START)  # the cycle's own alert (a disabled endpoint) is sent
        account.standin.script(
            [(500, "internal_error"), (429, "rate_limited", {"Retry-After": "1"})]
        )
        account.at(DUE)
        wait_for_cycles(service, DUE)
        assert account.digests() == []
        # the delivery job between cycles retries: 5 s after the 500, 1 s after the 429
        wait_until(lambda: account.digests(), "the digest after the outage")
        wait_for_cycles(service, DUE, count=5)

    assert len(account.digests()) == 1
    assert account.digest_posts() == [500, 429, 200]
    (row,) = account.rows()
    assert (row.key, row.status, row.attempts) == ("weekly:2025-W11", "sent", 3)
    assert row.last_error == "429 rate_limited"  # what it recovered from


@pytest.mark.slow
def test_a_service_down_at_the_time_posts_when_it_is_back_and_a_refusal_shows_on_the_alerts_page(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synced on Sunday, down on Monday morning, back on Wednesday: its first cycle posts W11's
    digest. Slack refuses it for good (404): the row is failed with Slack's answer, never
    retried, and the Alerts page lists it with the reason."""
    with running(account.settings) as service:
        wait_for_cycles(service, START)
    assert account.digests() == []
    wednesday = DUE + dt.timedelta(days=2)
    account.at(wednesday)
    account.standin.script([(404, "no_service")] * 2)  # the cycle's alert message, the digest
    with running(account.settings) as service:
        wait_for_cycles(service, wednesday)
        assert account.digest_posts() == [404]
        wait_for_cycles(service, wednesday, count=4)

    assert account.digest_posts() == [404]
    (row,) = account.rows()
    assert (row.key, row.status, row.last_error) == ("weekly:2025-W11", "failed", "404 no_service")

    monkeypatch.setenv("PAYLENS_DATA_DIR", str(account.settings.data_dir))
    page = AppTest.from_file(str(ROOT / "app" / "views" / "alerts_page.py"), default_timeout=60)
    page.run()
    assert not page.exception
    shown = [e.value.replace("\\", "") for e in page.error]  # markdown escapes taken off
    refused = [text for text in shown if "Weekly review 2025-W11: MRR rose" in text]
    assert len(refused) == 1 and refused[0].endswith("— 404 no_service")


@pytest.mark.slow
def test_a_new_install_after_the_time_waits_for_next_weeks_digest(account: Account) -> None:
    """A first sync on Wednesday: the week's moment passed before paylens had the account, so
    no old digest arrives the moment it starts (`paylens weekly --post` posts it by hand)."""
    account.at(DUE + dt.timedelta(days=2))
    with running(account.settings) as service:
        wait_for_cycles(service, DUE + dt.timedelta(days=2), count=3)
    assert account.digests() == [] and account.rows() == []


def test_the_schedule_comes_from_the_environment_or_the_config_file_and_off_adds_no_job(
    tmp_path: Path,
) -> None:
    config = tmp_path / "paylens.toml"
    config.write_text('[paylens]\nweekly_digest = "fri 16:30"\n', encoding="utf-8")
    assert load_settings({}).weekly_digest == Schedule(0, dt.time(9, 0))
    assert load_settings({"PAYLENS_CONFIG": str(config)}).weekly_digest == Schedule(
        4, dt.time(16, 30)
    )
    assert load_settings({"PAYLENS_WEEKLY_DIGEST": "off"}).weekly_digest is None
    config.write_text('weekly_digest = "friday"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"weekly_digest in .*paylens\.toml: expected"):
        load_settings({"PAYLENS_CONFIG": str(config)})

    webhook = Settings(data_dir=tmp_path, slack_webhook_url=Secret("http://127.0.0.1:9/x"))
    service = Service(webhook)
    assert service.digest is not None and service.after_sync == [service.alerts, service.digest]
    for quiet in (dataclasses.replace(webhook, weekly_digest=None), Settings(data_dir=tmp_path)):
        service = Service(quiet)
        assert service.digest is None and service.after_sync == [service.alerts]
