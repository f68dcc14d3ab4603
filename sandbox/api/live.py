"""The live clock: simulated time that keeps moving while the sandbox serves.

Before each request the simulation is played forward to ``start + elapsed wall time × speed``
and, if that changed anything (``sim.revision``), the API's indexes are rebuilt. The
simulation mutates served objects in place, so advancing and answering share one lock: no
request ever reads an object halfway through a change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class Advancing(Protocol):
    """What the live clock needs of a simulation."""

    now: int

    def advance(self, to: int) -> None: ...


class Refreshing(Protocol):
    def refresh(self) -> bool: ...


class LiveClock:
    """Maps wall time to simulated time at ``speed`` simulated seconds per wall second."""

    def __init__(
        self,
        sim: Advancing,
        api: Refreshing,
        speed: float,
        wall_clock: Callable[[], float],
    ) -> None:
        if speed <= 0:
            raise ValueError(f"the live clock's speed must be positive, got {speed}")
        if not callable(getattr(sim, "advance", None)):
            raise ValueError("this simulation cannot advance, so it cannot run a live clock")
        self.lock = threading.Lock()
        self._sim, self._api, self._speed, self._wall_clock = sim, api, speed, wall_clock
        self._wall_start = wall_clock()
        self._sim_start = sim.now

    def target(self) -> int:
        """The simulated time it is now by the wall clock."""
        elapsed = self._wall_clock() - self._wall_start
        return self._sim_start + int(elapsed * self._speed)

    def tick(self) -> None:
        """Advance the simulation to ``target()`` and refresh the API; caller holds ``lock``."""
        target = self.target()
        if target > self._sim.now:
            self._sim.advance(target)
        self._api.refresh()
