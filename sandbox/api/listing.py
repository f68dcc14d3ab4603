"""Stripe list semantics over pre-sorted objects, without HTTP.

Each resource is sorted once, newest first (``created`` descending; within one second the
later-created first, so an event stream keeps its order), and every
request becomes a *view*: a sorted sequence of positions in that order (all of them, or the
positions of one filter value). ``created`` bounds and cursors are then bisects on positions,
so a page costs O(log n + limit) and nothing is re-sorted per request. Objects are serialised
to JSON once, on first use, and the bytes reused.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from heapq import merge
from typing import Any

import orjson

Obj = dict[str, Any]
FilterKey = Callable[[Obj], str | None]


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON bytes, the one serialisation used for every response.

    ``orjson`` writes the same bytes as ``json.dumps(obj, separators=(",", ":"),
    ensure_ascii=False)`` for the served objects (str keys, insertion order kept, ints and
    finite floats only) about seven times faster, which was most of a cold page's cost. It
    never writes ``NaN`` (invalid JSON; ``json`` would), and no served value is one.
    """
    return orjson.dumps(obj)


@dataclass(frozen=True)
class CreatedRange:
    """``created`` bounds from ``created[gt|gte|lt|lte]`` or ``created=<ts>`` (inclusive)."""

    gte: int | None = None
    lte: int | None = None


# Lists longer than this are serialised on every request instead of cached: caching every
# object of the `large` preset doubled the server's memory (past 23 GB while a backfill read
# it), while orjson writes a page of 100 objects in about 0.3 ms anyway.
JSON_CACHE_LIMIT = 100_000


class ObjectList:
    """Objects in a fixed order with their JSON cached (short lists only); the base of both
    kinds of list."""

    def __init__(self, ordered: list[Obj]) -> None:
        self.objects = ordered
        self.position = {obj["id"]: i for i, obj in enumerate(ordered)}
        self._json: list[bytes | None] | None = (
            [None] * len(ordered) if len(ordered) <= JSON_CACHE_LIMIT else None
        )

    def __len__(self) -> int:
        return len(self.objects)

    def json(self, position: int) -> bytes:
        """The object's JSON; computing it twice under a race is harmless."""
        if self._json is None:
            return dumps(self.objects[position])
        cached = self._json[position]
        if cached is None:
            cached = self._json[position] = dumps(self.objects[position])
        return cached


class ListIndex(ObjectList):
    """A top-level resource: newest first, with ``created`` bisection and filter groups."""

    def __init__(
        self,
        objects: Iterable[Obj],
        filters: Mapping[str, FilterKey],
        rank: Mapping[str, int] | None = None,
    ) -> None:
        """``rank``: each id's creation order; objects created in the same second are listed
        latest first, as Stripe does (an event stream must not reorder within a second)."""
        order = rank or {}
        super().__init__(
            sorted(objects, key=lambda o: (-o["created"], -order.get(o["id"], 0), o["id"]))
        )
        self._negated_created = [-obj["created"] for obj in self.objects]
        self._groups: dict[str, dict[str, list[int]]] = {}
        for param, key in filters.items():
            groups: dict[str, list[int]] = {}
            for i, obj in enumerate(self.objects):
                value = key(obj)
                if value is not None:
                    groups.setdefault(value, []).append(i)
            self._groups[param] = groups
        self._unions: dict[tuple[str, frozenset[str]], list[int]] = {}

    def view(self, criteria: Mapping[str, frozenset[str]]) -> Sequence[int]:
        """Positions matching every criterion (param -> accepted values), in list order."""
        if not criteria:
            return range(len(self.objects))
        views = sorted((self._union(param, values) for param, values in criteria.items()), key=len)
        if len(views) == 1:
            return views[0]
        others = [set(v) for v in views[1:]]
        return [p for p in views[0] if all(p in other for other in others)]

    def values(self, param: str) -> list[str]:
        """The distinct values objects have under filter ``param`` (to expand wildcards)."""
        return list(self._groups[param])

    def _union(self, param: str, values: frozenset[str]) -> list[int]:
        cache_key = (param, values)
        cached = self._unions.get(cache_key)
        if cached is None:
            groups = self._groups[param]
            cached = list(merge(*(groups.get(value, []) for value in sorted(values))))
            self._unions[cache_key] = cached
        return cached

    def bounds(self, created: CreatedRange) -> tuple[int, int]:
        """The half-open position range [lo, hi) whose ``created`` lies within ``created``."""
        negated = self._negated_created
        lo = 0 if created.lte is None else bisect_left(negated, -created.lte)
        hi = len(negated) if created.gte is None else bisect_right(negated, -created.gte)
        return lo, max(lo, hi)


def page(
    view: Sequence[int],
    bounds: tuple[int, int],
    limit: int,
    *,
    starting_after: int | None = None,
    ending_before: int | None = None,
) -> tuple[Sequence[int], bool]:
    """One page of ``view`` (positions) and whether more exist in the paging direction.

    ``starting_after`` pages towards older objects (has_more: older ones remain);
    ``ending_before`` returns the ``limit`` objects just newer than the cursor, still newest
    first (has_more: even newer ones remain). Cursors are positions, so a cursor object that
    the filters exclude still marks a place in the order, as in Stripe.
    """
    first = bisect_left(view, bounds[0])
    last = bisect_left(view, bounds[1])
    if ending_before is not None:
        last = max(first, min(last, bisect_left(view, ending_before)))
        start = max(first, last - limit)
        return view[start:last], start > first
    if starting_after is not None:
        first = min(last, max(first, bisect_right(view, starting_after)))
    return view[first : min(first + limit, last)], first + limit < last


def list_body(chunks: Iterable[bytes], has_more: bool, url: str) -> bytes:
    """A Stripe list envelope around already-serialised objects."""
    return b"".join(
        (
            b'{"object":"list","data":[',
            b",".join(chunks),
            b'],"has_more":',
            b"true" if has_more else b"false",
            b',"url":',
            dumps(url),
            b"}",
        )
    )
