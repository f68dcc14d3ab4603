"""Stripe's two request limiters: one global token bucket and one bucket per endpoint.

Both are off unless a rate is given. A bucket holds ``rate`` tokens (the burst), refills at
``rate`` tokens a second and starts full, so over any stretch of T seconds it admits at most
``rate * (1 + T)`` requests. The clock is passed in, so the buckets can be tested exactly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from sandbox.api.errors import ApiError

_ID_SEGMENT = re.compile(r"^/v1/([a-z_]+)/[^/]+")


class TokenBucket:
    """``rate`` tokens a second up to a burst of ``rate`` (at least 1); not thread-safe alone."""

    def __init__(self, rate: float, now: float) -> None:
        if rate <= 0:
            raise ValueError(f"a rate limit must be positive, got {rate}")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._at = now

    def ready(self, now: float) -> bool:
        """Refill to ``now`` and say whether a whole token is there."""
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = max(self._at, now)
        return self._tokens >= 1.0

    def take(self) -> None:
        self._tokens -= 1.0


class RateLimiter:
    """Admits or refuses each request; refusals say which limiter (``global-rate`` first)."""

    def __init__(
        self, rate: float | None, endpoint_rate: float | None, clock: Callable[[], float]
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._global = None if rate is None else TokenBucket(rate, clock())
        self._endpoint_rate = endpoint_rate
        self._endpoints: dict[str, TokenBucket] = {}
        if endpoint_rate is not None and endpoint_rate <= 0:
            raise ValueError(f"a rate limit must be positive, got {endpoint_rate}")

    def admit(self, path: str) -> tuple[float, str | None]:
        """(the clock reading used, the refusing limiter or None); a refusal takes no token."""
        with self._lock:
            now = self._clock()
            buckets: list[tuple[TokenBucket, str]] = []
            if self._global is not None:
                buckets.append((self._global, "global-rate"))
            if self._endpoint_rate is not None:
                template = endpoint_template(path)
                bucket = self._endpoints.get(template)
                if bucket is None:
                    bucket = self._endpoints[template] = TokenBucket(self._endpoint_rate, now)
                buckets.append((bucket, "endpoint-rate"))
            for bucket, reason in buckets:
                if not bucket.ready(now):
                    return now, reason
            for bucket, _ in buckets:
                bucket.take()
            return now, None


def endpoint_template(path: str) -> str:
    """The endpoint a path belongs to, as Stripe counts them: ids become ``{id}``.

    ``/v1/charges?limit=3`` -> ``/v1/charges``; ``/v1/invoices/in_1/lines`` ->
    ``/v1/invoices/{id}/lines``.
    """
    bare = path.split("?", 1)[0].rstrip("/") or "/"
    return _ID_SEGMENT.sub(r"/v1/\1/{id}", bare, count=1)


def rate_limited(reason: str) -> tuple[ApiError, tuple[tuple[str, str], ...]]:
    """Stripe's 429 for a refused request and the header naming the limiter."""
    message = (
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits."
    )
    return ApiError(429, message, code="rate_limit"), (("Stripe-Rate-Limited-Reason", reason),)
