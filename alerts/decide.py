"""What to send: each alert's next state from its reading and the clock, and the cycle's message.

Pure functions of (rules, states, readings, silences, now): no I/O and no clock reads, so the
whole behaviour is a table of cases (tests/alerts/test_decide.py). Messages come from
*transitions* only (healthchecks' flips): an alert that stays down sends one message, then one
per `repeat`. docs/ALERTS.md "How an alert behaves" tells the same story for users.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from alerts.model import (
    NOTIFYING,
    AlertState,
    Level,
    Notification,
    Reading,
    Rule,
    Silence,
    Status,
    Transition,
    TransitionKind,
)
from alerts.rules import SYNC_METRICS

# What one reading says on its own: too little data, a level it breaches, back on the healthy
# side of the resolve line ("clear"), or between that line and the firing line ("hold").
Verdict = Literal["no_data", "clear", "hold", "warning", "critical"]


@dataclass(frozen=True)
class Decision:
    """The alert's next state (None: nothing to keep, the segment is gone) and its transition."""

    state: AlertState | None
    transition: Transition | None


@dataclass(frozen=True)
class CyclePlan:
    """Every state after the cycle, its transitions, and its one message (None: nothing to say)."""

    states: tuple[AlertState, ...]
    transitions: tuple[Transition, ...]
    notification: Notification | None


def classify(rule: Rule, reading: Reading) -> Verdict:
    """What `reading` says. A sampled rate breaches a line only when its confidence bound on the
    unhealthy side is past the line (and past the baseline, for a rule with one): a drop must
    be significant for the sample. Resolving compares the value itself with the resolve line."""
    value = reading.value
    if value is None or (rule.min_sample and (reading.sample or 0) < rule.min_sample):
        return "no_data"
    if rule.kind == "event" or rule.is_condition:
        return rule.severity if value >= 1 else "clear"
    bound = reading.high if rule.direction == "below" else reading.low
    evidence = value if bound is None else bound
    baseline = reading.baseline if rule.baseline_weeks > 0 else None
    if baseline is None or _past(rule, evidence, baseline):
        for level in _SEVERE_FIRST:
            line = rule.threshold(level)
            if line is not None and _past(rule, evidence, line):
                return level
    resolve = rule.resolve_line
    if resolve is not None and baseline is not None:
        resolve = _normal_resolve(rule, resolve, baseline)
    return "hold" if resolve is not None and _past(rule, value, resolve) else "clear"


def _normal_resolve(rule: Rule, resolve: float, baseline: float) -> float:
    """With a baseline, back to the account's normal resolves: an account whose usual rate is
    below the resolve line (93% against 96%) resolves once the value is within the gap between
    the resolve and firing lines of its baseline, instead of holding for ever."""
    line = rule.threshold("warning") if rule.warn is not None else rule.threshold("critical")
    gap = 0.0 if line is None else abs(resolve - line)
    if rule.direction == "below":
        return min(resolve, baseline - gap)
    return max(resolve, baseline + gap)


def _past(rule: Rule, value: float, line: float) -> bool:
    """Whether `value` is on the unhealthy side of `line` (below it for a "below" rule)."""
    return value < line if rule.direction == "below" else value > line


def decide(
    rule: Rule,
    state: AlertState | None,
    reading: Reading | None,
    now: datetime,
    *,
    silence: Silence | None = None,
    inhibited_by: str | None = None,
    acknowledged: datetime | None = None,
) -> Decision:
    """The next state of one rule × segment. `state` None: never seen; `reading` None: the
    segment is gone (a closed dispute, a re-enabled endpoint). While `inhibited_by` names a
    firing sync rule the state is frozen: no transition, nothing sent, nothing resolved on
    stale data. Under `silence` the state moves as usual but nothing is sent. `acknowledged`:
    when someone last acknowledged it; an acknowledged firing is not repeated (an escalation
    and the resolve are still sent, and a new firing is not acknowledged)."""
    if inhibited_by is not None:
        return Decision(state, None)
    if reading is None:
        if state is None:
            return Decision(None, None)
        return _Step(rule, None, now, _muted(silence, rule, state.segment, now)).gone(state)
    fired_at = None if state is None else state.fired_at
    seen = acknowledged is not None and fired_at is not None and acknowledged >= fired_at
    step = _Step(rule, reading, now, _muted(silence, rule, reading.segment, now), seen)
    if rule.kind == "event":
        return step.event(state)
    current = state or AlertState(rule.name, reading.segment, "ok", since=now)
    return step.threshold(current, classify(rule, reading))


def plan(
    rules: Iterable[Rule],
    states: Mapping[tuple[str, str], AlertState] | Iterable[AlertState],
    readings: Iterable[Reading],
    now: datetime,
    silences: Iterable[Silence] = (),
    acknowledged: Mapping[tuple[str, str], datetime] | None = None,
) -> CyclePlan:
    """The cycle at `now`. Steps: index states and readings by (rule, segment); decide the
    sync rules; decide every other rule × segment (a state without a reading too), frozen while
    a sync rule fires if the rule is `inhibited_by_sync`; group the transitions that notify into
    the one notification. States of rules not in `rules` pass through unchanged.
    `acknowledged`: (rule, segment) → when it was last acknowledged."""
    rules, silences = tuple(rules), tuple(silences)
    known = {
        (state.rule, state.segment): state
        for state in (states.values() if isinstance(states, Mapping) else states)
    }
    current: dict[str, dict[str, Reading]] = {}
    for reading in readings:
        current.setdefault(reading.rule, {})[reading.segment] = reading

    def decide_rule(rule: Rule, inhibited_by: str | None) -> list[Decision]:
        got = current.get(rule.name, {})
        segments = sorted({*got, *(segment for name, segment in known if name == rule.name)})
        return [
            decide(
                rule,
                known.get((rule.name, segment)),
                got.get(segment),
                now,
                silence=next((s for s in silences if s.covers(rule.name, segment, now)), None),
                inhibited_by=inhibited_by,
                acknowledged=(acknowledged or {}).get((rule.name, segment)),
            )
            for segment in segments
        ]

    sync = [rule for rule in rules if rule.metric in SYNC_METRICS]
    decided = [decision for rule in sync for decision in decide_rule(rule, None)]
    firing = [d.state.rule for d in decided if d.state is not None and d.state.status == "firing"]
    inhibitor = firing[0] if firing else None
    for rule in rules:
        if rule.metric not in SYNC_METRICS:
            decided += decide_rule(rule, inhibitor if rule.inhibited_by_sync else None)
    names = {rule.name for rule in rules}
    untouched = tuple(state for state in known.values() if state.rule not in names)
    after = tuple(d.state for d in decided if d.state is not None) + untouched
    transitions = tuple(d.transition for d in decided if d.transition is not None)
    return CyclePlan(after, transitions, _notification(transitions, now))


def _notification(transitions: Iterable[Transition], now: datetime) -> Notification | None:
    """The notifying transitions, most severe first: critical, then warning, then resolved
    (a stable sort keeps the rules' order within each). The key hashes what the message says."""
    changes = sorted((t for t in transitions if t.notify), key=_rank)
    if not changes:
        return None
    said = sorted([t.rule, t.segment, t.kind, t.at.isoformat()] for t in changes)
    key = hashlib.sha256(json.dumps(said).encode()).hexdigest()
    return Notification(key=key, created=now, changes=tuple(changes))


def _rank(transition: Transition) -> int:
    if transition.kind == "resolved":
        return 2
    return 0 if transition.level == "critical" else 1


def _muted(silence: Silence | None, rule: Rule, segment: str, now: datetime) -> str | None:
    if silence is None or not silence.covers(rule.name, segment, now):
        return None
    return f"silence {silence.id}: {silence.reason}"


_LEVEL_OF: Mapping[str, Level] = {"warning": "warning", "critical": "critical"}
_SEVERE_FIRST: tuple[Level, ...] = ("critical", "warning")


@dataclass(frozen=True)
class _Step:
    """One decision: the moves an alert can make on this reading at `now`."""

    rule: Rule
    reading: Reading | None
    now: datetime
    muted: str | None  # "silence <id>: <reason>" while a silence covers the alert
    acknowledged: bool = False  # someone acknowledged this firing: no repeats

    def threshold(self, current: AlertState, verdict: Verdict) -> Decision:
        status, level = current.status, _LEVEL_OF.get(verdict)
        if status == "firing" and verdict != "no_data":
            return self.resolve(current) if verdict == "clear" else self.firing(current, level)
        if level is not None:
            return self.breach(current, level)
        if verdict == "no_data":
            # a firing alert keeps firing, unrepeated, while it cannot be judged (Alertmanager)
            if status in ("firing", "no_data"):
                return self.keep(current)
            return self.go(current, self.enter(current, "no_data", None), "no_data")
        if status == "pending" and verdict == "clear":
            return self.go(current, self.enter(current, "ok", None), "cancelled")
        if status == "no_data":  # judged again, and not breaching: quietly ok
            return Decision(self.enter(current, "ok", None), None)
        return self.keep(current)  # ok stays ok; a pending alert waits between the lines

    def breach(self, current: AlertState, level: Level) -> Decision:
        """ok, no data or pending, and past a line: pending first if the rule says so."""
        if current.status == "pending":
            if self.now - current.since >= self.rule.pending:
                return self.fire(current, level, "firing")
            return self.keep(replace(current, level=level))
        if self.rule.pending:
            return self.go(current, self.enter(current, "pending", level), "pending")
        return self.fire(current, level, "firing")

    def firing(self, current: AlertState, breached: Level | None) -> Decision:
        """Still firing (past a line, or holding between the lines): escalate on evidence,
        deescalate once the value itself is back past the critical line, else maybe repeat."""
        level = self.level_in_force(current, breached)
        if level == current.level:
            return self.still_firing(current)
        changed = replace(current, level=level, value=self.value)
        if current.notified_at is None and self.muted is None:  # never sent: say it fires
            return self.go(current, changed, "firing")
        return self.go(current, changed, "escalated" if level == "critical" else "deescalated")

    def level_in_force(self, current: AlertState, breached: Level | None) -> Level:
        critical, value = self.rule.critical, self.value
        if breached == "critical" or current.level is None:
            return breached or "warning"
        still = critical is not None and value is not None and _past(self.rule, value, critical)
        if current.level == "critical" and (still or self.rule.warn is None):
            return "critical"
        return breached or "warning"

    def fire(self, current: AlertState, level: Level, kind: TransitionKind) -> Decision:
        fired = replace(self.enter(current, "firing", level), fired_at=self.now, notified_at=None)
        return self.go(current, fired, kind)

    def still_firing(self, current: AlertState) -> Decision:
        """Repeat what still fires after `repeat`; a firing never sent (it began under a
        silence) is sent as a firing once no silence covers it."""
        kept, last = replace(current, value=self.value), current.notified_at
        if self.muted is not None:
            return Decision(kept, None)
        if last is None:
            return self.go(current, kept, "firing")
        due = self.rule.repeat is not None and self.now - last >= self.rule.repeat
        if due and not self.acknowledged:
            return self.go(current, kept, "repeat")
        return Decision(kept, None)

    def resolve(self, current: AlertState) -> Decision:
        """Back to ok, with how long it fired; a message only if the firing was sent."""
        resolved = replace(self.enter(current, "ok", None), fired_at=None)
        duration = self.now - (current.fired_at or current.since)
        sent = current.notified_at is not None
        return self.go(current, resolved, "resolved", sent=sent, duration=duration)

    def event(self, state: AlertState | None) -> Decision:
        """One message when a segment first appears; kept silently until it goes."""
        if state is not None:
            return self.keep(state)
        assert self.reading is not None
        level = _LEVEL_OF.get(classify(self.rule, self.reading))
        if level is None:
            return Decision(None, None)
        new = AlertState(self.rule.name, self.reading.segment, "ok", since=self.now)
        return self.fire(new, level, "event")

    def gone(self, state: AlertState) -> Decision:
        """The segment has no reading any more: a firing resolves, the rest is dropped."""
        if self.rule.kind == "event" or state.status in ("ok", "no_data"):
            return Decision(None, None)
        if state.status == "pending":
            moved = self.go(state, self.enter(state, "ok", None), "cancelled")
        else:
            moved = self.resolve(state)
        return Decision(None, moved.transition)

    def keep(self, current: AlertState) -> Decision:
        return Decision(replace(current, value=self.value), None)

    def enter(self, current: AlertState, status: Status, level: Level | None) -> AlertState:
        return replace(current, status=status, since=self.now, level=level, value=self.value)

    @property
    def value(self) -> float | None:
        return None if self.reading is None else self.reading.value

    def go(
        self,
        before: AlertState,
        after: AlertState,
        kind: TransitionKind,
        *,
        sent: bool = True,
        duration: timedelta | None = None,
    ) -> Decision:
        """`before` → `after` as a `kind` transition: a message when the kind notifies, the
        alert was `sent` (for a resolved) and no silence covers it; `notified_at` records it."""
        notify = sent and kind in NOTIFYING and self.muted is None
        if notify:
            after = replace(after, notified_at=self.now)
        level = after.level or before.level
        line = self.rule.resolve_line if kind == "resolved" else self.rule.threshold(level)
        transition = Transition(
            rule=self.rule.name,
            segment=after.segment,
            kind=kind,
            at=self.now,
            before=before.status,
            after=after.status,
            level=level,
            value=self.value,
            threshold=line,
            notify=notify,
            muted_by=self.muted if kind in NOTIFYING else None,
            duration=duration,
            reading=self.reading,
        )
        return Decision(after, transition)
