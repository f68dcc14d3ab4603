"""The boundary with Stripe: one `StripeReader` makes every read, counts it, classifies errors.

The official SDK does the HTTP, the API-version pin and the retries it knows (5xx, connection
errors, `Stripe-Should-Retry`). What it does not do is added here: every HTTP attempt (SDK
retries included) first waits for the shared token buckets and is counted; 429s from Stripe's
rate limiters (`Stripe-Rate-Limited-Reason`) are retried with exponential backoff and jitter;
bodies cut short and errors the SDK gave up on are retried a few times more; and every failure
leaves this module as a single `StripeSyncError` whose `permanent` flag says whether retrying
can help. Messages never contain the key (Stripe's own 401/403 texts quote part of it).
Every response's `Date` header sets the reader's `AccountClock` (`sync.clock`): the sync's "now"
is Stripe's.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

from sync.clock import AccountClock
from sync.limits import RateLimiter, endpoint_of
from sync.undecodable import Rejected, salvage, too_deep

API_VERSION = "2026-10-28.endive"  # pinned; rendered into every stored row's api_version
_PERMISSION = re.compile(r"'(rak_[a-z_]+)'")
# a list endpoint, or a single object's (a 404 there: not served at all)
_LIST_PATH = re.compile(
    r"/v1/([a-z_]+|billing_portal/configurations|tax/settings|tax/registrations)"
)
# endpoints of two words, named by both in messages ("the API key may not read tax settings")
_TWO_WORDS = {
    "/v1/billing_portal/configurations": "billing portal configurations",
    "/v1/tax/settings": "tax settings",
    "/v1/tax/registrations": "tax registrations",
}


class StripeSyncError(Exception):
    """A read from Stripe failed; `permanent` means retrying will not help (bad key, 403, 400).

    `resource` names the list endpoint refused for good: 403 (the key may not read it) or 404
    (the API does not serve it), with that `status`; the sync marks it unavailable and goes on.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        resource: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.resource = resource
        self.status = status


class AuthError(StripeSyncError):
    """The API key was refused: nothing can be synced until the key is fixed."""


@dataclass
class ReadCounter:
    """Counts every request sent to Stripe (retries included: Stripe counts them too)."""

    total: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, path: str) -> None:
        endpoint = endpoint_of(path)
        with self._lock:
            self.total += 1
            self.by_path[endpoint] = self.by_path.get(endpoint, 0) + 1


@dataclass(frozen=True)
class Page:
    """A decoded response and its body text as served (ingested by DuckDB without re-encoding)."""

    data: dict[str, Any]
    body: str


class _MeteredHttpClient(stripe.RequestsClient):
    """The SDK's HTTP client, but every attempt waits for the limiter and is counted, and every
    response (errors included) tells the account's clock Stripe's time."""

    def __init__(
        self, limiter: RateLimiter | None, reads: ReadCounter, timeout: float, clock: AccountClock
    ) -> None:
        super().__init__(timeout=timeout)
        self._limiter, self._reads, self._clock = limiter, reads, clock

    def request(  # type: ignore[override]  # the SDK's own subclass narrows it the same way
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        if self._limiter is not None:
            self._limiter.acquire(url)
        self._reads.add(url)
        content, status, response_headers = super().request(method, url, headers, post_data)
        self._clock.observe_headers(response_headers, time.monotonic())
        return content, status, response_headers


class StripeReader:
    """Makes GET requests to the Stripe API and returns the decoded JSON with its body text."""

    def __init__(
        self,
        api_key: str,
        api_base: str,
        *,
        limiter: RateLimiter | None = None,
        max_network_retries: int = 3,
        timeout_seconds: float = 30.0,
        max_rate_limit_retries: int = 10,
        max_transient_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        machine_clock: Callable[[], float] = time.time,
    ) -> None:
        self.reads = ReadCounter()
        self.limiter = limiter
        self._key_kind = key_kind(api_key)  # the key itself is kept only by the SDK's client
        self.clock = AccountClock(machine_clock)  # Stripe's time, from every response's Date
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            stripe_version=API_VERSION,
            max_network_retries=max_network_retries,
            http_client=_MeteredHttpClient(limiter, self.reads, timeout_seconds, self.clock),
        )
        self._retries = {"rate": max_rate_limit_retries, "transient": max_transient_retries}
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._rejected: list[Rejected] = []  # undecodable objects left out (sync.undecodable)
        self._rejected_lock = threading.Lock()

    @property
    def key_kind(self) -> dict[str, Any]:
        """What kind of key this reader uses, never the key: `{"mode": "test" | "live",
        "restricted": bool}` from its prefix (`sk_live_…`, `rk_test_…`)."""
        return dict(self._key_kind)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET `path` with `params`, decoded; raises StripeSyncError."""
        return self.page(path, params).data

    def page(self, path: str, params: Mapping[str, Any] | None = None) -> Page:
        """GET `path` with `params`; retries what retrying can fix, raises StripeSyncError."""
        attempts = {"rate": 0, "transient": 0}
        while True:
            try:
                response = self._client.raw_request("get", path, **dict(params or {}))
                if not isinstance(response.data, dict):
                    raise stripe.APIError("response is not a JSON object")
                return Page(response.data, response.body)
            except stripe.StripeError as exc:
                salvaged = self._salvage(path, exc)
                if salvaged is not None:
                    return salvaged
                error = _classify(path, exc)
                kind = "rate" if isinstance(exc, stripe.RateLimitError) else "transient"
                if error.permanent or attempts[kind] >= self._retries[kind]:
                    raise error from None
                self._sleep(self._backoff(attempts[kind], exc))
                attempts[kind] += 1

    def take_rejected(self) -> list[Rejected]:
        """The objects left out of pages as undecodable since the last call (to quarantine)."""
        with self._rejected_lock:
            taken, self._rejected = self._rejected, []
        return taken

    def _salvage(self, path: str, exc: stripe.StripeError) -> Page | None:
        """A 200 whose body Python could not decode for its depth alone: the page without
        the objects too deep to decode, which are kept for `take_rejected`; None for any
        other error."""
        if not isinstance(exc, stripe.APIError) or exc.http_status != 200:
            return None
        body = exc.http_body
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if not text or not too_deep(text):
            return None
        salvaged = salvage(path, text)
        with self._rejected_lock:
            self._rejected.extend(salvaged.rejected)
        return Page(salvaged.data, salvaged.body)

    def _backoff(self, attempt: int, exc: stripe.StripeError) -> float:
        """Exponential backoff with jitter, capped; honours Retry-After when Stripe sends it."""
        headers = exc.headers or {}
        retry_after = headers.get("retry-after") or headers.get("Retry-After")
        if retry_after:
            try:
                return min(float(retry_after), 60.0)
            except ValueError:
                pass
        cap = min(0.25 * (2**attempt), 8.0)
        with self._rng_lock:
            return cap / 2 + self._rng.uniform(0, cap / 2)


def key_kind(api_key: str) -> dict[str, Any]:
    """A key's mode and whether it is restricted, from its prefix alone: `rk_` keys are
    restricted, `sk_live_`/`rk_live_` live; anything else (the sandbox's own) counts as test."""
    live = api_key[2:8] == "_live_"
    return {"mode": "live" if live else "test", "restricted": api_key.startswith("rk_")}


def _named(path: str) -> str:
    """The resource a path reads, as a message names it (`refunds`, `tax settings`)."""
    endpoint = endpoint_of(path)
    if endpoint in _TWO_WORDS:
        return _TWO_WORDS[endpoint]
    return endpoint.split("/")[2] if path.startswith("/v1/") else path


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
        resource = _named(path)
        found = _PERMISSION.search(str(exc.user_message or exc))
        needs = f"; it needs the {found.group(1)} permission" if found else ""
        return StripeSyncError(
            f"the API key may not read {resource} (403{needs})",
            permanent=True,
            resource=resource,
            status=403,
        )
    if isinstance(exc, stripe.RateLimitError):
        reason = (exc.headers or {}).get("stripe-rate-limited-reason") or "rate limit"
        return StripeSyncError(f"GET {path}: still refused ({reason}, 429)", permanent=False)
    listed = _LIST_PATH.fullmatch(path.split("?", 1)[0])
    if isinstance(exc, stripe.InvalidRequestError) and status == 404 and listed:
        return StripeSyncError(
            f"the API does not serve {_named(listed.group(0))} (404 on GET {listed.group(0)})",
            permanent=True,
            resource=_named(listed.group(0)),
            status=404,
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
