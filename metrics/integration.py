"""Integration health (issue #20): the account scored against the production checklist.

Teams that run Stripe in production keep an 8-item checklist; below 5, stop and fix before
adding features. Six items show in the account's data and are *observed*
(`metrics.integration_checks` for webhooks, portal, tax and dunning; here test → live and
monitoring); two cannot be seen through the API (idempotency keys on API calls, the PCI SAQ-A
questionnaire) and are *declared* by a person with a date (`Declaration`, kept by the app in the
control store). The score is the number of greens, each marked observed or declared.

Nothing here reads a file or the clock: the declarations and paylens' own alert settings come in
as `Setup`, and the day as `as_of`. Beside the score, the common mistakes the data shows (not
scored): immediate cancellations where `cancel_at_period_end` would do, payments failing with
`authentication_required` (3D Secure not handled), failed subscription payments not retried.
The page, `paylens health` and the `integration_health` alert all show this one report.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import duckdb

from metrics import integration_checks as checks
from metrics.integration_checks import Seen
from metrics.integration_model import (
    DECLARED,
    LOOKBACK,
    PASSING,
    PCI_VALID,
    SIGNALS,
    TITLES,
    Declaration,
    Evidence,
    IntegrationReport,
    Mistake,
    Monitoring,
    Setup,
    Signal,
    Status,
)
from metrics.signals_query import rows

__all__ = [
    "DECLARED",
    "PASSING",
    "SIGNALS",
    "TITLES",
    "Declaration",
    "Evidence",
    "IntegrationReport",
    "Mistake",
    "Monitoring",
    "Setup",
    "Signal",
    "integration_report",
    "report_json",
]
KEY_KIND = "key_kind"  # the sync_state key of the API key's kind (mode, restricted), never the key
# paylens' rules that watch payment failures, and webhook errors (one of each is needed)
PAYMENT_RULES = ("payment_success",)
WEBHOOK_RULES = ("webhook_delivery", "endpoint_disabled")


def integration_report(
    con: duckdb.DuckDBPyConnection, as_of: date, setup: Setup | None = None
) -> IntegrationReport:
    """Every signal and mistake as of the end of `as_of`. Steps: see what the warehouse can
    say (tables, unavailable resources); score each signal in the checklist's order; read the
    mistakes."""
    setup = setup or Setup()
    seen = Seen.of(con)
    scored = {
        "webhooks": checks.webhooks(con, as_of, seen),
        "portal": checks.portal(con, as_of, seen),
        "tax": checks.tax(con, as_of, seen),
        "dunning": checks.dunning(con, as_of, seen),
        "test_to_live": test_to_live(con, as_of, seen),
        "monitoring": monitoring(con, as_of, setup.monitoring),
        **{key: declared(key, setup.declarations, as_of) for key in DECLARED},
    }
    signals = tuple(scored[key] for key in SIGNALS)
    return IntegrationReport(as_of, signals, mistakes(con, as_of, seen))


def test_to_live(con: duckdb.DuckDBPyConnection, as_of: date, seen: Seen) -> Signal:
    """Live mode through a restricted (read-only) key, with live endpoints. The key's kind is
    what the sync recorded from its prefix; the key itself is never stored."""
    found = rows(con, ["integration_key_kind.sql"], {"key": KEY_KIND, "as_of": as_of})
    source = "sync_state key_kind (the key's prefix)"
    if not found:
        why = Evidence(f"the sync has not recorded the key's kind by {as_of}", source)
        return Signal("test_to_live", "unknown", "observed", (why,), "Run a sync")
    kind = json.loads(found[0][0])
    mode, restricted = str(kind.get("mode")), bool(kind.get("restricted"))
    key = "a restricted key" if restricted else "a secret key (full access)"
    evidence = [Evidence(f"{mode} mode, {key}", source)]
    live_endpoints = 0
    if seen.has("webhook_endpoints"):
        endpoints = rows(con, ["integration_endpoints.sql"], {"as_of": as_of})
        live_endpoints = sum(status == "enabled" for _, _, status, _, _ in endpoints)
        evidence.append(
            Evidence(f"{live_endpoints} enabled endpoints in {mode} mode", "/v1/webhook_endpoints")
        )
    if mode != "live":
        action = "Go through the test → live checklist and give paylens a live restricted key"
        return Signal("test_to_live", "red", "observed", tuple(evidence), action)
    if not restricted:
        action = "Replace the secret key with a restricted read-only key (rk_live_…)"
        return Signal("test_to_live", "amber", "observed", tuple(evidence), action)
    if not live_endpoints:
        action = "Create the live webhook endpoints (test endpoints do not carry over)"
        return Signal("test_to_live", "amber", "observed", tuple(evidence), action)
    return Signal("test_to_live", "green", "observed", tuple(evidence), "Nothing to do")


def monitoring(con: duckdb.DuckDBPyConnection, as_of: date, setup: Monitoring | None) -> Signal:
    """paylens watches payment failures and webhook errors and its last Slack message went."""
    if setup is None:
        why = Evidence("paylens' alert settings were not given", "paylens settings")
        return Signal("monitoring", "unknown", "observed", (why,), "Score with the app's settings")
    watched = [m for m in (*PAYMENT_RULES, *WEBHOOK_RULES) if m in setup.rule_metrics]
    last = _last_delivery(con, as_of)
    # The dashboard is never given the webhook (a secret) and `paylens health` may run without
    # it: a delivery the service tried shows that Slack is set where alerts are sent.
    slack = setup.slack or last is not None
    configured = "configured" if setup.slack else "configured where the service runs (it posted)"
    evidence = [
        Evidence(
            f"alert rules on {', '.join(watched) or 'neither payments nor webhooks'}; Slack "
            + (configured if slack else "not configured"),
            "alert rules (PAYLENS_ALERTS_FILE), SLACK_WEBHOOK_URL",
        )
    ]
    if last is None:
        evidence.append(Evidence("no message delivered to Slack yet", "alert_outbox"))
    else:
        status, summary, sent_at, last_attempt, error = last
        when = sent_at or last_attempt
        said = f"{status} {when:%Y-%m-%d %H:%M} UTC" + (f" ({error})" if error else "")
        evidence.append(Evidence(f"last Slack delivery {said}: {summary}", "alert_outbox"))
    if not slack:
        return _monitoring("red", evidence, "Set SLACK_WEBHOOK_URL so alerts reach a channel")
    if not any(m in watched for m in PAYMENT_RULES) or not any(m in watched for m in WEBHOOK_RULES):
        action = "Enable the payment_success and webhook_delivery alert rules"
        return _monitoring("red", evidence, action)
    # `paylens alerts test` posts straight to Slack, not through the outbox: it checks the
    # webhook, and only the next alert or digest delivered changes what this signal reads
    if last is not None and last[0] == "failed":
        action = (
            "Fix the Slack webhook (`paylens alerts test` checks it); the next delivery clears it"
        )
        return _monitoring("red", evidence, action)
    if last is None:
        action = (
            "Check the webhook with `paylens alerts test`; this turns green once an alert or "
            "the weekly digest is delivered"
        )
        return _monitoring("amber", evidence, action)
    return _monitoring("green", evidence, "Nothing to do")


def _monitoring(status: Status, evidence: list[Evidence], action: str) -> Signal:
    return Signal("monitoring", status, "observed", tuple(evidence), action)


def _last_delivery(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[Any, ...] | None:
    """The newest outbox row that was tried (none before the first alert cycle)."""
    exists = con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'alert_outbox'")
    if not exists.fetchall():
        return None
    found = rows(con, ["integration_outbox.sql"], {"as_of": as_of})
    return found[0][1:] if found else None


_DECLARED_ACTIONS = {
    "idempotency": "Send an Idempotency-Key with every POST to Stripe, then declare it",
    "pci": "Complete the PCI SAQ-A questionnaire (Stripe Dashboard → Compliance), then declare it",
}
_ASKED = {
    "idempotency": "idempotency keys on API calls",
    "pci": "the PCI SAQ-A questionnaire",
}


def declared(key: str, declarations: tuple[Declaration, ...], as_of: date) -> Signal:
    """A signal the API cannot show, from the newest declaration dated by `as_of`."""
    found = [d for d in declarations if d.signal == key and d.on <= as_of]
    if not found:
        why = Evidence(
            f"{_ASKED[key]} cannot be seen through Stripe's API, and nobody has declared it",
            "declarations (control store)",
        )
        return Signal(key, "unknown", "declared", (why,), _DECLARED_ACTIONS[key])
    latest = max(found, key=lambda d: d.on)
    answer = "done" if latest.answer else "not done"
    note = f" ({latest.note})" if latest.note else ""
    said = f"declared {answer} on {latest.on.isoformat()} by {latest.by or 'someone'}{note}"
    evidence = (Evidence(said, "declarations (control store)"),)
    if not latest.answer:
        return Signal(key, "red", "declared", evidence, _DECLARED_ACTIONS[key])
    if key == "pci" and as_of - latest.on > PCI_VALID:
        action = "Renew the PCI SAQ-A (it is yearly) and declare the new date"
        return Signal(key, "amber", "declared", evidence, action)
    return Signal(key, "green", "declared", evidence, "Declare again when it changes")


def mistakes(con: duckdb.DuckDBPyConnection, as_of: date, seen: Seen) -> tuple[Mistake, ...]:
    """The checklist's common mistakes, counted over the lookback."""
    bounds = {"since": as_of - LOOKBACK, "as_of": as_of}
    days = LOOKBACK.days
    found: list[Mistake] = []
    if seen.missing("subscriptions") is None:
        total, immediate = rows(con, ["integration_cancellations.sql"], bounds)[0]
        text = f"{immediate} of {total} requested cancellations in {days} days ended at once"
        found.append(_mistake("immediate_cancellations", int(immediate), text, "subscriptions"))
    else:
        found.append(_mistake("immediate_cancellations", None, "not readable", "subscriptions"))
    if seen.missing("charges") is None:
        failed, auth = rows(con, ["integration_authentication.sql"], bounds)[0]
        text = f"{auth} of {failed} failed payments in {days} days: authentication_required"
        found.append(_mistake("authentication_required", int(auth), text, "charges.failure_code"))
    else:
        found.append(_mistake("authentication_required", None, "not readable", "charges"))
    if seen.missing("invoices", "subscriptions") is None:
        failed, retried, _ = checks.retries(con, as_of)
        _, ended = checks.ended_without_retry(con, as_of)
        text = (
            f"{failed - retried} of {failed} failed subscription invoices in {days} days never "
            f"retried; {ended} subscriptions cancelled on the first failure"
        )
        count = failed - retried + ended
        found.append(_mistake("unretried_failures", count, text, "invoices, subscriptions"))
    else:
        found.append(_mistake("unretried_failures", None, "not readable", "invoices"))
    return tuple(found)


_MISTAKES = {
    "immediate_cancellations": (
        "Immediate cancellations where cancel_at_period_end would do",
        "Cancel with cancel_at_period_end=true: the customer keeps what they paid for",
    ),
    "authentication_required": (
        "Payments failing with authentication_required (3D Secure not handled)",
        "Handle requires_action: confirm with Stripe.js and email off-session customers",
    ),
    "unretried_failures": (
        "Failed subscription payments with no retry",
        "Turn on Smart Retries so a failure is tried again before the subscription ends",
    ),
}


def _mistake(key: str, count: int | None, text: str, source: str) -> Mistake:
    title, action = _MISTAKES[key]
    return Mistake(key, title, count, (Evidence(text, source),), action)


def report_json(report: IntegrationReport) -> dict[str, Any]:
    """The report as `paylens health --json` prints it."""

    def evidence(items: tuple[Evidence, ...]) -> list[dict[str, str]]:
        return [{"text": item.text, "source": item.source} for item in items]

    return {
        "as_of": report.as_of.isoformat(),
        "score": report.score,
        "out_of": report.out_of,
        "observed": report.observed_score,
        "declared": report.declared_score,
        "passing": report.passing,
        "passing_score": PASSING,
        "signals": [
            {
                "key": s.key,
                "title": s.title,
                "status": s.status,
                "source": s.source,
                "evidence": evidence(s.evidence),
                "action": s.action,
            }
            for s in report.signals
        ],
        "mistakes": [
            {
                "key": m.key,
                "title": m.title,
                "count": m.count,
                "evidence": evidence(m.evidence),
                "action": m.action,
            }
            for m in report.mistakes
        ],
    }
