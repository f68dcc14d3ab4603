"""The warehouse's single-writer lock: `master.lock` in the data directory, held for the writer's
whole life.

DuckDB's own lock on `master.duckdb` is a POSIX record lock: it belongs to the process and drops
as soon as *any* descriptor of that file closes in it, so it cannot be the guarantee (a publish
that once opened and closed the master handed the file to the next process that asked). This lock
is `flock` on a file of its own, which belongs to the open file description: only releasing it, or
the process ending, drops it. Every writer takes it before it opens the master; a second one is
refused at once (never waits) with one line naming the data directory and the holder's pid.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import IO

LOCK_FILE = "master.lock"


class WarehouseLocked(Exception):
    """Another process holds the writer lock of this data directory."""


class WriterLock:
    """An exclusive, non-blocking `flock` on `<data_dir>/master.lock`; the pid of the holder is
    written into the file, for the refusal to name it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> None:
        """Take the lock or raise WarehouseLocked (never waits)."""
        if self._handle is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for life)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise WarehouseLocked(
                f"another paylens process is already running as the writer of {self.data_dir} "
                f"(pid {holder}); only one may write it: stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Drop the lock (the file stays: deleting it would let two writers lock two files)."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
