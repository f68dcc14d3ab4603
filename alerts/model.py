"""What the alert engine reasons about: rules, readings, state, transitions and notifications.

A *rule* (`alerts/rules.py` loads them) is evaluated after every sync into one *reading* per
segment (the whole account is segment ``""``; per-dispute and per-endpoint checks have one
segment each). `alerts/decide.py` turns (state, reading, clock) into the next *state* and at most
one *transition*; the transitions of one cycle that are worth a message make one *notification*,
which the outbox delivers to Slack. Every time here is the account's clock (aware UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Level = Literal["warning", "critical"]
Direction = Literal["below", "above"]
Status = Literal["ok", "pending", "firing", "no_data"]
# threshold: fires while the value is past a line, resolves past the resolve line;
# event: one message per segment when it first appears (a new dispute), never resolved or repeated
Kind = Literal["threshold", "event"]
Unit = Literal["rate", "count", "hours", "money", "flag", "intervals"]  # how a value is shown
TransitionKind = Literal[
    "pending",  # ok → pending: past the line, waiting out `pending` (no message)
    "cancelled",  # pending → ok: back before `pending` ran out (no message)
    "firing",  # → firing (message)
    "escalated",  # warning → critical while firing (message)
    "deescalated",  # critical → warning while firing (message)
    "repeat",  # still firing after `repeat` (message)
    "resolved",  # firing → ok, with how long it fired (message)
    "no_data",  # → no_data: too small a sample to judge (no message)
    "event",  # an event rule's new segment (message)
]
LEVELS: tuple[Level, ...] = ("warning", "critical")
NOTIFYING: frozenset[TransitionKind] = frozenset(
    {"firing", "escalated", "deescalated", "repeat", "resolved", "event"}
)


@dataclass(frozen=True)
class Rule:
    """One `[rules.NAME]` table of the rules file, with its defaults applied.

    `metric` is a key of the summary (`metrics.summary_keys`) or a built-in check
    (`alerts.rules.BUILTIN_METRICS`). Thresholds compare the value with `direction`: "below"
    fires when value < line, "above" when value > line. `resolve` is the line the value must get
    back past to resolve (None: the lowest firing line). A rule with neither `warn` nor
    `critical` is a condition (the value is 1 when it holds, 0 when not) firing at `severity`.
    """

    name: str
    metric: str
    window: timedelta
    direction: Direction = "below"
    warn: float | None = None
    critical: float | None = None
    resolve: float | None = None
    severity: Level = "warning"
    min_sample: int = 0
    max_window: timedelta | None = None  # widen the window up to this to reach min_sample
    pending: timedelta = timedelta(0)  # Prometheus' `for:`
    repeat: timedelta | None = timedelta(hours=4)  # None: never repeat
    kind: Kind = "threshold"
    baseline_weeks: int = 0  # >0: compare with the same hours of that many previous weeks
    confidence: float = 0.95  # of the bound a sampled rate must clear to fire
    inhibited_by_sync: bool = True  # muted while the sync is stale or failing
    description: str = ""

    @property
    def is_condition(self) -> bool:
        return self.warn is None and self.critical is None

    def threshold(self, level: Level | None) -> float | None:
        """The firing line of `level` (None for a condition or event rule, or no such line)."""
        return {"warning": self.warn, "critical": self.critical}.get(level or "")

    @property
    def resolve_line(self) -> float | None:
        """The line a firing value must get back past: `resolve`, else the least severe firing
        line (`warn`, or `critical` when there is no `warn`); None for a condition."""
        if self.resolve is not None:
            return self.resolve
        return self.warn if self.warn is not None else self.critical


@dataclass(frozen=True)
class Reading:
    """A rule's value for one segment at `at`, with what a message needs to explain it.

    `value` None means no data (nothing to compute it from). For a sampled rate, `sample` is its
    size, `low`/`high` the confidence interval (Wilson) and `baseline` the rate of the same hours
    in previous weeks. Text from the account (`detail`: customer names, dispute reasons) is raw
    here and escaped by whoever renders it.
    """

    rule: str
    at: datetime
    value: float | None
    segment: str = ""
    label: str = ""  # what the value is: "Payment success rate", "Dispute dp_… due in 40 h"
    unit: Unit = "rate"
    sample: int | None = None
    low: float | None = None
    high: float | None = None
    baseline: float | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    trend: tuple[float | None, ...] = ()  # oldest first, over the window
    driver: str | None = None  # "most of the drop is Visa cards issued in BR …"
    detail: str | None = None
    page: str = ""  # the dashboard page that shows it: "payments", "disputes", "health", …
    query: Mapping[str, str] = field(default_factory=dict)  # that page's filters


@dataclass(frozen=True)
class AlertState:
    """Where one rule × segment stands. `since`: when `status` began; `fired_at`: when the
    current firing began (for the resolved duration); `notified_at`: the last message about it
    (None while firing means no message went out yet, e.g. silenced)."""

    rule: str
    segment: str
    status: Status
    since: datetime
    level: Level | None = None
    fired_at: datetime | None = None
    notified_at: datetime | None = None
    value: float | None = None


@dataclass(frozen=True)
class Silence:
    """Mutes messages of a rule (one segment, or all with None) until `until`; state still moves."""

    id: str
    rule: str
    until: datetime
    reason: str
    created: datetime
    segment: str | None = None
    created_by: str = ""

    def covers(self, rule: str, segment: str, at: datetime) -> bool:
        in_force = self.created <= at < self.until
        return self.rule == rule and self.segment in (None, segment) and in_force


@dataclass(frozen=True)
class Transition:
    """One change of an alert's state. `notify`: it belongs in this cycle's message (False for
    pending/cancelled/no_data, and when muted: `muted_by` says by what)."""

    rule: str
    segment: str
    kind: TransitionKind
    at: datetime
    before: Status
    after: Status
    level: Level | None
    value: float | None
    threshold: float | None
    notify: bool
    muted_by: str | None = None  # "silence <id>: <reason>" or "sync <rule>"
    duration: timedelta | None = None  # resolved: how long it fired
    reading: Reading | None = None


@dataclass(frozen=True)
class Notification:
    """The one message of a cycle: its notifying transitions, most severe first. `key` is the
    idempotency key (the same transitions always give the same key)."""

    key: str
    created: datetime
    changes: tuple[Transition, ...]
