"""The rules file: the built-in rules, how a user's file changes them, and every error."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.model import Rule
from alerts.rules import (
    BUILTIN_METRICS,
    SYNC_METRICS,
    RuleError,
    describe_rules,
    format_duration,
    format_rules,
    load_rules,
    parse_duration,
)

HOUR = timedelta(hours=1)


def rules_from(tmp_path: Path, text: str) -> dict[str, Rule]:
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    return {rule.name: rule for rule in load_rules(path)}


def error_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    return str(caught.value).replace(str(path), "alerts.toml")


def test_the_built_in_rules_have_the_issues_numbers() -> None:
    rules = {rule.name: rule for rule in load_rules(None)}

    assert rules == {
        "payment_success": Rule(
            "payment_success",
            "payment_success",
            HOUR,
            "below",
            warn=0.95,
            critical=0.90,
            resolve=0.96,
            min_sample=20,
            max_window=24 * HOUR,
            baseline_weeks=4,
            confidence=0.95,
            description="Payment success rate",
        ),
        "webhook_delivery": Rule(
            "webhook_delivery",
            "webhook_delivery",
            24 * HOUR,
            "below",
            warn=0.995,
            critical=0.99,
            resolve=0.996,
            min_sample=20,
            description="Webhook delivery",
        ),
        "customer_churn": Rule(
            "customer_churn",
            "customer_churn.rate",
            timedelta(days=30),
            "above",
            warn=0.05,
            critical=0.10,
            description="Monthly customer churn",
        ),
        "involuntary_share": Rule(
            "involuntary_share",
            "involuntary.involuntary_share",
            timedelta(days=30),
            "above",
            warn=0.30,
            description="Involuntary share of churn",
        ),
        "dispute_new": Rule(
            "dispute_new",
            "dispute_new",
            24 * HOUR,
            kind="event",
            severity="warning",
            repeat=None,
            description="New dispute",
        ),
        "dispute_due": Rule(
            "dispute_due",
            "dispute_due",
            72 * HOUR,
            severity="critical",
            description="Dispute due without evidence",
        ),
        "endpoint_disabled": Rule(
            "endpoint_disabled",
            "endpoint_disabled",
            timedelta(0),
            severity="critical",
            description="Webhook endpoint disabled",
        ),
        "sync_stale": Rule(
            "sync_stale",
            "sync_stale",
            timedelta(0),
            "above",
            critical=3,
            inhibited_by_sync=False,
            description="Sync stale",
        ),
        "sync_failing": Rule(
            "sync_failing",
            "sync_failing",
            timedelta(0),
            "above",
            critical=1,
            inhibited_by_sync=False,
            description="Sync failing",
        ),
        "sync_degraded": Rule(
            "sync_degraded",
            "sync_degraded",
            timedelta(0),
            severity="warning",
            description="Sync degraded",
        ),
        "integration_health": Rule(
            "integration_health",
            "integration_health",
            timedelta(0),
            "below",
            warn=5,
            repeat=24 * HOUR,
            description="Integration health",
        ),
    }


def test_every_built_in_metric_has_a_default_rule_and_only_sync_rules_are_not_inhibited() -> None:
    rules = load_rules(None)

    assert {rule.metric for rule in rules} >= set(BUILTIN_METRICS)
    assert {rule.name for rule in rules if not rule.inhibited_by_sync} == SYNC_METRICS


def test_an_empty_file_is_the_built_in_rules(tmp_path: Path) -> None:
    assert tuple(rules_from(tmp_path, "").values()) == load_rules(None)


def test_a_table_named_like_a_built_in_rule_changes_only_its_keys(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        '[rules.payment_success]\nwarn = 0.97\nresolve = 0.98\npending = "10m"\n'
        '[rules.dispute_due]\nwindow = "48h"\n',
    )
    built_in = {rule.name: rule for rule in load_rules(None)}

    assert rules["payment_success"] == Rule(
        **{
            **vars(built_in["payment_success"]),
            "warn": 0.97,
            "resolve": 0.98,
            "pending": timedelta(minutes=10),
        }
    )
    assert rules["dispute_due"].window == 48 * HOUR
    assert rules["webhook_delivery"] == built_in["webhook_delivery"]
    assert list(rules) == list(built_in)  # the built-in order stays


def test_enabled_false_drops_a_built_in_rule(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "[rules.customer_churn]\nenabled = false\n")

    assert "customer_churn" not in rules
    assert len(rules) == len(load_rules(None)) - 1


def test_a_new_name_is_a_user_rule_after_the_built_in_ones(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        '[rules.refunds]\nmetric = "payments.refund_rate"\ndirection = "above"\nwarn = 0.08\n'
        '[rules.big_mrr_drop]\nmetric = "mrr.converted"\nwindow = "7d"\ncritical = 10000\n'
        '[rules.success_eu]\nmetric = "payment_success"\nwindow = "2h"\nwarn = 0.9\n',
    )

    assert list(rules)[-3:] == ["refunds", "big_mrr_drop", "success_eu"]
    assert rules["refunds"] == Rule(
        "refunds", "payments.refund_rate", timedelta(days=30), "above", warn=0.08
    )
    assert rules["big_mrr_drop"].window == timedelta(days=7)
    assert rules["success_eu"] == Rule("success_eu", "payment_success", 2 * HOUR, warn=0.9)


def test_a_per_currency_summary_key_is_a_metric(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, '[rules.usd]\nmetric = "mrr.by_currency.usd"\ncritical = 5\n')

    assert rules["usd"].metric == "mrr.by_currency.usd"


ERRORS = [
    (
        "a percent for a rate",
        "[rules.payment_success]\nwarn = 95\n",
        'alerts.toml: rule payment_success: key "warn": warn = 95 — rates are fractions '
        "(0.95 for 95%)",
    ),
    (
        "an unknown key",
        "[rules.payment_success]\nwarning = 0.9\n",
        'alerts.toml: rule payment_success: key "warning": unknown key (did you mean "warn"?)',
    ),
    (
        "a wrong type",
        '[rules.payment_success]\nwarn = "0.95"\n',
        'alerts.toml: rule payment_success: key "warn": expected a number, got "0.95" (a string)',
    ),
    (
        "a count that is not whole",
        "[rules.payment_success]\nmin_sample = 2.5\n",
        'alerts.toml: rule payment_success: key "min_sample": expected a whole number, got '
        "2.5 (a number)",
    ),
    (
        "a negative minimum sample",
        "[rules.payment_success]\nmin_sample = -1\n",
        'alerts.toml: rule payment_success: key "min_sample": must be 0 or more, got -1',
    ),
    (
        "an unknown metric",
        '[rules.mine]\nmetric = "payment_sucess"\nwindow = "1h"\nwarn = 0.9\n',
        'alerts.toml: rule mine: key "metric": unknown metric "payment_sucess" (close '
        "matches: payment_success, payments.success_rate, payments.disputes.lost)",
    ),
    (
        "a missing metric",
        "[rules.mine]\nwarn = 0.9\n",
        'alerts.toml: rule mine: key "metric": required: a built-in check or a summary key '
        "(customer_churn.rate)",
    ),
    (
        "a direction that is neither",
        '[rules.customer_churn]\ndirection = "over"\n',
        "alerts.toml: rule customer_churn: key \"direction\": must be 'below' or 'above', "
        'got "over" (a string)',
    ),
    (
        "critical on the healthy side of warn",
        "[rules.payment_success]\ncritical = 0.96\nresolve = 0.97\n",
        'alerts.toml: rule payment_success: key "critical": critical = 0.96 must be ≤ warn = '
        '0.95 (default) for "below"',
    ),
    (
        "warn moved past critical, for an above rule",
        "[rules.customer_churn]\nwarn = 0.2\n",
        'alerts.toml: rule customer_churn: key "warn": critical = 0.1 (default) must be ≥ '
        'warn = 0.2 for "above"',
    ),
    (
        "warn raised past the built-in resolve",
        "[rules.payment_success]\nwarn = 0.97\n",
        'alerts.toml: rule payment_success: key "warn": resolve = 0.96 (default) must be ≥ '
        "warn = 0.97: resolve is on the healthy side of the firing lines",
    ),
    (
        "resolve on the unhealthy side",
        "[rules.customer_churn]\nresolve = 0.06\n",
        'alerts.toml: rule customer_churn: key "resolve": resolve = 0.06 must be ≤ warn = '
        "0.05 (default): resolve is on the healthy side of the firing lines",
    ),
    (
        "a zero window",
        '[rules.payment_success]\nwindow = "0"\n',
        'alerts.toml: rule payment_success: key "window": must be longer than 0',
    ),
    (
        "a window that is not a duration",
        '[rules.payment_success]\nwindow = "1 hour"\n',
        'alerts.toml: rule payment_success: key "window": "1 hour" is not a duration (write '
        '"90s", "15m", "1h", "24h", "30d", "2w" or "0")',
    ),
    (
        "a duration as a number",
        "[rules.payment_success]\npending = 10\n",
        'alerts.toml: rule payment_success: key "pending": expected a duration string (write '
        '"90s", "15m", "1h", "24h", "30d", "2w" or "0"), got 10 (an integer)',
    ),
    (
        "a max_window shorter than the window",
        '[rules.payment_success]\nwindow = "2h"\nmax_window = "1h"\n',
        'alerts.toml: rule payment_success: key "max_window": "1h" is shorter than window "2h"',
    ),
    (
        "a severity that is neither",
        '[rules.dispute_due]\nseverity = "info"\n',
        "alerts.toml: rule dispute_due: key \"severity\": must be 'warning' or 'critical', "
        'got "info" (a string)',
    ),
    (
        "an event rule with a threshold",
        "[rules.dispute_new]\nwarn = 1\n",
        'alerts.toml: rule dispute_new: key "warn": an event rule has no thresholds: it fires '
        "at its severity",
    ),
    (
        "a condition with a threshold",
        "[rules.endpoint_disabled]\ncritical = 1\n",
        'alerts.toml: rule endpoint_disabled: key "critical": endpoint_disabled (a condition) '
        "has no thresholds: it fires at its severity",
    ),
    (
        "an event rule that repeats",
        '[rules.dispute_new]\nrepeat = "4h"\n',
        'alerts.toml: rule dispute_new: key "repeat": an event rule is never repeated: write '
        '"never"',
    ),
    (
        "an event kind on a threshold metric",
        '[rules.customer_churn]\nkind = "event"\n',
        'alerts.toml: rule customer_churn: key "kind": "event" is the kind of dispute_new alone',
    ),
    (
        "a threshold kind on the event metric",
        '[rules.dispute_new]\nkind = "threshold"\n',
        'alerts.toml: rule dispute_new: key "kind": dispute_new is an event metric: kind = "event"',
    ),
    (
        "a threshold rule without a line",
        '[rules.mine]\nmetric = "ltv"\n',
        'alerts.toml: rule mine: key "warn": a threshold rule needs warn, critical or both',
    ),
    (
        "a window on a state check",
        '[rules.sync_stale]\nwindow = "1h"\n',
        'alerts.toml: rule sync_stale: key "window": does not apply: sync_stale checks the '
        "current state",
    ),
    (
        "a built-in check without a window",
        '[rules.mine]\nmetric = "webhook_delivery"\nwarn = 0.9\n',
        'alerts.toml: rule mine: key "window": required for webhook_delivery',
    ),
    (
        "a summary window in hours",
        '[rules.customer_churn]\nwindow = "36h"\n',
        'alerts.toml: rule customer_churn: key "window": summary figures cover whole days: '
        'write days ("30d")',
    ),
    (
        "a minimum sample on an unsampled metric",
        "[rules.customer_churn]\nmin_sample = 30\n",
        'alerts.toml: rule customer_churn: key "min_sample": applies to the sampled checks '
        "only (payment_success, webhook_delivery)",
    ),
    (
        "a baseline on another metric",
        "[rules.webhook_delivery]\nbaseline_weeks = 2\n",
        'alerts.toml: rule webhook_delivery: key "baseline_weeks": only payment_success has a '
        "baseline",
    ),
    (
        "a confidence as a percent",
        "[rules.payment_success]\nconfidence = 95\n",
        'alerts.toml: rule payment_success: key "confidence": must be between 0 and 1 (0.95 '
        "for 95%), got 95",
    ),
    (
        "a sync rule inhibited by the sync",
        "[rules.sync_failing]\ninhibited_by_sync = true\n",
        'alerts.toml: rule sync_failing: key "inhibited_by_sync": sync_failing is what '
        "inhibits: must be false",
    ),
    (
        "a repeat of zero",
        '[rules.payment_success]\nrepeat = "0"\n',
        'alerts.toml: rule payment_success: key "repeat": must be longer than 0 (or "never")',
    ),
    (
        "a flag that is not a boolean",
        '[rules.payment_success]\nenabled = "no"\n',
        'alerts.toml: rule payment_success: key "enabled": expected true or false, got "no" '
        "(a string)",
    ),
    (
        "a name with capitals",
        '[rules.PaymentSuccess]\nmetric = "payment_success"\n',
        "alerts.toml: rule PaymentSuccess: names are lowercase letters, digits and _",
    ),
    (
        "a rule that is not a table",
        "[rules]\npayment_success = 0.9\n",
        "alerts.toml: rule payment_success: expected a table [rules.payment_success]",
    ),
    (
        "a key outside the rules",
        "[rule.payment_success]\nwarn = 0.9\n",
        'alerts.toml: unknown top-level key "rule" (rules go in [rules.NAME] tables)',
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_a_bad_rules_file_is_one_clear_error(
    tmp_path: Path, case: str, text: str, message: str
) -> None:
    assert error_of(tmp_path, text) == message


def test_every_problem_of_a_file_is_listed_in_one_error(tmp_path: Path) -> None:
    text = (
        "[rules.payment_success]\nwarn = 95\ncritical = 90\n"
        '[rules.mine]\nmetric = "nope"\n'
        "[rules.dispute_due]\nseverity = 2\n"
    )

    assert error_of(tmp_path, text).splitlines() == [
        'alerts.toml: rule payment_success: key "warn": warn = 95 — rates are fractions '
        "(0.95 for 95%)",
        'alerts.toml: rule payment_success: key "critical": critical = 90 — rates are '
        "fractions (0.9 for 90%)",
        'alerts.toml: rule dispute_due: key "severity": expected a string, got 2 (an integer)',
        'alerts.toml: rule mine: key "metric": unknown metric "nope" (see docs/ALERTS.md for '
        "the names)",
    ]


def test_the_error_keeps_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text('[rules.payment_success]\nwarn = "x"\nwindow = 1\n', encoding="utf-8")

    with pytest.raises(RuleError) as caught:
        load_rules(path)

    assert isinstance(caught.value, ValueError)
    assert len(caught.value.errors) == 2


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[rules.payment_success]\nwarn = 0.9\nwindow "1h"\n')

    assert message.startswith("alerts.toml: not valid TOML: ")
    assert "line 3" in message


def test_a_missing_file_is_a_rule_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"missing\.toml: cannot read the rules file"):
        load_rules(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h", HOUR),
        ("24h", 24 * HOUR),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(days=14)),
    ],
)
def test_durations_are_read_from_their_spelling(text: str, span: timedelta) -> None:
    assert parse_duration(text) == span


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(0), "0"),
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=15), "15m"),
        (24 * HOUR, "24h"),
        (72 * HOUR, "72h"),
        (timedelta(days=30), "30d"),
        (timedelta(days=14), "14d"),
        (None, "never"),
    ],
)
def test_durations_are_shown_in_the_files_spelling(span: timedelta | None, text: str) -> None:
    assert format_duration(span) == text


def test_describe_rules_gives_every_setting_as_json() -> None:
    described = describe_rules(load_rules(None))

    assert json.loads(json.dumps(described)) == described
    assert described[0] == {
        "name": "payment_success",
        "metric": "payment_success",
        "description": "Payment success rate",
        "kind": "threshold",
        "window": "1h",
        "max_window": "24h",
        "direction": "below",
        "warn": 0.95,
        "critical": 0.90,
        "resolve": 0.96,
        "severity": None,
        "min_sample": 20,
        "pending": "0",
        "repeat": "4h",
        "baseline_weeks": 4,
        "confidence": 0.95,
        "inhibited_by_sync": True,
    }
    by_name = {rule["name"]: rule for rule in described}
    assert by_name["customer_churn"]["resolve"] == 0.05  # the warn line, in force
    assert by_name["dispute_new"]["repeat"] == "never"
    assert by_name["endpoint_disabled"]["window"] is None
    assert by_name["dispute_due"]["severity"] == "critical"


def test_format_rules_is_a_table_people_can_read() -> None:
    lines = format_rules(load_rules(None)).splitlines()

    assert lines[0].split() == [
        "RULE",
        "METRIC",
        "FIRES",
        "RESOLVES",
        "WINDOW",
        "PENDING",
        "REPEAT",
        "NOTES",
    ]
    assert len(lines) == 1 + len(load_rules(None))
    success = lines[1]
    for text in ("< 95% warning, < 90% critical", "≥ 96%", "1h (up to 24h)", "at least 20"):
        assert text in success
    assert "while it holds: critical" in next(line for line in lines if "dispute_due" in line)
    assert "not inhibited by sync" in next(line for line in lines if "sync_failing" in line)
