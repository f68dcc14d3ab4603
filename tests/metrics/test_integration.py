"""Integration health on hand-built warehouses (the sync's real schema, real DuckDB): an
account where every signal is green, then one change per signal that flips exactly that one
to red (or unknown) with the evidence that says why, and the mistakes the data shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pytest

from alerts.store import enqueue, ensure_schema
from metrics.integration import (
    SIGNALS,
    Declaration,
    IntegrationReport,
    Monitoring,
    Setup,
    integration_report,
    report_json,
)
from metrics.integration_checks import SUBSCRIPTION_EVENTS
from tests.metrics.warehouse import Warehouse

AS_OF = date(2026, 11, 1)
WATCHING = Monitoring(("payment_success", "webhook_delivery", "sync_stale"), slack=True)
DECLARED = (
    Declaration("idempotency", True, date(2026, 9, 1), "ana"),
    Declaration("pci", True, date(2026, 9, 2), "ana", "SAQ-A v4"),
)
SETUP = Setup(DECLARED, WATCHING)


def insert(con: duckdb.DuckDBPyConnection, table: str, **values: Any) -> None:
    """One row; the bookkeeping columns (raw, api_version, synced_at) filled in."""
    columns = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    filled = {"raw": "{}", "api_version": "2026-10-28.endive", "synced_at": datetime(2026, 11, 1)}
    row = {**{k: v for k, v in filled.items() if k in columns}, **values}
    marks = ", ".join("?" for _ in row)
    con.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", list(row.values()))


def state(con: duckdb.DuckDBPyConnection, key: str, value: object) -> None:
    con.execute(
        "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?)",
        [key, json.dumps(value), datetime(2026, 11, 1)],
    )


def green_account(con: duckdb.DuckDBPyConnection) -> None:
    """A subscription business in live mode with everything set up: one endpoint receiving
    every event on a pinned version, all delivered; the portal; Stripe Tax; a failed renewal
    retried and recovered; a restricted live key; a Slack message delivered."""
    insert(con, "customers", id="cus_1", created=datetime(2026, 6, 1))
    insert(
        con, "subscriptions", id="sub_1", created=datetime(2026, 6, 1), customer="cus_1",
        status="active", currency="usd", automatic_tax=True, latest_invoice="in_1",
    )  # fmt: skip
    insert(
        con, "invoices", id="in_1", created=datetime(2026, 10, 1), customer="cus_1",
        subscription="sub_1", status="paid", billing_reason="subscription_cycle", currency="usd",
        total=1_100, amount_due=1_100, amount_paid=1_100, attempt_count=2,
        paid_at=datetime(2026, 10, 4), automatic_tax=True, tax=100,
    )  # fmt: skip
    insert(
        con, "webhook_endpoints", id="we_1", created=datetime(2026, 1, 1),
        url="https://example.test/hooks", status="enabled", enabled_events=json.dumps(["*"]),
        endpoint_version="2026-10-28.endive",
    )  # fmt: skip
    insert(con, "events", id="evt_1", created=datetime(2026, 10, 30), type="invoice.paid",
           pending_webhooks=0)  # fmt: skip
    insert(
        con, "billing_portal_configurations", id="bpc_1", created=datetime(2026, 1, 1),
        active=True, is_default=True, livemode=True, payment_method_update=True,
        subscription_cancel=True, invoice_history=True,
    )  # fmt: skip
    insert(con, "tax_settings", id="tax_settings", status="active", tax_behavior="exclusive",
           head_office_country="DE", livemode=True)  # fmt: skip
    insert(
        con, "tax_registrations", id="taxreg_1", created=datetime(2026, 1, 1), country="DE",
        status="active", active_from=datetime(2026, 1, 1), livemode=True,
    )  # fmt: skip
    state(con, "key_kind", {"mode": "live", "restricted": True})
    ensure_schema(con)
    moment = datetime(2026, 10, 20, 9, tzinfo=UTC)
    enqueue(con, key="alert:1", created=moment, recorded=moment, payload={"text": "x"},
            summary="Payment success rate fired")  # fmt: skip
    con.execute(
        "UPDATE alert_outbox SET status = 'sent', sent_at = ?, last_attempt = ?",
        [datetime(2026, 10, 20, 9), datetime(2026, 10, 20, 9)],
    )


def statuses(report: IntegrationReport) -> dict[str, str]:
    return {signal.key: signal.status for signal in report.signals}


def evidence(report: IntegrationReport, key: str) -> str:
    return " | ".join(item.text for item in report.signal(key).evidence)


@pytest.fixture
def green(wh: Warehouse) -> duckdb.DuckDBPyConnection:
    green_account(wh.con)
    return wh.con


def test_the_set_up_account_scores_eight_of_eight(green: duckdb.DuckDBPyConnection) -> None:
    report = integration_report(green, AS_OF, SETUP)

    assert statuses(report) == dict.fromkeys(SIGNALS, "green")
    assert (report.score, report.observed_score, report.declared_score) == (8, 6, 2)
    assert report.passing
    assert evidence(report, "webhooks") == (
        f"the account has 1 subscriptions and 0 one-time payments in 90 days and 0 disputes: "
        f"it needs {len(SUBSCRIPTION_EVENTS)} event types | 1 of 1 endpoints enabled | "
        "we_1 (https://example.test/hooks): receives every needed event; API version "
        "2026-10-28.endive | delivery 100.00% (1 of 1 events in 30 days); 0 pending"
    )
    assert evidence(report, "dunning") == (
        "1 of 1 failed subscription invoices in 90 days retried, 1 recovered | 0 of 0 "
        "subscriptions ended for payment_failed without a retry"
    )
    assert evidence(report, "pci") == "declared done on 2026-09-02 by ana (SAQ-A v4)"


def _missing_events(con: duckdb.DuckDBPyConnection) -> None:
    events = json.dumps(["invoice.payment_failed", "invoice.payment_succeeded"])
    con.execute("UPDATE webhook_endpoints SET enabled_events = ?", [events])


def _portal_off(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE billing_portal_configurations SET active = FALSE")


def _no_tax(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE tax_settings SET status = 'pending'")
    con.execute("DELETE FROM tax_registrations")
    con.execute("UPDATE subscriptions SET automatic_tax = FALSE")
    con.execute("UPDATE invoices SET automatic_tax = FALSE, tax = 0")


def _no_retry(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "UPDATE invoices SET attempt_count = 1, status = 'open', paid_at = NULL, "
        "amount_paid = 0, next_payment_attempt = NULL"
    )


def _test_key(con: duckdb.DuckDBPyConnection) -> None:
    state(con, "key_kind", {"mode": "test", "restricted": True})


def _slack_failed(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE alert_outbox SET status = 'failed', sent_at = NULL, last_error = ?",
                ["404 no_service"])  # fmt: skip


FLIPS: dict[str, tuple[Callable[[duckdb.DuckDBPyConnection], None], Setup, str]] = {
    "webhooks": (_missing_events, SETUP, "missing customer.subscription.created"),
    "portal": (_portal_off, SETUP, "0 of 1 configurations active"),
    "tax": (_no_tax, SETUP, "Stripe Tax pending, head office DE"),
    "dunning": (_no_retry, SETUP, "0 of 1 failed subscription invoices in 90 days retried"),
    "test_to_live": (_test_key, SETUP, "test mode, a restricted key"),
    "monitoring": (_slack_failed, SETUP, "last Slack delivery failed 2026-10-20 09:00 UTC"),
    "idempotency": (
        lambda con: None,
        Setup((Declaration("idempotency", False, date(2026, 10, 1), "bo"), DECLARED[1]), WATCHING),
        "declared not done on 2026-10-01 by bo",
    ),
    "pci": (
        lambda con: None,
        Setup((*DECLARED, Declaration("pci", False, date(2026, 10, 1), "bo")), WATCHING),
        "declared not done on 2026-10-01 by bo",
    ),
}


@pytest.mark.parametrize("signal", list(FLIPS))
def test_a_change_flips_exactly_its_signal_to_red_with_the_evidence(
    green: duckdb.DuckDBPyConnection, signal: str
) -> None:
    change, setup, said = FLIPS[signal]
    change(green)

    report = integration_report(green, AS_OF, setup)

    assert statuses(report) == {**dict.fromkeys(SIGNALS, "green"), signal: "red"}
    assert said in evidence(report, signal)
    assert report.score == 7


def test_an_endpoint_without_needed_events_names_them(green: duckdb.DuckDBPyConnection) -> None:
    _missing_events(green)

    signal = integration_report(green, AS_OF, SETUP).signal("webhooks")

    missing = [e for e in SUBSCRIPTION_EVENTS if not e.startswith("invoice.payment_")]
    assert signal.evidence[2].text == f"no enabled endpoint receives {len(missing)} needed"
    assert signal.evidence[3].text == (
        f"we_1 (https://example.test/hooks): missing {', '.join(missing)}; API version "
        "2026-10-28.endive"
    )
    assert signal.action == f"Subscribe an endpoint to {', '.join(missing)}"


def test_an_unpinned_endpoint_is_amber(green: duckdb.DuckDBPyConnection) -> None:
    green.execute("UPDATE webhook_endpoints SET endpoint_version = NULL")

    signal = integration_report(green, AS_OF, SETUP).signal("webhooks")

    assert signal.status == "amber"
    assert signal.action == "Pin an API version on we_1 (recreate it with api_version)"


def test_a_key_that_may_not_read_tax_settings_leaves_tax_unknown_and_the_rest_scored(
    green: duckdb.DuckDBPyConnection,
) -> None:
    reason = "403 rak_tax_settings_read: the key may not read tax settings"
    state(green, "unavailable_resources", {"tax_settings": {"status": 403, "reason": reason,
                                                            "since": 1790000000}})  # fmt: skip

    report = integration_report(green, AS_OF, SETUP)

    assert statuses(report) == {**dict.fromkeys(SIGNALS, "green"), "tax": "unknown"}
    assert report.signal("tax").evidence[0].text.startswith("tax_settings unavailable since")
    assert reason in report.signal("tax").evidence[0].text
    assert report.signal("tax").action.startswith("Let the key read tax settings")


def test_without_declarations_or_settings_those_signals_are_unknown_not_red(
    green: duckdb.DuckDBPyConnection,
) -> None:
    report = integration_report(green, AS_OF)

    assert [s.key for s in report.signals if s.status == "unknown"] == [
        "idempotency",
        "pci",
        "monitoring",
    ]
    assert report.signal("pci").source == "declared"
    assert report.score == 5


def test_a_pci_declaration_older_than_a_year_is_amber(green: duckdb.DuckDBPyConnection) -> None:
    old = Setup((DECLARED[0], Declaration("pci", True, date(2025, 10, 1), "ana")), WATCHING)

    assert integration_report(green, AS_OF, old).signal("pci").status == "amber"


def test_a_declaration_dated_after_as_of_does_not_count_yet(
    green: duckdb.DuckDBPyConnection,
) -> None:
    later = Setup((DECLARED[0], Declaration("pci", True, date(2026, 12, 1), "ana")), WATCHING)

    assert integration_report(green, AS_OF, later).signal("pci").status == "unknown"


def test_the_mistakes_count_what_the_data_shows(green: duckdb.DuckDBPyConnection) -> None:
    insert(
        green, "subscriptions", id="sub_2", created=datetime(2026, 6, 1), customer="cus_1",
        status="canceled", currency="usd", cancel_at_period_end=False,
        ended_at=datetime(2026, 10, 10), canceled_at=datetime(2026, 10, 10),
        cancellation_reason="cancellation_requested",
    )  # fmt: skip
    insert(green, "subscription_items", id="si_2", subscription="sub_2", price="price_1",
           created=datetime(2026, 6, 1), current_period_end=datetime(2026, 11, 1))  # fmt: skip
    insert(
        green, "subscriptions", id="sub_3", created=datetime(2026, 6, 1), customer="cus_1",
        status="canceled", currency="usd", cancel_at_period_end=True,
        ended_at=datetime(2026, 10, 1), cancellation_reason="cancellation_requested",
    )  # fmt: skip
    for n, code in enumerate(("authentication_required", "card_declined", None)):
        insert(
            green, "charges", id=f"ch_{n}", created=datetime(2026, 10, 5), amount=1_000,
            currency="usd", status="failed" if code else "succeeded", failure_code=code,
            description="Subscription update",
        )  # fmt: skip

    found = {m.key: m for m in integration_report(green, AS_OF, SETUP).mistakes}

    assert {key: m.count for key, m in found.items()} == {
        "immediate_cancellations": 1,
        "authentication_required": 1,
        "unretried_failures": 0,
    }
    assert found["immediate_cancellations"].evidence[0].text == (
        "1 of 2 requested cancellations in 90 days ended at once"
    )
    assert found["authentication_required"].evidence[0].text == (
        "1 of 2 failed payments in 90 days: authentication_required"
    )


def test_one_time_payments_and_disputes_add_their_events(
    green: duckdb.DuckDBPyConnection,
) -> None:
    insert(green, "charges", id="ch_x", created=datetime(2026, 10, 5), amount=500,
           currency="usd", status="succeeded")  # fmt: skip
    insert(green, "disputes", id="dp_1", created=datetime(2026, 10, 6), charge="ch_x",
           amount=500, currency="usd", status="needs_response")  # fmt: skip

    report = integration_report(green, AS_OF, SETUP)

    assert evidence(report, "webhooks").startswith(
        "the account has 1 subscriptions and 1 one-time payments in 90 days and 1 disputes: "
        f"it needs {len(SUBSCRIPTION_EVENTS) + 3 + 5} event types"
    )


def test_the_json_carries_every_signal_with_its_evidence_and_action(
    green: duckdb.DuckDBPyConnection,
) -> None:
    data = report_json(integration_report(green, AS_OF, SETUP))

    assert (data["score"], data["out_of"], data["observed"], data["declared"]) == (8, 8, 6, 2)
    assert [s["key"] for s in data["signals"]] == list(SIGNALS)
    assert all(s["evidence"] and s["action"] for s in data["signals"])
    json.dumps(data)  # plain data
