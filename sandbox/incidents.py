"""Incidents switched on at a time for a duration: what an alert should catch.

``decline_spike:brand=visa,country=BR,start=2026-11-27T10:00,hours=2,rate=0.6`` makes that share
of matching charges fail (brand and country optional); ``webhook_outage:endpoint=1,start=…,
hours=6`` takes webhook endpoint 1 (the first, counting from 1) down; ``dispute_wave:start=…,
hours=24,rate=0.05`` disputes that share of the charges succeeding in the window. Times are UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

KINDS: dict[str, frozenset[str]] = {
    "decline_spike": frozenset({"brand", "country", "start", "hours", "rate"}),
    "webhook_outage": frozenset({"endpoint", "start", "hours"}),
    "dispute_wave": frozenset({"start", "hours", "rate"}),
}
REQUIRED: dict[str, frozenset[str]] = {
    "decline_spike": frozenset({"start", "hours", "rate"}),
    "webhook_outage": frozenset({"endpoint", "start", "hours"}),
    "dispute_wave": frozenset({"start", "hours", "rate"}),
}


@dataclass(frozen=True)
class Incident:
    """One incident over [start, end) in unix seconds."""

    kind: str
    start: int
    end: int
    rate: float = 0.0
    brand: str | None = None
    country: str | None = None
    endpoint: int = 1

    def covers(self, at: int) -> bool:
        return self.start <= at < self.end

    def matches_card(self, brand: str, country: str) -> bool:
        """Whether a charge on this card falls under a decline spike."""
        return self.brand in (None, brand) and self.country in (None, country)


def parse_incident(text: str) -> Incident:
    """``kind:key=value,…`` as an Incident; anything malformed raises one clear ValueError."""
    kind, _, rest = text.strip().partition(":")
    if kind not in KINDS:
        raise ValueError(f"incident {text!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    fields: dict[str, str] = {}
    for part in filter(None, rest.split(",")):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in KINDS[kind]:
            allowed = ", ".join(sorted(KINDS[kind]))
            raise ValueError(
                f"incident {text!r}: bad part {part!r} (expected key=value; {allowed})"
            )
        fields[key.strip()] = value.strip()
    missing = sorted(REQUIRED[kind] - set(fields))
    if missing:
        raise ValueError(f"incident {text!r}: missing {', '.join(missing)}")
    try:
        return _build(kind, fields)
    except ValueError as exc:
        raise ValueError(f"incident {text!r}: {exc}") from None


def _build(kind: str, fields: dict[str, str]) -> Incident:
    start = dt.datetime.fromisoformat(fields["start"])
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    hours = float(fields["hours"])
    rate = float(fields.get("rate", "0"))
    if hours <= 0 or not 0 <= rate <= 1:
        raise ValueError("hours must be positive and rate between 0 and 1")
    begin = int(start.timestamp())
    return Incident(
        kind,
        begin,
        begin + int(hours * 3_600),
        rate,
        fields.get("brand", "").lower() or None,
        fields.get("country", "").upper() or None,
        int(fields.get("endpoint", "1")),
    )


def active(incidents: Sequence[Incident], kind: str, at: int) -> list[Incident]:
    """The incidents of ``kind`` in force at ``at``."""
    return [i for i in incidents if i.kind == kind and i.covers(at)]
