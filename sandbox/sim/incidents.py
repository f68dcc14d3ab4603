"""Incidents switched on at a time for a duration: what an alert should catch.

``decline_spike:brand=visa,country=BR,start=2026-11-27T10:00,hours=2,rate=0.6`` makes that share
of matching charges fail (brand and country optional), each with a decline code drawn as usual,
or all with ``code=do_not_honor`` (any of ``sandbox.objects.payments.DECLINE_CODES``);
``webhook_outage:endpoint=1,start=…,hours=6`` takes webhook endpoint 1 (the first, counting from
1) down; ``dispute_wave:start=…,hours=24,rate=0.05`` disputes that share of the charges
succeeding in the window;
``checkout_wave:brand=visa,country=US,start=…,hours=48,per_hour=60,rate=0.02`` makes that many
one-off card payments an hour by existing customers (brand and country optional), each failing
with probability ``rate`` (default 0.02) unless a decline spike makes it worse. Times are UTC.

Python code builds the dataclass directly, in unix seconds:
``Incident("decline_spike", start, start + 7_200, 0.6, "visa", "BR", code="do_not_honor")``,
``Incident("checkout_wave", start, start + 48 * 3_600, 0.02, "visa", "US", per_hour=60)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.objects.payments import DECLINE_BY_CODE, DECLINE_CODES, Decline
from sandbox.objects.people import BRANDS, COUNTRIES

KINDS: dict[str, frozenset[str]] = {
    "decline_spike": frozenset({"brand", "country", "code", "start", "hours", "rate"}),
    "webhook_outage": frozenset({"endpoint", "start", "hours"}),
    "dispute_wave": frozenset({"start", "hours", "rate"}),
    "checkout_wave": frozenset({"brand", "country", "start", "hours", "per_hour", "rate"}),
}
REQUIRED: dict[str, frozenset[str]] = {
    "decline_spike": frozenset({"start", "hours", "rate"}),
    "webhook_outage": frozenset({"endpoint", "start", "hours"}),
    "dispute_wave": frozenset({"start", "hours", "rate"}),
    "checkout_wave": frozenset({"start", "hours"}),
}
DEFAULT_RATE = {"checkout_wave": "0.02"}  # what ``parse_incident`` assumes when rate is left out
MAX_PER_HOUR = 3_600  # one payment a second


@dataclass(frozen=True)
class Incident:
    """One incident over [start, end) in unix seconds.

    ``code`` (decline spikes only) is the decline code every failure the spike causes carries;
    None draws one per failure, weighted as the presets' declines are. A code the sandbox does
    not know is a ValueError listing the known ones. ``per_hour`` (checkout waves only) is how
    many payments the wave makes an hour, 1 to 3,600; a wave's brand and country must be ones
    the sandbox issues cards for, so that a typo is an error rather than a wave of nothing.
    """

    kind: str
    start: int
    end: int
    rate: float = 0.0
    brand: str | None = None
    country: str | None = None
    endpoint: int = 1
    code: str | None = None
    per_hour: int = 60

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r} (known: {', '.join(KINDS)})")
        if self.kind == "checkout_wave":
            _check_wave(self)
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
        """Whether a card falls under this incident (a spike's failures, a wave's payers)."""
        return self.brand in (None, brand) and self.country in (None, country)


def _check_wave(wave: Incident) -> None:
    """A checkout wave's own values: what ``Incident`` cannot type-check."""
    per_hour = wave.per_hour
    whole = isinstance(per_hour, int) and not isinstance(per_hour, bool)
    if not whole or not 1 <= per_hour <= MAX_PER_HOUR:
        raise ValueError(f"per_hour must be a whole number from 1 to {MAX_PER_HOUR}")
    if not 0 <= wave.rate <= 1:
        raise ValueError("rate must be between 0 and 1")
    if wave.end <= wave.start:
        raise ValueError("a checkout wave must end after it starts")
    brands = [b for b, _ in BRANDS]
    if wave.brand is not None and wave.brand not in brands:
        raise ValueError(f"unknown brand {wave.brand!r} (known: {', '.join(brands)})")
    if wave.country is not None and wave.country not in COUNTRIES:
        known = ", ".join(COUNTRIES)
        raise ValueError(f"unknown country {wave.country!r} (known: {known})")


def parse_incident(text: str) -> Incident:
    """``kind:key=value,…`` as an Incident; anything malformed raises one clear ValueError.

    Keys: ``decline_spike``: start, hours, rate, and optionally brand, country and code (a
    decline code, e.g. ``do_not_honor``); ``webhook_outage``: endpoint, start, hours;
    ``dispute_wave``: start, hours, rate; ``checkout_wave``: start, hours, and optionally
    brand, country, per_hour (default 60) and rate (default 0.02). ``start`` is ISO (UTC
    unless it says otherwise).
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
    rate = float(fields.get("rate", DEFAULT_RATE.get(kind, "0")))
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
        _per_hour(fields.get("per_hour", "60")),
    )


def _per_hour(text: str) -> int:
    """``per_hour`` as written: a whole number (its range is checked by ``Incident``)."""
    if not text.isdigit():
        raise ValueError(f"per_hour must be a whole number from 1 to {MAX_PER_HOUR}")
    return int(text)


def active(incidents: Sequence[Incident], kind: str, at: int) -> list[Incident]:
    """The incidents of ``kind`` in force at ``at``."""
    return [i for i in incidents if i.kind == kind and i.covers(at)]


def spiked(
    incidents: Sequence[Incident], at: int, brand: str, country: str, rate: float
) -> tuple[float, Decline | None]:
    """A first attempt's failure rate on this card at ``at`` under the decline spikes in force
    (each raises ``rate`` to its own at least), and the decline the first of them names."""
    named: Decline | None = None
    for spike in active(incidents, "decline_spike", at):
        if spike.matches_card(brand, country):
            rate = max(rate, spike.rate)
            named = named or spike.decline
    return rate, named
