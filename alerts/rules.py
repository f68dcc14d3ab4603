"""Alert rules: the built-in ones (`alerts/defaults.toml`) merged with the user's rules file.

A rules file holds one `[rules.NAME]` table per rule. A table named like a built-in rule changes
only the keys it sets (`enabled = false` drops the rule); any other name adds a rule. The merged
table is checked as a whole, so an override that leaves a rule inconsistent (a `warn` raised past
the built-in `resolve`) is an error, which says which value came from the defaults. Every
problem in a file is reported at once in one `RuleError` naming the file, the rule and the key,
so a file is fixed in one pass (docs/ALERTS.md "The rules file").
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from alerts.model import Rule
from metrics.summary_keys import is_summary_key, static_keys

BUILTIN_METRICS: Mapping[str, str] = MappingProxyType(
    {
        "payment_success": "payment success rate over the window (sampled; supports a baseline)",
        "webhook_delivery": "share of judged events delivered to every endpoint (sampled)",
        "dispute_new": "event: one reading per dispute created in the window (segment: its id)",
        "dispute_due": "condition per open dispute due within the window without evidence",
        "endpoint_disabled": "condition per disabled webhook endpoint (segment: its id)",
        "sync_stale": "sync intervals since the last successful sync",
        "sync_failing": "consecutive failed sync runs",
        "sync_degraded": "condition per gap in the synced data (segment: kind:table)",
        "integration_health": "integration health score: green signals of the 8 (state)",
    }
)
SYNC_METRICS = frozenset({"sync_stale", "sync_failing"})  # firing, they inhibit the others
SAMPLED_METRICS = frozenset({"payment_success", "webhook_delivery"})  # a sample and bounds
BASELINE_METRICS = frozenset({"payment_success"})
EVENT_METRICS = frozenset({"dispute_new"})
CONDITION_METRICS = frozenset({"dispute_due", "endpoint_disabled", "sync_degraded"})  # 1 holding
STATE_METRICS = frozenset(
    {"endpoint_disabled", "sync_stale", "sync_failing", "sync_degraded", "integration_health"}
)  # no window
SUMMARY_WINDOW = timedelta(days=30)  # a rule on a summary figure without a window
DEFAULTS_SOURCE = "alerts/defaults.toml"

_NAME = re.compile(r"[a-z0-9_]+")
_DURATION = re.compile(r"(\d+)(w|d|h|m|s)")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_HINT = 'write "90s", "15m", "1h", "24h", "30d", "2w" or "0"'


class RuleError(ValueError):
    """A rules file that cannot be used: one line per problem, each naming file, rule and key."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


class _Bad(ValueError):
    """One key's value is unusable (the message is completed with file, rule and key)."""


def parse_duration(text: str) -> timedelta:
    """ "90s", "15m", "1h", "24h", "30d", "2w", or "0"."""
    if text == "0":
        return timedelta(0)
    match = _DURATION.fullmatch(text)
    if match is None:
        raise _Bad(f'"{text}" is not a duration ({_DURATION_HINT})')
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def format_duration(span: timedelta | None) -> str:
    """The rules file's spelling of `span` ("never" for None): days from a week up, else the
    largest whole unit of hours, minutes or seconds ("24h", "72h", "30d", "90s")."""
    if span is None:
        return "never"
    seconds = int(span.total_seconds())
    units = [
        (u, size) for u, size in _UNITS.items() if u != "w" and (u != "d" or seconds >= 604800)
    ]
    unit, size = next((u, size) for u, size in units if seconds % size == 0)
    return "0" if seconds == 0 else f"{seconds // size}{unit}"


def is_rate(metric: str) -> bool:
    """Whether the metric's values are fractions 0..1 (so a line above 1 is a percent typo)."""
    last = metric.rsplit(".", 1)[-1]
    return metric in SAMPLED_METRICS or last.endswith(("rate", "share"))


def load_rules(path: Path | None) -> tuple[Rule, ...]:
    """The built-in rules, changed and extended by the rules file at `path` (None: built-ins
    only): built-in rules first in their order, then the file's new rules in its order."""
    text = resources.files("alerts").joinpath("defaults.toml").read_text(encoding="utf-8")
    defaults = _tables(DEFAULTS_SOURCE, text)
    if path is None:
        return _merge(defaults, {}, DEFAULTS_SOURCE)
    try:
        user_text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError([f"{path}: cannot read the rules file: {exc.strerror}"]) from None
    return _merge(defaults, _tables(str(path), user_text), str(path))


def _tables(source: str, text: str) -> dict[str, dict[str, Any]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError([f"{source}: not valid TOML: {exc}"]) from None
    errors = [
        f'{source}: unknown top-level key "{key}" (rules go in [rules.NAME] tables)'
        for key in document
        if key != "rules"
    ]
    rules = document.get("rules", {})
    if not isinstance(rules, dict):
        raise RuleError([*errors, f"{source}: rules go in [rules.NAME] tables"])
    tables: dict[str, dict[str, Any]] = {}
    for name, table in rules.items():
        if not _NAME.fullmatch(name):
            errors.append(f"{source}: rule {name}: names are lowercase letters, digits and _")
        elif not isinstance(table, dict):
            errors.append(f"{source}: rule {name}: expected a table [rules.{name}]")
        else:
            tables[name] = table
    if errors:
        raise RuleError(errors)
    return tables


def _merge(
    defaults: Mapping[str, Mapping[str, Any]], user: Mapping[str, Mapping[str, Any]], source: str
) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    errors: list[str] = []
    for name in [*defaults, *(name for name in user if name not in defaults)]:
        base, changes = defaults.get(name, {}), user.get(name, {})
        rule, problems = _build(name, {**base, **changes}, inherited=set(base) - set(changes))
        origin = source if name in user else DEFAULTS_SOURCE
        errors += [f'{origin}: rule {name}: key "{key}": {problem}' for key, problem in problems]
        if rule is not None:
            rules.append(rule)
    if errors:
        raise RuleError(errors)
    return tuple(rules)


Problems = list[tuple[str, str]]  # (key, what is wrong with it)


def _build(
    name: str, table: Mapping[str, Any], inherited: set[str]
) -> tuple[Rule | None, Problems]:
    """The rule of one merged table, or what is wrong with it; None as well when disabled."""
    values, problems = _converted(table)
    if problems:
        return None, problems
    problems = _check_metric(values) or _complete(values)  # later checks need these right
    if not problems:
        problems = _check_lines(values, inherited) + _check_options(values)
    if problems or not values.pop("enabled", True):
        return None, problems
    if values["kind"] == "event":
        values["repeat"] = None
    return Rule(name=name, **values), []


def _converted(table: Mapping[str, Any]) -> tuple[dict[str, Any], Problems]:
    values: dict[str, Any] = {}
    problems: Problems = []
    for key, raw in table.items():
        if key not in _CONVERT:
            near = difflib.get_close_matches(key, _CONVERT, n=1)
            hint = f'did you mean "{near[0]}"?' if near else f"known: {', '.join(_CONVERT)}"
            problems.append((key, f"unknown key ({hint})"))
            continue
        try:
            values[key] = _CONVERT[key](raw)
        except _Bad as bad:
            problems.append((key, str(bad)))
    return values, problems


def _check_metric(values: dict[str, Any]) -> Problems:
    metric = values.get("metric")
    if metric is None:
        return [("metric", "required: a built-in check or a summary key (customer_churn.rate)")]
    if metric in BUILTIN_METRICS or is_summary_key(metric):
        return []
    near = difflib.get_close_matches(metric, [*BUILTIN_METRICS, *static_keys()], n=3)
    hint = f"close matches: {', '.join(near)}" if near else "see docs/ALERTS.md for the names"
    return [("metric", f'unknown metric "{metric}" ({hint})')]


def _complete(values: dict[str, Any]) -> Problems:
    """Fill in what depends on the metric (kind, window, inhibition) and check those keys."""
    metric = values["metric"]
    event = metric in EVENT_METRICS
    kind = values.setdefault("kind", "event" if event else "threshold")
    values.setdefault("inhibited_by_sync", metric not in SYNC_METRICS)
    problems: Problems = []
    if event and kind != "event":
        problems.append(("kind", f'{metric} is an event metric: kind = "event"'))
    elif kind == "event" and not event:
        problems.append(("kind", f'"event" is the kind of {", ".join(EVENT_METRICS)} alone'))
    if metric in STATE_METRICS:
        if "window" in values:
            problems.append(("window", f"does not apply: {metric} checks the current state"))
        values["window"] = timedelta(0)
    elif "window" not in values:
        if metric in BUILTIN_METRICS:
            return [*problems, ("window", f"required for {metric}")]
        values["window"] = SUMMARY_WINDOW
    elif values["window"] <= timedelta(0):
        problems.append(("window", "must be longer than 0"))
    elif metric not in BUILTIN_METRICS and values["window"] % timedelta(days=1):
        problems.append(("window", 'summary figures cover whole days: write days ("30d")'))
    return problems


def _check_lines(values: dict[str, Any], inherited: set[str]) -> Problems:
    """Thresholds: present when the metric has them, fractions for a rate, and in order."""
    metric, kind = values["metric"], values["kind"]
    lines = [key for key in ("warn", "critical", "resolve") if key in values]
    if kind == "event" or metric in CONDITION_METRICS:
        what = "an event rule" if kind == "event" else f"{metric} (a condition)"
        return [(key, f"{what} has no thresholds: it fires at its severity") for key in lines]
    if "warn" not in values and "critical" not in values:
        return [("warn", "a threshold rule needs warn, critical or both")]

    def said(key: str) -> str:
        return f"{key} = {values[key]:g}" + (" (default)" if key in inherited else "")

    if is_rate(metric) and (typos := [key for key in lines if values[key] > 1]):
        return [
            (key, f"{said(key)} — rates are fractions ({values[key] / 100:g} for {values[key]:g}%)")
            for key in typos
        ]
    return _check_order(values, inherited, said)


def _check_order(
    values: dict[str, Any], inherited: set[str], said: Callable[[str], str]
) -> Problems:
    """critical is past warn, and resolve on the healthy side of both; the key named is the
    one the user set (the other may be a default's)."""
    direction = values.get("direction", "below")

    def past(a: str, b: str) -> bool:  # a is further on the unhealthy side than b
        return values[a] < values[b] if direction == "below" else values[a] > values[b]

    at_most, at_least = ("≤", "≥") if direction == "below" else ("≥", "≤")
    problems: Problems = []
    if "warn" in values and "critical" in values and past("warn", "critical"):
        key = "critical" if "critical" not in inherited else "warn"
        problems.append(
            (key, f'{said("critical")} must be {at_most} {said("warn")} for "{direction}"')
        )
    first = "warn" if "warn" in values else "critical"
    if "resolve" in values and past("resolve", first):
        key = "resolve" if "resolve" not in inherited else first
        healthy = "resolve is on the healthy side of the firing lines"
        problems.append((key, f"{said('resolve')} must be {at_least} {said(first)}: {healthy}"))
    return problems


def _check_options(values: dict[str, Any]) -> Problems:
    metric = values["metric"]
    problems: Problems = []
    if metric not in SAMPLED_METRICS:
        sampled = ", ".join(sorted(SAMPLED_METRICS))
        for key in ("min_sample", "max_window", "confidence"):
            if key in values and values[key] != 0:
                problems.append((key, f"applies to the sampled checks only ({sampled})"))
    if values.get("baseline_weeks", 0) and metric not in BASELINE_METRICS:
        problems.append(("baseline_weeks", f"only {', '.join(BASELINE_METRICS)} has a baseline"))
    if values.get("max_window", values["window"]) < values["window"]:
        window, widest = (format_duration(values[k]) for k in ("window", "max_window"))
        problems.append(("max_window", f'"{widest}" is shorter than window "{window}"'))
    if values["kind"] == "event":
        if values.get("pending"):
            problems.append(("pending", "an event rule sends at once (no pending)"))
        if values.get("repeat") is not None:
            problems.append(("repeat", 'an event rule is never repeated: write "never"'))
    if metric in SYNC_METRICS and values["inhibited_by_sync"]:
        problems.append(("inhibited_by_sync", f"{metric} is what inhibits: must be false"))
    return problems


def _shown(value: object) -> str:
    kinds = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    kind = kinds.get(type(value), "a table" if isinstance(value, dict) else "an array or date")
    return f'"{value}" ({kind})' if isinstance(value, str) else f"{value!r} ({kind})"


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected a string, got {_shown(value)}")
    return value


def _choice(*options: str) -> Callable[[object], str]:
    def convert(value: object) -> str:
        if _text(value) not in options:
            raise _Bad(f"must be {' or '.join(repr(o) for o in options)}, got {_shown(value)}")
        return str(value)

    return convert


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"expected a number, got {_shown(value)}")
    return float(value)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"expected a whole number, got {_shown(value)}")
    if value < 0:
        raise _Bad(f"must be 0 or more, got {value}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected true or false, got {_shown(value)}")
    return value


def _duration(value: object) -> timedelta:
    if not isinstance(value, str):
        raise _Bad(f"expected a duration string ({_DURATION_HINT}), got {_shown(value)}")
    return parse_duration(value)


def _repeat(value: object) -> timedelta | None:
    if value == "never":
        return None
    span = _duration(value)
    if not span:
        raise _Bad('must be longer than 0 (or "never")')
    return span


def _confidence(value: object) -> float:
    number = _number(value)
    if not 0 < number < 1:
        raise _Bad(f"must be between 0 and 1 (0.95 for 95%), got {number:g}")
    return number


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "metric": _text,
    "kind": _choice("threshold", "event"),
    "description": _text,
    "window": _duration,
    "direction": _choice("below", "above"),
    "warn": _number,
    "critical": _number,
    "resolve": _number,
    "severity": _choice("warning", "critical"),
    "min_sample": _count,
    "max_window": _duration,
    "pending": _duration,
    "repeat": _repeat,
    "baseline_weeks": _count,
    "confidence": _confidence,
    "inhibited_by_sync": _flag,
    "enabled": _flag,
}
RULE_KEYS: tuple[str, ...] = tuple(_CONVERT)  # every key a [rules.NAME] table may hold


def describe_rules(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """The rules as `paylens alerts rules --json` shows them: every setting in the rules
    file's own spelling, with `resolve` the line in force (None where it does not apply)."""
    return [
        {
            "name": rule.name,
            "metric": rule.metric,
            "description": rule.description,
            "kind": rule.kind,
            "window": format_duration(rule.window) if rule.window else None,
            "max_window": None if rule.max_window is None else format_duration(rule.max_window),
            "direction": None if rule.is_condition else rule.direction,
            "warn": rule.warn,
            "critical": rule.critical,
            "resolve": rule.resolve_line,
            "severity": rule.severity if rule.is_condition else None,
            "min_sample": rule.min_sample,
            "pending": format_duration(rule.pending),
            "repeat": format_duration(rule.repeat),
            "baseline_weeks": rule.baseline_weeks,
            "confidence": rule.confidence if rule.metric in SAMPLED_METRICS else None,
            "inhibited_by_sync": rule.inhibited_by_sync,
        }
        for rule in rules
    ]


def format_rules(rules: Iterable[Rule]) -> str:
    """The rules as a table for people (`paylens alerts rules`)."""
    header = ("RULE", "METRIC", "FIRES", "RESOLVES", "WINDOW", "PENDING", "REPEAT", "NOTES")
    rows = [header, *(_row(rule) for rule in rules)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    cells = (zip(row, widths, strict=True) for row in rows)
    return "\n".join("  ".join(cell.ljust(width) for cell, width in row).rstrip() for row in cells)


def _row(rule: Rule) -> tuple[str, ...]:
    def line(value: float | None) -> str:
        return (
            "" if value is None else f"{value * 100:g}%" if is_rate(rule.metric) else f"{value:g}"
        )

    sign, back = ("<", "≥") if rule.direction == "below" else (">", "≤")
    if rule.kind == "event":
        fires, resolves = f"each new one: {rule.severity}", "never"
    elif rule.is_condition:
        fires, resolves = f"while it holds: {rule.severity}", "when it stops"
    else:
        lines = [(rule.warn, "warning"), (rule.critical, "critical")]
        fires = ", ".join(f"{sign} {line(v)} {level}" for v, level in lines if v is not None)
        resolves = f"{back} {line(rule.resolve_line)}"
    window = format_duration(rule.window) if rule.window else "now"
    if rule.max_window is not None:
        window += f" (up to {format_duration(rule.max_window)})"
    notes = [f"at least {rule.min_sample}"] if rule.min_sample else []
    if rule.metric in SAMPLED_METRICS:
        notes.append(f"{rule.confidence:.0%} bound")
    if rule.baseline_weeks:
        notes.append(f"vs the {rule.baseline_weeks} weeks before")
    if not rule.inhibited_by_sync:
        notes.append("not inhibited by sync")
    pending, repeat = format_duration(rule.pending), format_duration(rule.repeat)
    return (rule.name, rule.metric, fires, resolves, window, pending, repeat, "; ".join(notes))
