"""What every benchmark module shares: a timer and the row type of the printed table."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class Row(NamedTuple):
    name: str
    result: str
    notes: str


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started
