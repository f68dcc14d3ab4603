"""Integration health end to end (issue 20, "Done when"): scenario → the real sandbox over HTTP
→ `sync_and_publish` → `integration_report` on the published snapshot, with the settings the
app scores with (`app.alerting.integration_setup`: declarations, alert rules, Slack).

`scenario_files/integration/healthy.toml` is an account whose six observed signals are all
green: synced with a live restricted key and one Slack message delivered through the alert
outbox. Each variant file there replaces some of its top-level tables and flips exactly one
signal, with evidence that names the cause; the key and Slack variants sync the same account
another way. A declaration recorded in the control store turns its signal green, "declared".
The `demo` preset, synced as `paylens demo` runs it, scores 5/8 with a reason for the rest.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from alerts.delivery import SlackTransport, deliver_due
from app.alerting import integration_setup, silence_store
from app.demo import TEST_MESSAGE_KEY, SlackTestMessage, prepare_integration
from app.scheduler import Service
from app.service import sync_and_publish
from app.settings import Secret, Settings
from metrics.integration import IntegrationReport, Signal, integration_report
from sandbox.api.server import SandboxServer, start_server
from sandbox.scenario import load_scenario, simulate_scenario
from sandbox.sim import Simulation
from sandbox.slack_standin import SlackStandin, start_slack_standin
from sync import RunResult, account_day
from sync.snapshots import SnapshotReader
from tests.conftest import settings_for

FILES = Path(__file__).resolve().parent / "scenario_files" / "integration"
AS_OF = date(2025, 3, 31)
# Stripe-shaped keys, assembled at run time (no key-shaped literal in the repository)
LIVE_KEY = "rk_" + "live_" + "paylens0integration0read0only"
NO_TAX_KEY = "rk_" + "live_" + "paylens0integration0no0tax00"
HEALTHY = {
    "webhooks": "green",
    "idempotency": "unknown",
    "portal": "green",
    "tax": "green",
    "dunning": "green",
    "pci": "unknown",
    "test_to_live": "green",
    "monitoring": "green",
}


def scenario(tmp_path: Path, variant: str | None = None) -> Simulation:
    """healthy.toml with `variant`'s top-level tables in place of its own, simulated (written
    as JSON, which the scenario reader takes as TOML's twin, dates as text)."""
    doc = tomllib.loads((FILES / "healthy.toml").read_text(encoding="utf-8"))
    if variant is not None:
        doc |= tomllib.loads((FILES / f"{variant}.toml").read_text(encoding="utf-8"))
    path = tmp_path / f"{variant or 'healthy'}.json"
    path.write_text(json.dumps(doc, default=lambda v: v.isoformat()), encoding="utf-8")
    return simulate_scenario(load_scenario(path))


def serve(sim: Simulation) -> SandboxServer:
    """The sandbox with a live read-only key and one refused the tax settings."""
    return start_server(sim, restricted_keys={LIVE_KEY: [], NO_TAX_KEY: ["tax_settings"]})


@dataclass
class Scored:
    settings: Settings
    report: IntegrationReport


def sync_and_score(
    server: SandboxServer,
    data_dir: Path,
    slack: SlackStandin,
    key: str = LIVE_KEY,
    status: str = "ok",
) -> Scored:
    """Sync with `key` and Slack at `slack`, Slack's test message sent in the cycle as the demo
    sends it (the run's `status` as given); score the published snapshot with the app's setup."""
    settings = replace(
        settings_for(server, data_dir, slack_webhook_url=Secret(slack.url)),
        stripe_api_key=Secret(key),
    )
    transport = SlackTransport(slack.url)

    def deliver(con: duckdb.DuckDBPyConnection) -> None:
        deliver_due(con, transport, now=lambda: datetime.now(UTC), sleep=lambda _s: None)

    hooks: list[Callable[[duckdb.DuckDBPyConnection, RunResult], None]] = [
        SlackTestMessage(None, deliver)
    ]
    result = sync_and_publish(settings, before_publish=hooks)
    assert result.status == status, result.error
    return Scored(settings, published_report(settings))


@contextmanager
def published(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published snapshot of `settings`, read-only."""
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    assert con is not None
    try:
        yield con
    finally:
        reader.close()


def published_report(settings: Settings, setup_from: Settings | None = None) -> IntegrationReport:
    """The report on `settings`' published snapshot, scored with the app's setup of
    `setup_from` (default the same settings: its control store, rules and Slack)."""
    with published(settings) as con:
        return integration_report(con, account_day(con), integration_setup(setup_from or settings))


def statuses(report: IntegrationReport) -> dict[str, str]:
    return {signal.key: signal.status for signal in report.signals}


def said(signal: Signal) -> str:
    """The signal's evidence as one text, each fact with its source."""
    return " | ".join(f"{e.text} [{e.source}]" for e in signal.evidence)


def flipped(base: IntegrationReport, report: IntegrationReport) -> dict[str, str]:
    """The signals whose status differs from `base`'s, with their new status."""
    before = statuses(base)
    return {key: status for key, status in statuses(report).items() if before[key] != status}


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with start_slack_standin() as standin:
        yield standin


@pytest.fixture(scope="module")
def healthy_sim(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    return scenario(tmp_path_factory.mktemp("healthy_file"))


@pytest.fixture(scope="module")
def healthy_server(healthy_sim: Simulation) -> Iterator[SandboxServer]:
    with serve(healthy_sim) as server:
        yield server


@pytest.fixture(scope="module")
def healthy(
    healthy_server: SandboxServer, slack: SlackStandin, tmp_path_factory: pytest.TempPathFactory
) -> Scored:
    return sync_and_score(healthy_server, tmp_path_factory.mktemp("healthy"), slack)


def test_the_healthy_account_scores_every_observed_signal_green_with_its_evidence(
    healthy: Scored,
) -> None:
    report = healthy.report
    assert report.as_of == AS_OF
    assert statuses(report) == HEALTHY
    assert (report.score, report.observed_score, report.declared_score) == (6, 6, 0)
    webhooks = said(report.signal("webhooks"))
    assert "it needs 9 event types" in webhooks
    assert "(https://hooks.example.test/app): receives every needed event; API version " in webhooks
    assert "2026-10-28.endive" in webhooks
    assert "delivery 100.00%" in webhooks
    portal = said(report.signal("portal"))
    assert "(the default): offers payment-method update, cancellation, invoice history" in portal
    tax = said(report.signal("tax"))
    assert "Stripe Tax active, head office US" in tax
    assert "1 registrations in force (US)" in tax
    assert "3 of 3 live subscriptions taxed automatically" in tax
    assert "9 of 9 invoices in 90 days carry tax" in tax
    dunning = said(report.signal("dunning"))
    assert "1 of 1 failed subscription invoices in 90 days retried, 1 recovered" in dunning
    assert "live mode, a restricted key" in said(report.signal("test_to_live"))
    monitoring = said(report.signal("monitoring"))
    assert "alert rules on payment_success, webhook_delivery, endpoint_disabled" in monitoring
    assert "last Slack delivery sent " in monitoring
    assert ": paylens test message [alert_outbox]" in monitoring


def test_the_dashboard_without_the_webhook_sees_slack_set_from_the_services_delivery(
    healthy: Scored, tmp_path: Path
) -> None:
    """The dashboard is never given SLACK_WEBHOOK_URL; the outbox says the service has it."""
    dashboard = replace(healthy.settings, slack_webhook_url=None, data_dir=tmp_path)
    report = published_report(healthy.settings, setup_from=dashboard)
    assert statuses(report) == HEALTHY
    assert "Slack configured where the service runs (it posted)" in said(
        report.signal("monitoring")
    )


def test_the_key_is_never_stored_in_the_published_snapshot(healthy: Scored) -> None:
    with published(healthy.settings) as con:
        kind = con.execute("SELECT value FROM sync_state WHERE key = 'key_kind'").fetchone()
    assert kind is not None and json.loads(kind[0]) == {"mode": "live", "restricted": True}
    for path in healthy.settings.snapshot_dir.rglob("*"):
        if path.is_file():
            assert LIVE_KEY.encode() not in path.read_bytes(), path


# variant file → the one signal it flips, its new status, what its evidence and action name
VARIANTS = {
    "webhooks_missing_upcoming": (
        "webhooks",
        "red",
        [
            "no enabled endpoint receives 1 needed",
            "(https://hooks.example.test/app): missing invoice.upcoming; API version",
        ],
        "Subscribe an endpoint to invoice.upcoming",
    ),
    "webhooks_unpinned": (
        "webhooks",
        "amber",
        ["(https://hooks.example.test/app): receives every needed event; unpinned"],
        "Pin an API version on we_",
    ),
    "portal_off": (
        "portal",
        "red",
        ["0 of 1 configurations active [/v1/billing_portal/configurations]"],
        "Turn on the customer portal",
    ),
    "portal_without_cancellation": (
        "portal",
        "amber",
        ["(the default): lacks cancellation"],
        "Enable cancellation in the portal",
    ),
    "tax_pending": (
        "tax",
        "red",
        [
            "Stripe Tax pending",
            "0 registrations in force [/v1/tax/registrations]",
            "0 of 3 live subscriptions taxed automatically",
            "0 of 9 invoices in 90 days carry tax",
        ],
        "Set up Stripe Tax",
    ),
    "dunning_off": (
        "dunning",
        "red",
        [
            "0 of 1 failed subscription invoices in 90 days retried, 0 recovered",
            "1 of 1 subscriptions ended for payment_failed without a retry",
        ],
        "Turn on Smart Retries",
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_variant_file_flips_exactly_its_signal_and_the_evidence_names_the_cause(
    variant: str, healthy: Scored, slack: SlackStandin, tmp_path: Path
) -> None:
    key, status, evidence, action = VARIANTS[variant]
    with serve(scenario(tmp_path, variant)) as server:
        scored = sync_and_score(server, tmp_path / "data", slack)
    assert flipped(healthy.report, scored.report) == {key: status}
    signal = scored.report.signal(key)
    for fact in evidence:
        assert fact in said(signal)
    assert signal.action.startswith(action), signal.action


def test_a_test_mode_key_turns_test_to_live_red_and_nothing_else(
    healthy: Scored, healthy_server: SandboxServer, slack: SlackStandin, tmp_path: Path
) -> None:
    scored = sync_and_score(healthy_server, tmp_path, slack, key=healthy_server.api_key)
    assert flipped(healthy.report, scored.report) == {"test_to_live": "red"}
    signal = scored.report.signal("test_to_live")
    assert "test mode, a secret key (full access)" in said(signal)
    assert signal.action.startswith("Go through the test → live checklist")


def test_a_key_refused_the_tax_settings_leaves_tax_unknown_and_the_rest_scores(
    healthy: Scored, healthy_server: SandboxServer, slack: SlackStandin, tmp_path: Path
) -> None:
    scored = sync_and_score(healthy_server, tmp_path, slack, key=NO_TAX_KEY, status="degraded")
    assert flipped(healthy.report, scored.report) == {"tax": "unknown"}
    signal = scored.report.signal("tax")
    assert "rak_tax_settings_read" in said(signal)
    assert signal.action == "Let the key read tax settings (rak_tax_settings_read)"


def test_a_failed_slack_delivery_turns_monitoring_red_and_nothing_else(
    healthy: Scored, healthy_server: SandboxServer, tmp_path: Path
) -> None:
    with start_slack_standin() as revoked:
        revoked.script([(404, "no_service")])
        scored = sync_and_score(healthy_server, tmp_path, revoked)
    assert flipped(healthy.report, scored.report) == {"monitoring": "red"}
    signal = scored.report.signal("monitoring")
    assert "last Slack delivery failed " in said(signal)
    assert "(404 no_service): paylens test message" in said(signal)
    assert signal.action.startswith("Fix the Slack webhook")


def test_a_declaration_in_the_control_store_turns_its_signal_green_marked_declared(
    healthy: Scored, tmp_path: Path
) -> None:
    declaring = replace(healthy.settings, data_dir=tmp_path)  # a control store of its own
    silence_store(declaring).declare(
        "idempotency",
        answer=True,
        on=date(2025, 3, 1),
        by="ana",
        recorded=datetime(2025, 3, 1, 9, tzinfo=UTC),
        note="every POST sends one",
    )
    report = published_report(healthy.settings, setup_from=declaring)
    assert flipped(healthy.report, report) == {"idempotency": "green"}
    signal = report.signal("idempotency")
    assert signal.source == "declared"
    assert said(signal) == (
        "declared done on 2025-03-01 by ana (every POST sends one) [declarations (control store)]"
    )
    assert (report.score, report.observed_score, report.declared_score) == (7, 6, 1)


@pytest.mark.slow
def test_the_demo_scores_5_of_8_with_a_reason_for_each_signal_short_of_green(
    demo_sim: Simulation, tmp_path: Path
) -> None:
    """The `demo` preset synced as `paylens demo` runs its first cycle: the service's hooks
    with the demo's (`app.demo.prepare_integration`), Slack at a stand-in."""
    with start_server(demo_sim) as server, start_slack_standin() as slack:
        settings = settings_for(server, tmp_path, slack_webhook_url=Secret(slack.url))
        service = Service(settings)  # built, never run: its hooks run in this one cycle
        prepare_integration(service, datetime.fromtimestamp(demo_sim.now, UTC))
        result = sync_and_publish(settings, before_publish=service.after_sync)
    assert result.status == "ok", result.error
    report = published_report(settings)
    assert statuses(report) == {
        "webhooks": "amber",
        "idempotency": "green",
        "portal": "green",
        "tax": "amber",
        "dunning": "green",
        "pci": "green",
        "test_to_live": "red",
        "monitoring": "green",
    }
    assert (report.score, report.observed_score, report.declared_score) == (5, 3, 2)
    assert report.passing
    # the dashboard (no webhook given) and `paylens health` in another shell score the same
    no_webhook = replace(settings, slack_webhook_url=None)
    assert statuses(published_report(settings, setup_from=no_webhook)) == statuses(report)
    webhooks = report.signal("webhooks")
    assert "/billing): missing" in said(webhooks) and "invoice.upcoming" in said(webhooks)
    assert said(webhooks).count("unpinned (account default version)") == 3
    assert webhooks.action.startswith("Pin an API version on we_")
    tax = report.signal("tax")
    assert "Stripe Tax active" in said(tax) and "1 registrations in force (US)" in said(tax)
    assert "0 of 630 live subscriptions taxed automatically" in said(tax)
    assert tax.action == "Turn on automatic tax for every subscription"
    live = report.signal("test_to_live")
    assert "test mode, a secret key (full access)" in said(live)
    for key in ("idempotency", "pci"):
        assert "by paylens demo" in said(report.signal(key)), key
    assert "last Slack delivery sent " in said(report.signal("monitoring"))
    assert slack.messages[0]["blocks"][0]["text"]["text"] == "paylens test message"
    with published(settings) as con:
        sent = "SELECT status FROM alert_outbox WHERE key = ?"
        assert con.execute(sent, [TEST_MESSAGE_KEY]).fetchall() == [("sent",)]
        # the rule judged the first cycle after the test message went: 5, never below
        judged = "SELECT status, value FROM alert_state WHERE rule = 'integration_health'"
        assert con.execute(judged).fetchall() == [("ok", 5.0)]
