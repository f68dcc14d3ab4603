"""The record of every request a sandbox server saw, so tests can count what a client did."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import NamedTuple


class RequestRecord(NamedTuple):
    """One request, as the server decided it.

    ``at`` is the wall-clock reading (the server's injected clock) at which the request was
    admitted, the same reading the rate limiter used, so a test can check the buckets on the
    log exactly. ``status`` is 0 for a connection reset. ``fault`` names an injected fault
    (``"500"``, ``"503"``, ``"lock"``, ``"reset"``, ``"stall"``, ``"truncate"``) and
    ``limited`` the limiter that refused it (``"global-rate"``, ``"endpoint-rate"``).
    """

    at: float
    method: str
    path: str  # path with query string, as requested
    status: int
    fault: str | None = None
    limited: str | None = None
    seq: int = 0  # the request's sequence number, which keys the fault decision


class RequestLog:
    """A thread-safe, append-only log of requests; iterating gives a snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        """The records so far, in the order their responses finished."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._records[index]
