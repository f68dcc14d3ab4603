"""Values that many served objects share by reference, to keep a million-charge account small.

At the scale of the ``large`` preset every nested dict or list costs tens of megabytes per
field: a line's empty ``taxes`` list, a charge's ``outcome``, an invoice's ``parent``. They are
safe to share because the simulation never mutates a nested value of a served object in place
(README, "Never mutate a nested value"): every change replaces a top-level field with a new
value. ``tests/sandbox/test_sandbox_sharing.py`` checks that the shared values are untouched
after a run. Serving never mutates objects either (``expand`` works on parsed copies).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

EMPTY_LIST: list[Any] = []  # never append: assign a new list instead
EMPTY_DICT: Obj = {}  # never set a key: assign a new dict instead
NO_REQUEST: Obj = {"id": None, "idempotency_key": None}  # an event's ``request``


class Parts(dict[Any, Obj]):
    """One subscription's shared nested values (line parents, pricing, invoice parent).

    Lives on the engine's ``Sub``, so it is freed with the simulation; keys are tuples naming
    what the value depends on, so a changed item or price simply gets a new entry.
    """

    def get_or_make(self, key: Any, make: Any, *args: Any) -> Obj:
        """The value under ``key``, built by ``make(*args)`` the first time."""
        value = self.get(key)
        if value is None:
            value = self[key] = make(*args)
        return value

    def period(self, period: tuple[int, int]) -> Obj:
        """A line's ``period`` dict, shared by the lines of the current billing period only
        (so that this cache does not grow with the subscription's history)."""
        value = self.get("period")
        if value is None or value["start"] != period[0] or value["end"] != period[1]:
            value = self["period"] = {"end": period[1], "start": period[0]}
        return value


# Nested lists are embedded truncated to their first ``NESTED_LIMIT`` entries, like Stripe.
NESTED_LIMIT = 10


def nested_list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """An embedded list: the first ``NESTED_LIMIT`` entries, ``has_more`` for the rest."""
    return {
        "object": "list",
        "data": data[:NESTED_LIMIT],
        "has_more": len(data) > NESTED_LIMIT,
        "url": url,
    }
