"""Injected faults: which requests fail, and how, as a pure function of (seed, sequence number).

A client's retry logic is only tested if failures are reproducible, so the decision for the
n-th request never depends on timing, threads or the clock: the same request sequence under
the same seed meets the same faults. A window (wall seconds since start, or simulated time)
limits the faults to a stretch; requests outside it are never faulted.

Grammar of the ``--faults`` string (comma-separated, any order, each key at most once)::

    500=0.1,503=0.02,lock=0.02,reset=0.02,stall=0.01,truncate=0.01,echo=0.01
    window=wall:5-20                               seconds since the server started, [5, 20)
    window=sim:2026-11-01T00:00..2026-11-02T00:00  simulated UTC time, [start, end)
    stall_seconds=5                                how long a stall holds the answer back
    403=refunds+disputes                           these list endpoints refuse the key (403)
    404=disputes                                   these list endpoints are not served (404)
    deep=cus_1+ch_2                                these objects' metadata nests 50,000 deep
    drop_events=sim:2026-11-01T06:00..2026-11-01T08:00  events created then are lost

The last four hold for every request, whatever the window: a resource the key may not read,
or that the API does not serve, an object no JSON decoder with a recursion limit decodes, and
events that never reach the client (created in the simulated span: not listed, not retrieved),
as when a sync misses events (a webhook never delivered, events older than Stripe keeps).

Shares are fractions of requests in [0, 1] and together at most 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sandbox.api.errors import ApiError, echoed_authorization, forbidden, unrecognized

KINDS = ("500", "503", "lock", "reset", "stall", "truncate", "echo")
DEFAULT_STALL_SECONDS = 5.0
REFUSALS = ("403", "404")  # keys naming list endpoints refused on every request
DEEP_DEPTH = 50_000  # how deep a `deep` object's metadata nests
_DEEP_MARK = "__paylens_deep__"


@dataclass(frozen=True)
class Window:
    """A half-open stretch [start, end) of wall seconds since start, or of simulated time."""

    clock: str  # "wall" or "sim"
    start: float
    end: float

    def contains(self, wall_elapsed: float, sim_now: float) -> bool:
        moment = wall_elapsed if self.clock == "wall" else sim_now
        return self.start <= moment < self.end


@dataclass(frozen=True)
class FaultPlan:
    """The share of requests meeting each fault kind, optionally only within ``window``."""

    shares: tuple[tuple[str, float], ...] = ()
    window: Window | None = None
    stall_seconds: float = DEFAULT_STALL_SECONDS
    refused: tuple[tuple[str, str], ...] = ()  # (resource, "403" | "404")
    deep: frozenset[str] = frozenset()  # ids of objects served with metadata nested too deep
    lost: Window | None = None  # events created in this simulated span are never served

    def refusal(self, path: str) -> ApiError | None:
        """The 403 or 404 for a list endpoint the plan refuses (``/v1/<resource>``), else None."""
        bare = path.split("?", 1)[0].rstrip("/")
        for resource, status in self.refused:
            if bare == f"/v1/{resource}":
                if status == "404":
                    return unrecognized("GET", bare)
                return forbidden("sk_test_fault", f"rak_{resource.rstrip('s')}_read")
        return None

    def deepen(self, body: bytes) -> bytes:
        """``body`` with the metadata of each `deep` object it lists (or is) nested
        DEEP_DEPTH levels: valid JSON that Python's json module cannot decode."""
        if not self.deep or not any(f'"{i}"'.encode() in body for i in self.deep):
            return body
        decoded = json.loads(body)
        found = decoded.get("data") if decoded.get("object") == "list" else [decoded]
        for item in found if isinstance(found, list) else []:
            if isinstance(item, dict) and item.get("id") in self.deep:
                item["metadata"] = {"nested": _DEEP_MARK}
        nested = '{"a":' * DEEP_DEPTH + "1" + "}" * DEEP_DEPTH
        return json.dumps(decoded).replace(f'"{_DEEP_MARK}"', nested).encode()

    def lose_events(self, path: str, body: bytes) -> bytes | None:
        """``body`` of an events list without the `lost` events; None when ``path`` retrieves a
        lost event (its answer is a 404). Other answers are returned unchanged."""
        if self.lost is None or not path.startswith("/v1/events"):
            return body
        decoded = json.loads(body)
        if decoded.get("object") == "event":
            return None if self._is_lost(decoded) else body
        data = decoded.get("data")
        if decoded.get("object") != "list" or not isinstance(data, list):
            return body
        kept = [event for event in data if not self._is_lost(event)]
        if len(kept) == len(data):
            return body
        decoded["data"] = kept
        return json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode()

    def _is_lost(self, event: object) -> bool:
        created = event.get("created") if isinstance(event, dict) else None
        lost = self.lost
        return lost is not None and isinstance(created, int) and lost.start <= created < lost.end

    def decide(self, seed: int, seq: int, *, wall_elapsed: float, sim_now: float) -> str | None:
        """The fault for request number ``seq`` (a kind from ``KINDS``) or None."""
        if not self.shares:
            return None
        if self.window is not None and not self.window.contains(wall_elapsed, sim_now):
            return None
        draw = uniform(seed, seq)
        for kind, share in self.shares:
            if draw < share:
                return kind
            draw -= share
        return None


def uniform(seed: int, seq: int) -> float:
    """A uniform draw in [0, 1) fixed by (seed, seq); a hash, so no generator state to share."""
    digest = hashlib.blake2b(f"{seed}:{seq}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def parse_faults(text: str) -> FaultPlan:
    """Parse the grammar in the module docstring; ValueError says what is wrong."""
    shares: dict[str, float] = {}
    window: Window | None = None
    stall = DEFAULT_STALL_SECONDS
    refused: list[tuple[str, str]] = []
    deep: frozenset[str] = frozenset()
    lost: Window | None = None
    seen: set[str] = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise ValueError(f"expected key=value in the fault list, got {item!r}")
        if key in seen:
            raise ValueError(f"fault key {key!r} given twice")
        seen.add(key)
        if key == "window":
            window = parse_window(value)
        elif key == "stall_seconds":
            stall = _number(key, value, upper=None)
        elif key in REFUSALS:
            refused.extend((resource, key) for resource in _names(key, value))
        elif key == "deep":
            deep = frozenset(_names(key, value))
        elif key == "drop_events":
            lost = parse_window(value)
            if lost.clock != "sim":
                raise ValueError(f"drop_events takes a simulated span (sim:…), got {value!r}")
        elif key in KINDS:
            shares[key] = _number(key, value, upper=1.0)
        else:
            raise ValueError(f"unknown fault {key!r}: expected one of {', '.join(KINDS)}")
    if sum(shares.values()) > 1.0 + 1e-9:
        raise ValueError("fault shares add up to more than 1")
    ordered = tuple((kind, shares[kind]) for kind in KINDS if shares.get(kind))
    return FaultPlan(ordered, window, stall, tuple(refused), deep, lost)


def _names(key: str, value: str) -> list[str]:
    """`a+b+c` → its names (resources or object ids), each made of letters, digits and `_`."""
    names = [name.strip() for name in value.split("+")]
    if not all(name and name.replace("_", "").isalnum() for name in names):
        raise ValueError(f"{key}: expected names joined by '+', got {value!r}")
    return names


def parse_window(text: str) -> Window:
    """``wall:START-END`` (seconds) or ``sim:ISO..ISO`` (UTC unless an offset is given)."""
    clock, _, span = text.partition(":")
    if clock == "wall":
        start, sep, end = span.partition("-")
        if not sep:
            raise ValueError(f"expected window=wall:START-END in seconds, got {text!r}")
        bounds = (_number("window", start, upper=None), _number("window", end, upper=None))
    elif clock == "sim":
        start, sep, end = span.partition("..")
        if not sep:
            raise ValueError(f"expected window=sim:START..END as ISO times, got {text!r}")
        bounds = (_instant(start), _instant(end))
    else:
        raise ValueError(f"a fault window is wall:… or sim:…, got {text!r}")
    if bounds[1] <= bounds[0]:
        raise ValueError(f"the fault window {text!r} ends before it starts")
    return Window(clock, *bounds)


def _number(key: str, text: str, *, upper: float | None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{key}: expected a number, got {text!r}") from None
    if value < 0 or (upper is not None and value > upper) or value != value:
        raise ValueError(f"{key}: {text} is out of range")
    return value


def _instant(text: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected an ISO date or time, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def fault_error(
    kind: str, authorization: str | None = None
) -> tuple[ApiError, tuple[tuple[str, str], ...]]:
    """The error and extra headers Stripe sends for a 500, a 503 or a lock timeout; ``echo``
    is a 400 quoting the request's ``Authorization`` header in full (secret scans need it)."""
    if kind == "echo":
        return echoed_authorization(authorization), ()
    if kind == "500":
        return ApiError(500, "An unknown error occurred", error_type="api_error"), ()
    if kind == "503":
        message = "Stripe is currently unavailable. Please try again later."
        return ApiError(503, message, error_type="api_error"), ()
    if kind == "lock":
        error = ApiError(429, LOCK_TIMEOUT_MESSAGE, code="lock_timeout")
        return error, (("Stripe-Should-Retry", "true"),)
    raise ValueError(f"{kind!r} is not answered with an error body")


LOCK_TIMEOUT_MESSAGE = (
    "This object cannot be accessed right now because another API request or Stripe process "
    "is currently accessing it. If you see this error intermittently, retry the request. If "
    "you see this error frequently and are making multiple concurrent requests to a single "
    "object, make your requests serially or at a lower rate."
)
