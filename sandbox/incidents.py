"""Incidents switched on at a time for a duration: what an alert should catch.

``decline_spike:brand=visa,country=BR,start=2026-11-27T10:00,hours=2,rate=0.6`` makes that share
of matching charges fail (brand and country optional), each with a decline code drawn as usual,
or all with ``code=do_not_honor`` (any of ``sandbox.payments.DECLINE_CODES``);
``webhook_outage:endpoint=1,start=…,hours=6`` takes webhook endpoint 1 (the first, counting from
1) down; ``dispute_wave:start=…,hours=24,rate=0.05`` disputes that share of the charges
succeeding in the window. Times are UTC.

Python code builds the dataclass directly, in unix seconds:
``Incident("decline_spike", start, start + 7_200, 0.6, "visa", "BR", code="do_not_honor")``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.payments import DECLINE_BY_CODE, DECLINE_CODES, Decline

KINDS: dict[str, frozenset[str]] = {
    "decline_spike": frozenset({"brand", "country", "code", "start", "hours", "rate"}),
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
    """One incident over [start, end) in unix seconds.

    ``code`` (decline spikes only) is the decline code every failure the spike causes carries;
    None draws one per failure, weighted as the presets' declines are. A code the sandbox does
    not know is a ValueError listing the known ones.
    """

    kind: str
    start: int
    end: int
    rate: float = 0.0
    brand: str | None = None
    country: str | None = None
    endpoint: int = 1
    code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r} (known: {', '.join(KINDS)})")
        if self.code is not None and self.kind != "decline_spike":
            raise ValueError(f"code is for decline_spike, not {self.kind}")
        if self.code is not None and self.code not in DECLINE_BY_CODE:
            known = ", ".join(DECLINE_CODES)
            raise ValueError(f"unknown decline code {self.code!r} (known: {known})")

    @property
    def decline(self) -> Decline | None:
        """The decline every failure of this spike carries (None: drawn per failure)."""
        return None if self.code is None else DECLINE_BY_CODE[self.code]

    def covers(self, at: int) -> bool:
        return self.start <= at < self.end

    def matches_card(self, brand: str, country: str) -> bool:
        """Whether a charge on this card falls under a decline spike."""
        return self.brand in (None, brand) and self.country in (None, country)


def parse_incident(text: str) -> Incident:
    """``kind:key=value,…`` as an Incident; anything malformed raises one clear ValueError.

    Keys: ``decline_spike``: start, hours, rate, and optionally brand, country and code (a
    decline code, e.g. ``do_not_honor``); ``webhook_outage``: endpoint, start, hours;
    ``dispute_wave``: start, hours, rate. ``start`` is ISO (UTC unless it says otherwise).
    """
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
        fields.get("code", "").lower() or None,
    )


def active(incidents: Sequence[Incident], kind: str, at: int) -> list[Incident]:
    """The incidents of ``kind`` in force at ``at``."""
    return [i for i in incidents if i.kind == kind and i.covers(at)]
