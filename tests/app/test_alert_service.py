"""Alerts as the service runs them: a decline spike played on the sandbox's live clock, synced
every 5 minutes of the account's time (the default interval), evaluated and sent to a real
local HTTP server standing in for Slack.

The sandbox's wall clock is moved by hand, so each cycle sees exactly the next five minutes of
the account: the test is deterministic and takes seconds, not hours.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from alerts.decide import classify
from alerts.evaluate import evaluate
from alerts.store import outbox
from app import demo
from app.alerting import AlertJob, context_for
from app.service import open_master, sync_and_publish
from sandbox.api.server import start_server
from sandbox.scenario import example, load_scenario, simulate_scenario
from sandbox.sim import Simulation, simulate
from sandbox.slack_standin import start_slack_standin
from tests.app.hand_clock import HandClock, served_by_hand

START = dt.datetime(2025, 2, 28, 23, 59, 59, tzinfo=dt.UTC)  # the scenario's last second
INTERVAL = dt.timedelta(minutes=5)  # the default sync interval, in the account's time
SPIKE_FROM = dt.datetime(2025, 3, 1, 0, 30, tzinfo=dt.UTC)  # the first Visa BR renewal
RECOVERY = dt.datetime(2025, 3, 1, 2, 30, tzinfo=dt.UTC)


class Account:
    """The live scenario served on a hand-moved clock, synced and alerted cycle by cycle."""

    def __init__(self, live: HandClock, data_dir: Path) -> None:
        self.server, self.wall, self.standin = live.server, live.wall, live.standin
        self.settings = live.settings(data_dir, dashboard_url="http://127.0.0.1:8501")
        self.job = AlertJob(self.settings)
        self.con = open_master(self.settings)
        self.now = START

    def cycle_until(self, end: dt.datetime) -> None:
        """One cycle at every interval up to `end` (the sandbox's clock moved first)."""
        while self.now + INTERVAL <= end:
            self.now += INTERVAL
            self.wall[0] = (self.now - START).total_seconds()
            result = sync_and_publish(self.settings, con=self.con, before_publish=[self.job])
            assert result.status == "ok", result.error

    def payment_lines(self) -> list[str]:
        """The fallback line of every payment_success change in the messages Slack accepted."""
        return [
            line
            for message in self.standin.messages
            for line in message["text"].splitlines()
            if "payment_success" in line
        ]


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    sim = simulate_scenario(load_scenario(example("decline_spike_live")))
    with served_by_hand(sim) as live:
        account = Account(live, tmp_path)
        try:
            yield account
        finally:
            account.con.close()


@pytest.mark.slow
def test_a_decline_spike_fires_one_critical_naming_its_cause_and_resolves_once(
    account: Account,
) -> None:
    account.cycle_until(dt.datetime(2025, 3, 1, 3, 30, tzinfo=dt.UTC))

    lines = account.payment_lines()
    assert len(lines) == 2, lines  # nothing while it moved between the lines: no flapping
    fired, resolved = lines
    assert fired.startswith("CRITICAL") and "firing" in fired
    assert "resolved" in resolved
    body = next(m for m in account.standin.messages if "payment_success" in m["text"])
    shown = str(body["blocks"])
    for cause in ("Visa", "BR", "do_not_honor"):
        assert cause in shown
    assert "resolved after" in str(account.standin.messages[-1]["blocks"])

    # Within one interval of the spike being visible: the firing cycle is the first cycle at
    # or after the first minute whose window reads critical.
    history = account.con.execute(
        "SELECT kind, occurred_at FROM alert_transitions WHERE rule = 'payment_success' "
        "AND notify ORDER BY id"
    ).fetchall()
    assert [kind for kind, _ in history] == ["firing", "resolved"]
    fired_at = history[0][1].replace(tzinfo=dt.UTC)
    visible = _first_critical_minute(account, SPIKE_FROM, fired_at)
    assert SPIKE_FROM <= visible <= fired_at < visible + INTERVAL
    resolved_at = history[1][1].replace(tzinfo=dt.UTC)
    assert RECOVERY <= resolved_at <= RECOVERY + 2 * INTERVAL


def _first_critical_minute(account: Account, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    rule = next(r for r in account.job.rules if r.name == "payment_success")
    minute = start
    while minute <= end:
        context = context_for(account.con, account.settings, minute)
        (reading,) = evaluate(account.con, [rule], context)
        if classify(rule, reading) == "critical":
            return minute
        minute += dt.timedelta(minutes=1)
    raise AssertionError(f"no minute in [{start}, {end}] reads critical")


@pytest.mark.slow
def test_a_slack_outage_loses_nothing_and_a_refused_message_does_not_stop_the_rest(
    account: Account,
) -> None:
    # Slack answers 503 for an hour of cycles from the first one (the disabled endpoint and
    # the spike's firing are queued meanwhile), then 429 with Retry-After, then 200.
    account.standin.script([(503, "service unavailable")] * 1000)
    account.cycle_until(dt.datetime(2025, 3, 1, 1, 0, tzinfo=dt.UTC))
    queued = outbox(account.con, "queued")
    assert len(queued) >= 2
    assert account.standin.messages == []
    account.standin.script([(429, "rate_limited", {"Retry-After": "1"})], replace=True)
    account.cycle_until(dt.datetime(2025, 3, 1, 3, 30, tzinfo=dt.UTC))
    _deliver_everything(account)

    rows = outbox(account.con)
    assert [row.status for row in rows] == ["sent"] * len(rows)
    received = [message["text"] for message in account.standin.messages]
    assert received == [row.summary for row in rows]  # each once, in the order decided
    answered = [r.status for r in account.standin.requests if r.method == "POST"]
    assert answered.count(429) == 1 and answered[-1] == 200
    retry = next(i for i, status in enumerate(answered) if status == 429)
    gap = account.standin.requests[retry + 1].at - account.standin.requests[retry].at
    assert gap >= 1.0  # Retry-After honoured

    # A permanent refusal: the row fails with Slack's reason, the next message still goes out.
    account.standin.script([(404, "no_service")])
    account.con.execute("DELETE FROM alert_state WHERE rule = 'endpoint_disabled'")
    account.cycle_until(account.now + INTERVAL)  # it fires again: a new message
    account.con.execute("DELETE FROM alert_state WHERE rule = 'endpoint_disabled'")
    account.cycle_until(account.now + INTERVAL)
    _deliver_everything(account)
    failed = outbox(account.con, "failed")
    assert len(failed) == 1 and "no_service" in (failed[0].last_error or "")
    assert outbox(account.con)[-1].status == "sent"


def _deliver_everything(account: Account, timeout: float = 90) -> None:
    """What the delivery job does between cycles, until nothing is queued."""
    deadline = time.monotonic() + timeout
    while outbox(account.con, "queued") and time.monotonic() < deadline:
        account.job.deliver(account.con)
        time.sleep(0.2)
    assert not outbox(account.con, "queued")


def test_alert_tables_are_in_the_published_snapshot(account: Account) -> None:
    account.cycle_until(START + INTERVAL)
    snapshot = sorted((account.settings.snapshot_dir).glob("snap_*.duckdb"))[-1]
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        states = con.execute("SELECT rule, status FROM alert_state ORDER BY rule").fetchall()
    finally:
        con.close()
    assert ("endpoint_disabled", "firing") in states


@pytest.mark.slow
def test_a_service_killed_between_recording_and_sending_sends_the_message_once_after_restart(
    small_sim: Simulation, tmp_path: Path
) -> None:
    with start_server(small_sim) as server, start_slack_standin() as standin:
        standin.hold()  # Slack hangs: the first message is recorded and its post waits
        env = {
            "STRIPE_API_KEY": server.api_key,
            "PAYLENS_STRIPE_API_BASE": server.url,
            "PAYLENS_DATA_DIR": str(tmp_path),
            "SLACK_WEBHOOK_URL": standin.url,
        }
        first = _run_service(env)
        assert standin.wait_for_requests(1, timeout=90)
        first.kill()  # SIGKILL: no clean-up of any kind
        first.wait(timeout=30)
        standin.release()
        second = _run_service(env)
        try:
            assert standin.wait_for_messages(1, timeout=90)
            time.sleep(6)  # a delivery round and more: nothing else arrives
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        assert len(standin.messages) == 1
        assert [r.status for r in standin.requests if r.method == "POST"] == [0, 200]
    con = duckdb.connect(str(tmp_path / "master.duckdb"), read_only=True)
    try:
        rows = outbox(con)
    finally:
        con.close()
    assert [(row.status, row.summary) for row in rows] == [("sent", standin.messages[0]["text"])]


def _run_service(env: dict[str, str]) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run"],
        cwd=Path(__file__).resolve().parents[2],
        env={**base, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_the_demo_account_fires_the_payment_alert_at_its_spike_and_resolves_it(
    tmp_path: Path,
) -> None:
    """`make demo`'s incidents on its own preset, synced every demo interval of account time:
    the newcomer sees payment_success fire (naming Visa, US, do_not_honor) and resolve."""
    now = int(dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC).timestamp())
    incidents = demo.demo_incidents(now)
    sim = simulate(42, dt.date(2026, 12, 7), "demo", now=now, incidents=incidents)
    spike = incidents[-1]
    interval = dt.timedelta(seconds=demo.DEMO_INTERVAL_SECONDS * demo.DEMO_SPEED)
    with served_by_hand(sim) as live:
        wall, standin = live.wall, live.standin
        settings = live.settings(tmp_path, sync_interval_seconds=demo.DEMO_INTERVAL_SECONDS)
        job = AlertJob(settings, account_speed=demo.DEMO_SPEED)
        con = open_master(settings)
        try:
            at = 0
            while now + at <= spike.end + 3 * 3600:
                wall[0] = float(at)
                result = sync_and_publish(settings, con=con, before_publish=[job])
                assert result.status == "ok", result.error
                at += int(interval.total_seconds())
            changes = con.execute(
                "SELECT kind, level, occurred_at FROM alert_transitions "
                "WHERE rule = 'payment_success' AND notify ORDER BY id"
            ).fetchall()
            stale = con.execute(
                "SELECT count(*) FROM alert_transitions WHERE rule LIKE 'sync_%' AND notify"
            ).fetchall()[0][0]
        finally:
            con.close()
    kinds = [(kind, level) for kind, level, _ in changes]
    # a cycle is half an hour of the demo account: the spike's start and end pass through the
    # warning band as its attempts enter and leave the hour's window
    assert kinds[0][0] == "firing" and kinds[-1][0] == "resolved", kinds
    assert ("escalated", "critical") in kinds or kinds[0] == ("firing", "critical"), kinds
    assert {kind for kind, _ in kinds[1:-1]} <= {"escalated", "deescalated"}, kinds
    fired = changes[0][2].replace(tzinfo=dt.UTC).timestamp()
    assert spike.start < fired <= spike.start + interval.total_seconds()
    assert stale == 0  # the sync interval is counted on the account's (faster) clock
    shown = str([m["blocks"] for m in standin.messages if "payment_success" in m["text"]])
    for cause in ("Visa", "US", "do_not_honor"):
        assert cause in shown
