"""The boundary with Stripe: one `StripeReader` makes every read, counts it, classifies errors.

The official SDK does the HTTP, the API-version pin and the retries it knows (5xx, connection
errors, `Stripe-Should-Retry`). What it does not do is added here: plain 429s from Stripe's rate
limiters are retried with exponential backoff and jitter, and every failure leaves this module as a
single `StripeSyncError` whose `permanent` flag says whether retrying can help.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

API_VERSION = "2026-10-28.endive"  # pinned; rendered into every stored row's api_version


class StripeSyncError(Exception):
    """A read from Stripe failed; `permanent` means retrying will not help (bad key, 403, 400)."""

    def __init__(self, message: str, *, permanent: bool, resource: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.resource = resource


class AuthError(StripeSyncError):
    """The API key was refused: nothing can be synced until the key is fixed."""


@dataclass
class ReadCounter:
    """Counts every request sent to Stripe (retries included: Stripe counts them too)."""

    total: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, path: str) -> None:
        with self._lock:
            self.total += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1


class StripeReader:
    """Makes GET requests to the Stripe API and returns the decoded JSON."""

    def __init__(
        self,
        api_key: str,
        api_base: str,
        *,
        max_network_retries: int = 3,
        timeout_seconds: float = 30.0,
        max_rate_limit_retries: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            stripe_version=API_VERSION,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
        )
        self._max_rate_limit_retries = max_rate_limit_retries
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.reads = ReadCounter()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET `path` with `params`; retries rate-limited 429s, raises StripeSyncError."""
        for attempt in range(self._max_rate_limit_retries + 1):
            self.reads.add(path)
            try:
                response = self._client.raw_request("get", path, **dict(params or {}))
            except stripe.RateLimitError as exc:
                if attempt == self._max_rate_limit_retries:
                    raise StripeSyncError(
                        f"GET {path}: still rate limited after {attempt + 1} attempts",
                        permanent=False,
                    ) from None
                self._sleep(self._backoff(attempt, exc))
                continue
            except stripe.StripeError as exc:
                raise _classify(path, exc) from None
            data = response.data
            if not isinstance(data, dict):
                raise StripeSyncError(f"GET {path}: response is not a JSON object", permanent=False)
            return data
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, exc: stripe.RateLimitError) -> float:
        """Exponential backoff with jitter, capped; honours Retry-After when Stripe sends it."""
        headers = exc.headers or {}
        retry_after = headers.get("retry-after") or headers.get("Retry-After")
        if retry_after:
            try:
                return min(float(retry_after), 60.0)
            except ValueError:
                pass
        cap = min(0.25 * (2**attempt), 8.0)
        return cap / 2 + self._rng.uniform(0, cap / 2)


def _classify(path: str, exc: stripe.StripeError) -> StripeSyncError:
    """Map the SDK's exceptions to one boundary error; never include the key or raw headers."""
    status = exc.http_status
    if isinstance(exc, stripe.AuthenticationError):
        return AuthError(
            "Stripe refused the API key (401): it is wrong or has been revoked; "
            "check STRIPE_API_KEY",
            permanent=True,
        )
    if isinstance(exc, stripe.PermissionError):
        return StripeSyncError(
            f"GET {path}: the API key lacks the permission to read this resource (403)",
            permanent=True,
        )
    if isinstance(exc, stripe.InvalidRequestError):
        return StripeSyncError(
            f"GET {path}: Stripe rejected the request ({status}): {exc.user_message or exc}",
            permanent=True,
        )
    if isinstance(exc, stripe.APIConnectionError):
        return StripeSyncError(
            f"GET {path}: could not reach Stripe ({type(exc).__name__})", permanent=False
        )
    return StripeSyncError(f"GET {path}: Stripe answered {status}", permanent=False)
