"""`paylens alerts …` as a user runs it: the real command in a child process, on a warehouse
synced from the sandbox by `paylens sync` (which runs the alert cycle after the sync)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.alerting import silence_store
from app.settings import load_settings
from sandbox.api.server import SandboxServer
from sandbox.slack_standin import SlackStandin, start_slack_standin
from tests.conftest import run_paylens

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synced(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a data directory that `paylens sync` filled (no Slack configured)."""
    env = {
        "STRIPE_API_KEY": sandbox.api_key,
        "PAYLENS_STRIPE_API_BASE": sandbox.url,
        "PAYLENS_DATA_DIR": str(tmp_path_factory.mktemp("alerts-cli")),
        "PAYLENS_SYNC_RATE": "400",
    }
    done = run_paylens("sync", env=env)
    assert done.returncode == 0, done.stderr
    return env


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    with start_slack_standin() as server:
        yield server


def test_rules_lists_every_built_in_rule_with_its_lines(synced: dict[str, str]) -> None:
    done = run_paylens("alerts", "rules", "--json", env=synced)
    assert done.returncode == 0, done.stderr
    rules = {rule["name"]: rule for rule in json.loads(done.stdout)}
    assert set(rules) >= {"payment_success", "webhook_delivery", "customer_churn",
                          "involuntary_share", "dispute_new", "dispute_due",
                          "endpoint_disabled", "sync_stale", "sync_failing"}  # fmt: skip
    text = run_paylens("alerts", "rules", env=synced).stdout
    assert "payment_success" in text and "< 95% warning, < 90% critical" in text


def test_a_rules_file_overrides_a_default_and_a_bad_one_is_one_error(
    synced: dict[str, str], tmp_path: Path
) -> None:
    good = tmp_path / "alerts.toml"
    good.write_text("[rules.payment_success]\nwarn = 0.97\nresolve = 0.98\n", encoding="utf-8")
    done = run_paylens(
        "alerts", "rules", "--json", env={**synced, "PAYLENS_ALERTS_FILE": str(good)}
    )
    assert done.returncode == 0, done.stderr
    (rule,) = [r for r in json.loads(done.stdout) if r["name"] == "payment_success"]
    assert rule["warn"] == 0.97

    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.payment_success]\nwarn = 95\n", encoding="utf-8")
    for command in (("alerts", "rules"), ("run",)):
        done = run_paylens(*command, env={**synced, "PAYLENS_ALERTS_FILE": str(bad)})
        assert done.returncode == 2
        (line,) = done.stderr.strip().splitlines()[-1:]
        assert line.startswith("paylens: ") and "payment_success" in line and "warn" in line
        assert "Traceback" not in done.stderr


def test_check_reads_every_rule_on_the_snapshot_and_records_nothing(
    synced: dict[str, str],
) -> None:
    before = run_paylens("alerts", "history", "--json", env=synced)
    done = run_paylens("alerts", "check", "--json", env=synced)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    by_rule = {row["rule"]: row for row in data["checks"]}
    success = by_rule["payment_success"]
    assert success["unit"] == "rate" and success["min_sample"] == 20
    assert success["reads_as"] in {"no_data", "clear", "hold", "warning", "critical"}
    assert by_rule["sync_stale"]["reads_as"] == "clear"  # checked at the time of the last sync
    assert by_rule["endpoint_disabled"]["state"] == "firing"  # the sandbox has one disabled
    after = run_paylens("alerts", "history", "--json", env=synced)
    assert after.stdout == before.stdout
    text = run_paylens("alerts", "check", env=synced).stdout
    assert "(nothing is sent)" in text and "payment_success" in text


def test_status_and_history_show_what_the_sync_decided(synced: dict[str, str]) -> None:
    status = json.loads(run_paylens("alerts", "status", "--json", env=synced).stdout)
    assert status["slack"] == "not configured"
    firing = {(s["rule"], s["status"]) for s in status["states"]}
    assert ("endpoint_disabled", "firing") in firing
    assert status["outbox"] == {"queued": 0, "sent": 0, "failed": 0}  # no webhook: nothing queued
    history = json.loads(run_paylens("alerts", "history", "--json", env=synced).stdout)
    assert any(row["rule"] == "endpoint_disabled" and row["kind"] == "firing" for row in history)
    assert "endpoint_disabled" in run_paylens("alerts", "history", env=synced).stdout


def test_silence_goes_to_its_own_store_and_shows_in_status(synced: dict[str, str]) -> None:
    done = run_paylens(
        "alerts", "silence", "endpoint_disabled", "--for", "2h", "--reason", "staging endpoint",
        env=synced,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("silenced endpoint_disabled until ")
    assert (Path(synced["PAYLENS_DATA_DIR"]) / "silences.sqlite").exists()
    status = json.loads(run_paylens("alerts", "status", "--json", env=synced).stdout)
    assert [(s["rule"], s["reason"]) for s in status["silences"]] == [
        ("endpoint_disabled", "staging endpoint")
    ]
    for args, words in (
        (("nope", "--for", "2h", "--reason", "x"), "no rule 'nope'"),
        (("endpoint_disabled", "--for", "soon", "--reason", "x"), "--for 'soon'"),
        (("endpoint_disabled", "--for", "2h", "--reason", " "), "--reason"),
    ):
        refused = run_paylens("alerts", "silence", *args, env=synced)
        assert refused.returncode == 2
        assert words in refused.stderr and "Traceback" not in refused.stderr


def test_test_sends_one_message_and_prints_slacks_answer(
    synced: dict[str, str], standin: SlackStandin
) -> None:
    env = {**synced, "SLACK_WEBHOOK_URL": standin.url}
    done = run_paylens("alerts", "test", env=env)
    assert done.returncode == 0, done.stderr
    assert "Slack answered" in done.stdout and "200" in done.stdout
    assert len(standin.messages) == 1 and "test message" in standin.messages[0]["text"]

    standin.script([(404, "no_service")])
    refused = run_paylens("alerts", "test", env=env)
    assert refused.returncode == 1
    assert "no_service" in refused.stdout
    assert standin.url not in refused.stdout + refused.stderr  # the URL is a secret

    unset = run_paylens("alerts", "test", env=synced)
    assert unset.returncode == 2 and "SLACK_WEBHOOK_URL is not set" in unset.stderr


def test_a_malformed_webhook_url_is_refused_without_showing_it(synced: dict[str, str]) -> None:
    done = run_paylens("alerts", "test", env={**synced, "SLACK_WEBHOOK_URL": "hooks-secret-42"})
    assert done.returncode == 2
    assert "SLACK_WEBHOOK_URL must be an http(s) URL" in done.stderr
    assert "hooks-secret-42" not in done.stderr


def test_alerts_before_any_sync_is_one_clear_error(tmp_path: Path) -> None:
    done = run_paylens("alerts", "check", env={"PAYLENS_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert "nothing has been synced" in done.stderr and "Traceback" not in done.stderr


def test_ack_is_stored_and_shown_in_status(synced: dict[str, str]) -> None:
    done = run_paylens(
        "alerts", "ack", "endpoint_disabled", "--segment", "we_x", "--note", "on it", env=synced
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("acknowledged endpoint_disabled (we_x)")
    status = json.loads(run_paylens("alerts", "status", "--json", env=synced).stdout)
    assert [(a["rule"], a["segment"], a["note"]) for a in status["acknowledged"]] == [
        ("endpoint_disabled", "we_x", "on it")
    ]
    refused = run_paylens("alerts", "ack", "nope", env=synced)
    assert refused.returncode == 2 and "no rule 'nope'" in refused.stderr


def test_the_alerts_page_shows_what_fires_and_acknowledges_it(
    synced: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Alerts page, headless (AppTest), on the snapshot `paylens sync` published."""
    for name, value in synced.items():
        if name.startswith("PAYLENS_"):
            monkeypatch.setenv(name, value)
    page = AppTest.from_file(str(ROOT / "app" / "views" / "alerts_page.py"), default_timeout=30)
    page.run()
    assert not page.exception
    metrics = {metric.label: metric.value for metric in page.metric}
    assert metrics["Firing: critical"] == "1"  # the sandbox's disabled webhook endpoint
    assert metrics["Messages queued"] == "0"
    (firing,) = page.error
    assert "endpoint\\_disabled" in firing.value or "endpoint_disabled" in firing.value
    assert "is disabled" in firing.value
    button = next(b for b in page.button if b.label.startswith("Acknowledge"))
    button.click().run()
    assert not page.exception
    store = silence_store(load_settings())
    assert [(a.rule, a.by) for a in store.acknowledgements()][-1] == (
        "endpoint_disabled",
        "dashboard",
    )
    assert "Acknowledged by dashboard" in page.error[0].value
