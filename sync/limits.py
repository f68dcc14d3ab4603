"""Client-side rate limits: one token bucket for the whole account, one per endpoint.

Stripe answers 429 once the account-wide (100/s live, 25/s test) or the per-endpoint (25/s)
limiter runs dry, and the SDK does not retry those. Waiting here first is cheaper than being
refused: every worker thread takes a token from both buckets before each HTTP request (SDK
retries included, since the limiter sits inside the HTTP client). The buckets start with one
token and hold at most two, so requests are spaced evenly and no stretch of T seconds ever
carries more than `rate × T + 2` of them — far below what Stripe's own buckets (burst = rate)
would admit. The second token is what a thread woken late (a busy process, the GIL) would
otherwise lose for good: with one, an endpoint held to 24/s ran at 20/s under load.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

# the second word of `/v1/tax/settings`, `/v1/billing_portal/configurations` is no id
_ID_SEGMENT = re.compile(r"^/v1/((?:billing_portal|tax)/[a-z_]+|[a-z_]+)/[^/]+")
_NAMESPACED = re.compile(r"^/v1/(?:billing_portal|tax)/[a-z_]+$")

TEST_MODE_RATE = 20.0  # Stripe allows 25/s in test mode; keep a margin
LIVE_MODE_RATE = 90.0  # of 100/s in live mode
ENDPOINT_RATE = 24.0  # of 25/s per endpoint


def default_rate(api_key: str) -> float:
    """The account-wide rate for a key: test keys (`sk_test_`, `rk_test_`) get the test limit."""
    return TEST_MODE_RATE if "_test_" in api_key[:8] else LIVE_MODE_RATE


def endpoint_of(path: str) -> str:
    """The endpoint a request counts against, as Stripe groups them: ids become `{id}`.

    `/v1/charges?limit=3` -> `/v1/charges`; `/v1/invoices/in_1/lines` -> `/v1/invoices/{id}/lines`.
    """
    bare = path.split("?", 1)[0].rstrip("/") or "/"
    if "://" in bare:
        bare = "/" + bare.split("://", 1)[1].split("/", 1)[-1]
    if _NAMESPACED.match(bare):
        return bare
    return _ID_SEGMENT.sub(r"/v1/\1/{id}", bare, count=1)


CAPACITY = 2.0  # tokens a bucket holds at most (it starts with one)


class _Bucket:
    """A token bucket of capacity CAPACITY; not thread-safe alone (RateLimiter holds the lock)."""

    def __init__(self, rate: float, now: float) -> None:
        if rate <= 0:
            raise ValueError(f"a rate limit must be positive, got {rate}")
        self.rate = rate
        self.tokens = 1.0
        self.at = now

    def wait(self, now: float) -> float:
        """Seconds until a whole token is there (0 if one is there now)."""
        self.tokens = min(CAPACITY, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0 - 1e-9:  # float dust must not leave a waiter sleeping 1e-17 s
            return 0.0
        return (1.0 - self.tokens) / self.rate


# Nested-list follow-ups (an invoice's lines beyond the first 10, a subscription's items): each
# parent adds pages to one shared endpoint, so on most accounts that endpoint has the most pages
# and sets the backfill's length, while the other endpoints have slack under the global limit.
# The lists that reveal those follow-ups come next (rank 1), so the follow-ups start early.
PRIORITY_ENDPOINTS: dict[str, int] = {
    "/v1/invoices/{id}/lines": 2,
    "/v1/subscription_items": 2,
    "/v1/invoices": 1,
    "/v1/subscriptions": 1,
}


class RateLimiter:
    """Blocks the calling thread until both its endpoint's bucket and the global one allow.

    A request to a priority endpoint that is held back only by the global bucket claims the next
    global token: endpoints of lower rank wait for it, so the busiest endpoint never loses its
    own rate to a crowd of lighter ones (the limits themselves are unchanged).
    """

    def __init__(
        self,
        rate: float,
        endpoint_rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        priority: Mapping[str, int] = MappingProxyType(PRIORITY_ENDPOINTS),
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._global = _Bucket(rate, clock())
        self.rate, self.endpoint_rate = rate, endpoint_rate
        self._endpoint_rate = endpoint_rate
        self._endpoints: dict[str, _Bucket] = {}
        self._priority: Mapping[str, int] = priority
        self._claims: dict[int, int] = {}  # rank -> requests waiting for the global bucket alone

    def prioritise(self, ranks: Mapping[str, int]) -> None:
        """Replace the endpoints' ranks (a backfill re-estimates them as it goes)."""
        with self._lock:
            self._priority = dict(ranks)

    def acquire(self, path: str) -> None:
        """Take one token from the global bucket and one from `path`'s endpoint bucket."""
        endpoint = endpoint_of(path)
        rank, claimed = self._priority.get(endpoint, 0), False
        try:
            while True:
                with self._lock:
                    delay, claimed = self._delay(endpoint, rank, claimed)
                    if delay == 0.0:
                        return
                self._sleep(delay)
        finally:
            if claimed:
                with self._lock:
                    self._claims[rank] -= 1

    def _delay(self, endpoint: str, rank: int, claimed: bool) -> tuple[float, bool]:
        """Seconds to wait (0: both tokens taken) and whether this request now holds a claim."""
        now = self._clock()
        bucket = self._endpoints.get(endpoint)
        if bucket is None:
            bucket = self._endpoints[endpoint] = _Bucket(self._endpoint_rate, now)
        held, own = self._global.wait(now), bucket.wait(now)
        if rank:  # claim a little early: the global bucket's spare token may be gone
            claim = own <= held + 1.0 / self._global.rate
            self._claims[rank] = self._claims.get(rank, 0) + int(claim) - int(claimed)
            claimed = claim
        if any(count for higher, count in self._claims.items() if higher > rank):
            held = max(held, 1.0 / self._global.rate)
        delay = max(held, own)
        if delay == 0.0:
            self._global.tokens = max(0.0, self._global.tokens - 1.0)
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
        return delay, claimed
