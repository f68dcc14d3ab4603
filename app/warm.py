"""Keeping the dashboard warm across snapshots.

Pages compute through `ui.call`, cached per snapshot: a newly published snapshot is a new cache
key, so without help the first open of every page after each sync (every 5 minutes by default)
pays the full computation again — seconds on a large account. The warmer closes that gap: each
`ui.call` is recorded (which function, which arguments, when), and when a new snapshot is
published, one background thread per dashboard process computes the calls made in the last
RECENT against it, most recent first, into the same cache. A page opened meanwhile waits for
the value being computed instead of computing it twice (Streamlit holds one lock per cache key).

A sync cycle that publishes nothing writes the status file (`sync.freshness`); the calls that
follow it (keyed by `ui.fresh`: the runs, the alert states, what is reckoned from the last
sync's time) are recomputed for each new one, and the rest stay cached.

Only what was asked recently is recomputed: a view nobody opened costs nothing, and arguments
that follow the account's day (the default range) move with it on the next open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from sync import SnapshotReader, freshness_key

log = logging.getLogger("paylens.dashboard")

RECENT = 3600.0  # seconds: calls older than this are not recomputed for a new snapshot
MAX_CALLS = 256  # distinct calls kept (the most recent)
POLL = 5.0  # seconds between looks at CURRENT

# compute(snapshot_name, key, func, con, args, kwargs): `ui`'s cached call, passed in so that
# this module does not import the page helpers.
Compute = Callable[[str, str, Callable[..., Any], Any, tuple[Any, ...], tuple[Any, ...]], Any]


@dataclass(frozen=True)
class Call:
    """One `ui.call` as a page made it, minus the snapshot."""

    key: str  # module.qualname of the function
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    fresh: bool = False  # keyed by the freshness key (`ui.fresh`): it follows every cycle


class Recorder:
    """The calls pages made, each with the last time it was made (the monotonic clock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[tuple[Any, ...], tuple[float, Call]] = {}

    def record(self, call: Call) -> None:
        try:
            identity = (call.key, call.args, call.kwargs, call.fresh)
            hash(identity)
        except TypeError:  # an argument that cannot be a cache key is not replayed
            return
        with self._lock:
            self._calls.pop(identity, None)
            self._calls[identity] = (self._clock(), call)
            while len(self._calls) > MAX_CALLS:
                self._calls.pop(next(iter(self._calls)))

    def recent(self) -> list[Call]:
        """The calls made within RECENT, most recent first."""
        now = self._clock()
        with self._lock:
            kept = [(at, call) for at, call in self._calls.values() if now - at <= RECENT]
        return [call for _, call in sorted(kept, key=lambda pair: pair[0], reverse=True)]


class Warmer:
    """Computes the recent calls for each newly published snapshot of `snapshot_dir`, and the
    recent calls that follow every cycle (`Call.fresh`) for each new status file."""

    def __init__(self, snapshot_dir: Path, recorder: Recorder, compute: Compute) -> None:
        self.snapshot_dir, self.recorder, self._compute = snapshot_dir, recorder, compute
        # the last freshness key warmed (or seen first): `<snapshot>` or `<snapshot>@<stamp>`
        self.warmed: str | None = None
        self._started = False
        self._start_lock = threading.Lock()

    def step(self) -> int:
        """One look at CURRENT and the status file (`sync.freshness_key`): for a snapshot not
        seen before, compute every recent call against it; for a new status file of the same
        snapshot, the recent fresh calls. Returns how many were computed (a failed one is
        logged and skipped)."""
        key = freshness_key(self.snapshot_dir)
        if key is None or key == self.warmed:
            return 0
        same_snapshot = self.warmed is not None and _snapshot(self.warmed) == _snapshot(key)
        calls = [c for c in self.recorder.recent() if c.fresh or not same_snapshot]
        if not calls:
            self.warmed = key
            return 0
        reader = SnapshotReader(self.snapshot_dir)
        done = 0
        try:
            con = reader.connection()
            if con is None or reader.name is None:
                return 0
            for call in calls:
                done += self._one(reader.freshness if call.fresh else reader.name, con, call)
            self.warmed = reader.freshness
        finally:
            reader.close()
        return done

    def _one(self, name: str, con: duckdb.DuckDBPyConnection, call: Call) -> int:
        try:
            self._compute(name, call.key, call.func, con, call.args, call.kwargs)
        except Exception:  # a page opened on this snapshot will show the error itself
            log.warning("dashboard: warming %s for %s failed", call.key, name, exc_info=True)
            return 0
        return 1

    def start(self) -> None:
        """The background thread (once per process; a daemon: it dies with the server)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self.warmed = freshness_key(self.snapshot_dir)
        threading.Thread(target=self._run, name="paylens-warmer", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                self.step()
            except Exception:
                log.warning("dashboard: warming failed", exc_info=True)
            time.sleep(POLL)


def _snapshot(key: str) -> str:
    """The snapshot's name in a freshness key."""
    return key.split("@")[0]
