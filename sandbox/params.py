"""Query-string parameters as the stripe SDK form-encodes them, parsed and checked like Stripe.

Stripe rejects parameters it does not know, so a client bug (a misspelt filter) fails loudly
here as it would in production instead of silently returning everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from sandbox.errors import ApiError, bad_param
from sandbox.listing import CreatedRange

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
_EXPAND = re.compile(r"^expand(\[\d*\])?$")
_CREATED_OPS = ("gt", "gte", "lt", "lte")
LIST_PARAMS = frozenset(
    {"limit", "starting_after", "ending_before", "created"}
    | {f"created[{op}]" for op in _CREATED_OPS}
)


class Params:
    """The request's parameters; ``expand`` is accepted and ignored for now."""

    def __init__(self, query: str) -> None:
        self.values: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            if not _EXPAND.match(name):
                self.values[name] = value

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def allow(self, known: Iterable[str]) -> None:
        """400 for the first parameter not in ``known`` (Stripe's "unknown parameter")."""
        allowed = frozenset(known)
        for name in self.values:
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
