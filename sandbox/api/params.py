"""Query-string parameters as the stripe SDK form-encodes them, parsed and checked like Stripe.

Stripe rejects parameters it does not know, so a client bug (a misspelt filter) fails loudly
here as it would in production instead of silently returning everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from sandbox.api.errors import ApiError, bad_param
from sandbox.api.listing import CreatedRange

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
_ARRAY = re.compile(r"^([a-z_]+)\[(\d*)\]$")
_CREATED_OPS = ("gt", "gte", "lt", "lte")
PAGING_PARAMS = frozenset({"limit", "starting_after", "ending_before"})
LIST_PARAMS = PAGING_PARAMS | {"created"} | {f"created[{op}]" for op in _CREATED_OPS}


class Params:
    """The request's parameters: scalars by name, arrays (``types[0]=…``, ``expand[]=…``) by
    their bare name in the order sent. ``expand`` is accepted everywhere."""

    def __init__(self, query: str) -> None:
        self.values: dict[str, str] = {}
        self.arrays: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            array = _ARRAY.match(name)
            if array is not None:
                self.arrays.setdefault(array.group(1), []).append(value)
            else:
                self.values[name] = value
        if "expand" in self.values:  # a single ``expand=x`` counts as a one-element array
            self.arrays.setdefault("expand", []).append(self.values.pop("expand"))

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def array(self, name: str) -> list[str] | None:
        """An array parameter; 400 if it was sent as a plain value."""
        if name in self.values:
            raise bad_param(name, f"Invalid array: {name}", code="parameter_invalid")
        return self.arrays.get(name)

    @property
    def expand(self) -> list[str]:
        return self.arrays.get("expand", [])

    def allow(self, known: Iterable[str]) -> None:
        """400 for the first parameter not in ``known`` (Stripe's "unknown parameter")."""
        allowed = frozenset(known) | {"expand"}
        for name in [*self.values, *self.arrays]:
            if name not in allowed:
                raise bad_param(
                    name, f"Received unknown parameter: {name}", code="parameter_unknown"
                )

    def integer(self, name: str) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise bad_param(name, f"Invalid integer: {raw}", "parameter_invalid_integer") from None

    def limit(self) -> int:
        """``limit``: 1..100, default 10."""
        limit = self.integer("limit")
        if limit is None:
            return DEFAULT_LIMIT
        if limit < 1:
            raise bad_param("limit", "This value must be greater than or equal to 1.")
        if limit > MAX_LIMIT:
            raise bad_param("limit", f"This value must be less than or equal to {MAX_LIMIT}.")
        return limit

    def created(self) -> CreatedRange:
        """``created=<ts>`` or ``created[gt|gte|lt|lte]``, as one inclusive range."""
        exact = self.integer("created")
        gt, gte = self.integer("created[gt]"), self.integer("created[gte]")
        lt, lte = self.integer("created[lt]"), self.integer("created[lte]")
        lows = [v for v in (exact, gte, None if gt is None else gt + 1) if v is not None]
        highs = [v for v in (exact, lte, None if lt is None else lt - 1) if v is not None]
        return CreatedRange(max(lows) if lows else None, min(highs) if highs else None)

    def one_cursor(self) -> None:
        """Stripe refuses ``starting_after`` and ``ending_before`` together."""
        if "starting_after" in self.values and "ending_before" in self.values:
            raise ApiError(
                400,
                "You may only specify one of these parameters: ending_before, starting_after.",
                param="ending_before",
            )
