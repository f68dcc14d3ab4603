"""The account's clock: Stripe's time, as its responses tell it (the `Date` header).

Everything in a run that depends on "now" — the events cursor, its age, the 30-day events
window, the runs' times — is on the account's clock, never the machine's: a machine whose date
is off, or a sandbox serving a simulated year, must sync exactly as a real account today.

Every response (errors and 429s included) carries a `Date` with whole seconds; the clock keeps
the greatest one seen (a slow response from a parallel worker never sets it back) and the
monotonic instant it was seen, and reads as that time plus the monotonic seconds since. Until a
run has heard from Stripe it falls back to the machine's time plus an offset the engine assumes
from the previous run; the first observation replaces that guess, after which the clock never
goes backwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class AccountClock:
    """Callable: the account's time now, an aware UTC datetime."""

    def __init__(
        self,
        machine: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._machine, self._monotonic = machine, monotonic
        self._lock = threading.Lock()
        self._offset = 0.0  # assumed server minus machine seconds, until an observation
        self._seen: float | None = None  # the greatest server time observed (unix seconds)
        self._seen_at = 0.0  # the monotonic instant it was observed
        self._learned = 0.0  # server minus machine seconds at that observation
        self._last = float("-inf")  # the latest time returned since the first observation

    @property
    def observed(self) -> bool:
        """Whether Stripe's time has been heard (else the clock is a guess)."""
        return self._seen is not None

    def assume_offset(self, seconds: float) -> None:
        """Until the first observation, read as the machine's time plus `seconds`."""
        with self._lock:
            self._offset = seconds

    def observe(self, server: datetime, at: float | None = None) -> None:
        """Stripe said it was `server` at the monotonic instant `at` (now when omitted)."""
        moment = self._monotonic() if at is None else at
        seconds = server.timestamp()
        with self._lock:
            if self._seen is not None and seconds < self._seen:
                return
            self._seen, self._seen_at = seconds, moment
            self._learned = seconds - (self._machine() - (self._monotonic() - moment))

    def observe_headers(self, headers: Mapping[str, str] | None, at: float) -> None:
        """Observe a response's `Date` header, if it has a valid one."""
        value = (headers or {}).get("Date") or (headers or {}).get("date")
        if not value:
            return
        try:
            server = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return
        self.observe(server if server.tzinfo else server.replace(tzinfo=UTC), at)

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.seconds(), UTC)

    def seconds(self) -> float:
        """The account's unix time now."""
        with self._lock:
            if self._seen is None:
                return self._machine() + self._offset
            now = max(self._last, self._seen + self._monotonic() - self._seen_at)
            self._last = now
            return now

    def at(self, moment: float) -> datetime:
        """The account's time at an earlier monotonic instant `moment` (e.g. a run's start,
        recorded before Stripe was heard)."""
        with self._lock:
            if self._seen is None:
                seconds = self._machine() - (self._monotonic() - moment) + self._offset
            else:
                seconds = self._seen - (self._seen_at - moment)
        return datetime.fromtimestamp(seconds, UTC)

    def last_seen(self) -> datetime | None:
        """The greatest time Stripe has said it was, or None before it said any."""
        with self._lock:
            seen = self._seen
        return None if seen is None else datetime.fromtimestamp(seen, UTC)

    def offset(self) -> float:
        """Server minus machine seconds: as learned from Stripe, else as assumed."""
        with self._lock:
            return self._offset if self._seen is None else self._learned
