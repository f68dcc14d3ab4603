"""`paylens alerts …`: the rules, what they read now, their state, history, silences, a test.

`check`, `status` and `history` read the published snapshot (never the master, which the
service holds); `silence` writes the silences store the service reads; `test` sends one message
to the configured webhook and prints Slack's answer.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import duckdb

from alerts.cycle import Check, check
from alerts.delivery import SlackTransport, classify
from alerts.model import AlertState
from alerts.rules import describe_rules, format_rules, parse_duration
from alerts.slack import render_test
from alerts.store import history, load_states, outbox, outbox_counts
from app.alerting import alert_rules, context_for, in_account_time, silence_store
from app.errors import CommandError
from app.published import published_snapshot
from app.settings import Settings
from sync import account_now, last_heard


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    rules = sub.add_parser("rules", help="the rules in force: built in and PAYLENS_ALERTS_FILE's")
    check_ = sub.add_parser("check", help="every rule on the current snapshot (sends nothing)")
    status = sub.add_parser("status", help="state per rule and segment, outbox, silences")
    hist = sub.add_parser("history", help="the latest transitions, newest first")
    hist.add_argument("--limit", type=int, default=50)
    for each in (rules, check_, status, hist):
        each.add_argument("--json", action="store_true", help="machine-readable output")
    silence = sub.add_parser("silence", help="mute a rule's messages for a while")
    silence.add_argument("rule")
    silence.add_argument("--for", dest="duration", required=True, help='e.g. "30m", "2h", "1d"')
    silence.add_argument("--reason", required=True, help="why (shown with the silence)")
    silence.add_argument("--segment", default=None, help="one segment only (a dispute, …)")
    ack = sub.add_parser("ack", help="acknowledge a firing alert: no repeats until it changes")
    ack.add_argument("rule")
    ack.add_argument("--segment", default="", help="the segment (a dispute, an endpoint)")
    ack.add_argument("--note", default="", help="what is being done about it")
    sub.add_parser("test", help="send one test message to SLACK_WEBHOOK_URL; print the answer")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "rules":
        return _rules(settings, as_json=args.json)
    if args.action == "silence":
        return _silence(settings, args)
    if args.action == "test":
        return _test(settings)
    if args.action == "ack":
        return _ack(settings, args)
    with published_snapshot(settings) as con:
        if args.action == "check":
            data: Any = _check(settings, con)
        elif args.action == "status":
            data = _status(settings, con)
        else:
            data = [_row(item) for item in history(con, limit=args.limit)]
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print(_FORMATS[args.action](data))
    return 0


def _rules(settings: Settings, *, as_json: bool) -> int:
    rules = alert_rules(settings)
    if as_json:
        print(json.dumps(describe_rules(rules), indent=2, default=str))
    else:
        print(format_rules(rules))
    return 0


def _check(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    machine = datetime.now(UTC)
    at = last_heard(con) or account_now(con, machine)
    silences = in_account_time(silence_store(settings).active(machine), machine, at)
    checks = check(
        con,
        alert_rules(settings),
        context_for(con, settings, at),
        states=_states(con),
        silences=silences,
    )
    return {"at": at.isoformat(), "checks": [_check_row(item) for item in checks]}


def _check_row(item: Check) -> dict[str, Any]:
    rule, reading, state = item.rule, item.reading, item.state
    return {
        "rule": rule.name,
        "segment": reading.segment,
        "metric": rule.metric,
        "label": reading.label,
        "value": reading.value,
        "unit": reading.unit,
        "sample": reading.sample,
        "min_sample": rule.min_sample,
        "direction": rule.direction,
        "warn": rule.warn,
        "critical": rule.critical,
        "resolve": rule.resolve,
        "baseline": reading.baseline,
        "interval": None if reading.low is None else [reading.low, reading.high],
        "window": None
        if reading.window_start is None
        else [reading.window_start.isoformat(), (reading.window_end or reading.at).isoformat()],
        "driver": reading.driver,
        "reads_as": item.verdict,
        "state": None if state is None else state.status,
        "level": None if state is None else state.level,
    }


def _states(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], AlertState]:
    try:
        return load_states(con)
    except duckdb.CatalogException:  # a snapshot published before alerts ran
        return {}


def _status(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    try:
        states = list(load_states(con).values())
        rows = outbox(con)
        counts = outbox_counts(con)
    except duckdb.CatalogException:
        states, rows, counts = [], [], {}
    machine = datetime.now(UTC)
    return {
        "slack": "configured" if settings.slack_webhook_url else "not configured",
        "states": [_row(state) for state in sorted(states, key=lambda s: (s.rule, s.segment))],
        "outbox": dict(counts),
        "failed": [_row(row) for row in rows if row.status == "failed"],
        "queued": [_row(row) for row in rows if row.status == "queued"],
        "silences": [_row(s) for s in silence_store(settings).active(machine)],
        "acknowledged": [_row(a) for a in silence_store(settings).acknowledgements()],
    }


def _silence(settings: Settings, args: argparse.Namespace) -> int:
    names = {rule.name for rule in alert_rules(settings)}
    if args.rule not in names:
        raise CommandError(f"no rule {args.rule!r}; rules: {', '.join(sorted(names))}")
    try:
        span = parse_duration(args.duration)
    except ValueError as exc:
        raise CommandError(f"--for {args.duration!r}: {exc}") from None
    if not args.reason.strip():
        raise CommandError("--reason must say why the rule is silenced")
    now = datetime.now(UTC)
    silence = silence_store(settings).add(
        args.rule, until=now + span, reason=args.reason, created=now, segment=args.segment
    )
    where = f" ({args.segment})" if args.segment else ""
    print(f"silenced {args.rule}{where} until {silence.until.isoformat(timespec='minutes')}")
    return 0


def _ack(settings: Settings, args: argparse.Namespace) -> int:
    names = {rule.name for rule in alert_rules(settings)}
    if args.rule not in names:
        raise CommandError(f"no rule {args.rule!r}; rules: {', '.join(sorted(names))}")
    silence_store(settings).acknowledge(
        args.rule, args.segment, at=datetime.now(UTC), by=getpass.getuser(), note=args.note
    )
    where = f" ({args.segment})" if args.segment else ""
    print(f"acknowledged {args.rule}{where}: not repeated until it escalates or resolves")
    return 0


def _test(settings: Settings) -> int:
    if settings.slack_webhook_url is None:
        raise CommandError("SLACK_WEBHOOK_URL is not set: there is nowhere to send a test message")
    answer = SlackTransport(settings.slack_webhook_url.reveal()).send(
        render_test(datetime.now(UTC), dashboard_url=settings.dashboard_url)
    )
    outcome, reason = classify(answer)
    print(f"Slack answered: {reason}")
    if outcome != "sent":
        print("paylens: the test message was not delivered", file=sys.stderr)
        return 1
    return 0


def _row(item: Any) -> dict[str, Any]:
    """A dataclass as JSON-ready values (datetimes as ISO text, durations in seconds)."""
    values = item if isinstance(item, dict) else vars(item)
    return {
        key: value.total_seconds() if hasattr(value, "total_seconds") else value
        for key, value in values.items()
        if key not in ("reading", "payload")
    }


def _format_check(data: dict[str, Any]) -> str:
    lines = [f"alerts check at {data['at']} (nothing is sent)"]
    for row in data["checks"]:
        line = _line(row, row["value"], row["unit"])
        sample = "" if row["sample"] is None else f", sample {row['sample']}"
        state = row["state"] or "ok"
        level = f" {row['level']}" if row["level"] else ""
        lines.append(f"  {line}{sample} → {row['reads_as']}; would be {state}{level}")
        if row["driver"]:
            lines.append(f"      {row['driver']}")
    return "\n".join(lines)


def _line(row: dict[str, Any], value: float | None, unit: str) -> str:
    segment = f" [{row['segment']}]" if row.get("segment") else ""
    lines = [
        f"{name} {_value(row[name], unit)}"
        for name in ("warn", "critical")
        if row.get(name) is not None
    ]
    limits = f" ({', '.join(lines)})" if lines else ""
    return f"{row['rule']}{segment}: {_value(value, unit)}{limits}"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "flag":
        return "yes" if value else "no"
    return f"{value:g}"


def _format_status(data: dict[str, Any]) -> str:
    lines = [f"Slack: {data['slack']}"]
    firing = [s for s in data["states"] if s["status"] != "ok"]
    lines.append(f"{len(firing)} of {len(data['states'])} alert states not ok")
    for state in firing:
        segment = f" [{state['segment']}]" if state["segment"] else ""
        level = f" {state['level']}" if state["level"] else ""
        lines.append(f"  {state['rule']}{segment}: {state['status']}{level} since {state['since']}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(data["outbox"].items())) or "empty"
    lines.append(f"outbox: {counts}")
    for row in data["failed"]:
        lines.append(f"  failed {row['key'][:12]}: {row['last_error']}")
    for silence in data["silences"]:
        lines.append(f"silence {silence['rule']} until {silence['until']}: {silence['reason']}")
    return "\n".join(lines)


def _format_history(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no alert transitions yet"
    return "\n".join(
        f"{row['at']}  {row['rule']}{' [' + row['segment'] + ']' if row['segment'] else ''}  "
        f"{row['kind']}{' ' + row['level'] if row.get('level') else ''}"
        f"{' (muted: ' + row['muted_by'] + ')' if row.get('muted_by') else ''}"
        for row in rows
    )


_FORMATS: dict[str, Callable[[Any], str]] = {
    "check": _format_check,
    "status": _format_status,
    "history": _format_history,
}
