"""What integration health is made of: signals, their evidence, declarations, the setup.

A signal is one item of the production checklist (issue #20) with a status, whether it was
`observed` in the account's data or `declared` by a person (what the API cannot show), the
evidence behind the status (short facts with numbers, each naming where it comes from: a table,
an endpoint, a declaration) and the one action that fixes it. `metrics.integration` builds them;
pages, the CLI and the alert only format or read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Status = Literal["green", "amber", "red", "unknown"]
Source = Literal["observed", "declared"]

# The checklist, in its order; `TITLES` is how people read each.
SIGNALS = (
    "webhooks",
    "idempotency",
    "portal",
    "tax",
    "dunning",
    "pci",
    "test_to_live",
    "monitoring",
)
TITLES = {
    "webhooks": "Webhook endpoints",
    "idempotency": "Idempotency keys",
    "portal": "Customer portal",
    "tax": "Tax",
    "dunning": "Failed-payment retries (dunning)",
    "pci": "PCI SAQ-A",
    "test_to_live": "Test → live",
    "monitoring": "Monitoring and alerting",
}
DECLARED = ("idempotency", "pci")  # cannot be seen through the API
PASSING = 5  # a score below it: stop and fix before adding features (the checklist's rule)
LOOKBACK = timedelta(days=90)  # the window of behaviour judged (invoices, charges, cancellations)
WEBHOOK_WINDOW = timedelta(days=30)  # Stripe keeps events 30 days
PCI_VALID = timedelta(days=365)  # an SAQ-A is renewed yearly


@dataclass(frozen=True)
class Evidence:
    """One fact behind a status; `source` names where it comes from."""

    text: str
    source: str


@dataclass(frozen=True)
class Signal:
    """One checklist item as of a day: its status, observed or declared, evidence and the one
    action that fixes it (for a green one, what keeps it green)."""

    key: str
    status: Status
    source: Source
    evidence: tuple[Evidence, ...]
    action: str

    @property
    def title(self) -> str:
        return TITLES[self.key]


@dataclass(frozen=True)
class Mistake:
    """A common mistake the data shows: how many times in the lookback (None: not readable),
    the evidence and what to do instead. It is not scored: the signals are."""

    key: str
    title: str
    count: int | None
    evidence: tuple[Evidence, ...]
    action: str


@dataclass(frozen=True)
class Declaration:
    """A person's answer for a signal the API cannot show: yes or no, the day it became true
    (the questionnaire's date, the day keys were added), who said so, and a note."""

    signal: str
    answer: bool
    on: date
    by: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.signal not in DECLARED:
            raise ValueError(f"{self.signal!r} is observed, not declared ({', '.join(DECLARED)})")


@dataclass(frozen=True)
class Monitoring:
    """paylens' own alerting as configured: the metrics of the enabled alert rules and whether
    a Slack webhook is set (the last delivery is read from the warehouse's outbox)."""

    rule_metrics: tuple[str, ...]
    slack: bool


@dataclass(frozen=True)
class Setup:
    """What the warehouse cannot hold: the declarations (oldest first; the newest dated by the
    day counts) and paylens' alerting (None: not known, the monitoring signal is unknown)."""

    declarations: tuple[Declaration, ...] = ()
    monitoring: Monitoring | None = None


@dataclass(frozen=True)
class IntegrationReport:
    """Every signal as of `as_of` (in `SIGNALS`' order) and the mistakes the data shows."""

    as_of: date
    signals: tuple[Signal, ...]
    mistakes: tuple[Mistake, ...]

    @property
    def score(self) -> int:
        """Greens, observed and declared."""
        return sum(signal.status == "green" for signal in self.signals)

    @property
    def observed_score(self) -> int:
        return sum(s.status == "green" and s.source == "observed" for s in self.signals)

    @property
    def declared_score(self) -> int:
        return sum(s.status == "green" and s.source == "declared" for s in self.signals)

    @property
    def out_of(self) -> int:
        return len(self.signals)

    @property
    def passing(self) -> bool:
        return self.score >= PASSING

    def signal(self, key: str) -> Signal:
        return next(signal for signal in self.signals if signal.key == key)
