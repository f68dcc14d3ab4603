"""Deterministic Stripe-looking object ids.

Ids come from their own random stream so that adding a new kind of object later does not shift
the business decisions drawn from the simulation's main stream (and vice versa). A suffix is a
counter passed through a seeded affine permutation of [0, 62**14) and written in base 62:
unique by construction (no set of issued ids to keep, which at a million objects would cost a
gigabyte) and an order of magnitude cheaper than drawing 14 random characters.
"""

from __future__ import annotations

import copy
import random
import string

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
SUFFIX_LENGTH = 14
_SPACE = 62**SUFFIX_LENGTH
_BITS = 84  # 2**84 > 62**14: permute 84-bit values, walk the cycle back into range
_MASK = (1 << _BITS) - 1


_HALF = 62**7  # a suffix is two 7-digit halves, each a small int
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]


def _half(value: int) -> str:
    """Seven base-62 digits, most significant first."""
    rest, d1 = divmod(value, 3_844)
    rest, d2 = divmod(rest, 3_844)
    d4, d3 = divmod(rest, 3_844)
    return ALPHABET[d4] + _PAIRS[d3] + _PAIRS[d2] + _PAIRS[d1]


class IdFactory:
    """Issues unique ids such as ``cus_Xy12...`` (prefix + 14 alphanumerics)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._keys = (
            rng.getrandbits(_BITS) | 1,
            rng.getrandbits(_BITS),
            rng.getrandbits(_BITS) | 1,
        )
        self._counter = 0

    def _permute(self, value: int) -> int:
        """A seeded bijection of 84-bit integers (odd multipliers and xor-shifts invert)."""
        first, offset, second = self._keys
        value = (value * first + offset) & _MASK
        value ^= value >> 41
        value = (value * second) & _MASK
        return value ^ (value >> 37)

    def new(self, prefix: str) -> str:
        """Return a never-before-issued id."""
        self._counter += 1
        value = self._permute(self._counter)
        while value >= _SPACE:  # cycle walking keeps the map a bijection on [0, 62**14)
            value = self._permute(value)
        high, low = divmod(value, _HALF)
        return f"{prefix}_{_half(high)}{_half(low)}"

    def branch(self) -> IdFactory:
        """A factory issuing ids this one never will: the same permutation, counting from
        the middle of its range (this one would need 10**24 ids to get there).

        For objects that must not shift the ids of everything else (a checkout wave's). Take
        one branch per factory: two count from the same place, so they issue the same ids.
        """
        other = copy.copy(self)
        other._counter = _SPACE // 2
        return other

    def hex_token(self, length: int) -> str:
        """An uppercase hex token, e.g. for a customer's ``invoice_prefix``."""
        return "".join(self._rng.choices("0123456789ABCDEF", k=length))
