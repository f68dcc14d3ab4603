"""Which endpoints a backfill favours: those with the most work left, re-estimated as it goes.

A backfill ends when its longest queue ends, and no endpoint goes faster than its own limit (24/s
of Stripe's 25), so an endpoint whose remaining pages would take about as long alone as all the
remaining pages take under the global limit is *critical*: it gets the global tokens first
(`RateLimiter.prioritise`), the others share what is left. Which endpoint that is depends on the
account — an invoice's lines beyond the tenth on a small one, charges and invoices on a large one
— so it is estimated from what the pages reveal, never fixed in advance:

- a window's remaining objects: its density so far (objects per second of `created`) times the
  `created` span it has not reached yet, from its cursor down to its lower bound — raised to the
  oldest object seen anywhere (the account's start; a window starts at 0) and, for events, to 30
  days ago (Stripe lists no older ones);
- a nested list's remaining pages (lines, items): its follow-up pages per parent page so far,
  times the parent's remaining pages, plus the follow-ups already queued.
An endpoint not estimated yet (nothing fetched) ranks between the two, so it starts at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sync.windows import PAGE, Window

EVENTS_SECONDS = 30 * 86_400
CRITICAL = 0.8  # an endpoint needing at least this share of the global time alone is critical
UNKNOWN_RANK, CRITICAL_RANK = 1, 2


@dataclass(frozen=True)
class Nested:
    """A nested list's endpoint and the resource whose pages reveal its follow-ups."""

    endpoint: str
    parent: str


# nested lists completed by follow-ups: table -> (their endpoint, the resource that reveals them)
NESTED: dict[str, Nested] = {
    "invoice_lines": Nested("/v1/invoices/{id}/lines", "invoices"),
    "subscription_items": Nested("/v1/subscription_items", "subscriptions"),
}


def window_remaining(window: Window, floor: int, now: int) -> float | None:
    """Objects a pending window has still to serve (None: no page of it seen yet)."""
    if window.state != "pending" or window.finished:
        return 0.0
    lower = max(window.lo, floor)
    if window.resource == "events":
        lower = max(lower, now - EVENTS_SECONDS)
    if window.top is not None and window.last is not None and window.fetched:
        density = window.fetched / max(1, window.top - window.last + 1)
        return density * max(0, window.last - lower)
    if window.density is not None:
        return window.density * max(0, (now if window.hi is None else window.hi) - lower)
    return None


def remaining_pages(
    windows: Iterable[Window], floor: int | None, now: int
) -> dict[str, float | None]:
    """Pages left per resource; None for a resource with a window not estimated yet."""
    left: dict[str, float | None] = {}
    for window in windows:
        objects = None if floor is None else window_remaining(window, floor, now)
        known = left.get(window.resource, 0.0)
        if objects is None or known is None:
            left[window.resource] = None
        else:
            left[window.resource] = known + objects / PAGE
    return left


def nested_pages(
    parent_left: float | None, parent_pages: int, child_pages: int, queued: int
) -> float | None:
    """Pages left of a nested list, from its ratio to its parent's pages so far."""
    if parent_left is None or parent_pages == 0:
        return None
    return child_pages / parent_pages * parent_left + queued


def ranks(
    left: Mapping[str, float | None], global_rate: float, endpoint_rate: float
) -> dict[str, int]:
    """Per endpoint: CRITICAL_RANK if it alone needs ≥ CRITICAL of the global time left,
    UNKNOWN_RANK if not estimated yet, else 0."""
    known = {endpoint: pages for endpoint, pages in left.items() if pages is not None}
    total = sum(known.values()) / global_rate
    found: dict[str, int] = {}
    for endpoint, pages in left.items():
        if pages is None:
            found[endpoint] = UNKNOWN_RANK
        elif (
            pages >= 1
            and pages / endpoint_rate >= CRITICAL * total
            and not math.isclose(total, 0.0)
        ):
            found[endpoint] = CRITICAL_RANK
        else:
            found[endpoint] = 0
    return found
