"""Deterministic Stripe-looking object ids.

Ids come from their own random stream so that adding a new kind of object later does not shift
the business decisions drawn from the simulation's main stream (and vice versa).
"""

from __future__ import annotations

import random
import string

ALPHABET = string.ascii_letters + string.digits
SUFFIX_LENGTH = 14


class IdFactory:
    """Issues unique ids such as ``cus_Xy12...`` (prefix + 14 alphanumerics)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._issued: set[str] = set()

    def new(self, prefix: str) -> str:
        """Return a never-before-issued id; redraws on the (astronomically rare) collision."""
        while True:
            candidate = f"{prefix}_{''.join(self._rng.choices(ALPHABET, k=SUFFIX_LENGTH))}"
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate

    def hex_token(self, length: int) -> str:
        """An uppercase hex token, e.g. for a customer's ``invoice_prefix``."""
        return "".join(self._rng.choices("0123456789ABCDEF", k=length))
