"""Publishing immutable snapshots of the master file, and opening the current one read-only.

DuckDB locks a whole file: while the service holds `master.duckdb` read-write, no other process can
open it, not even read-only. So after each cycle the writer CHECKPOINTs, copies the file to a new
`snap_<timestamp>.duckdb` (temp name, fsync, rename), and then atomically replaces the small
`CURRENT` file naming it. Readers read `CURRENT`, open that concrete file read-only, and reopen
when `CURRENT` changes. A new file is never renamed onto a path a reader may be opening, and no
symlinks are used: both were seen to break concurrent opens.

The copy reads the master through one descriptor per file that this process opens at its first
publish and never closes while the file exists: closing any descriptor of the master would drop
the POSIX lock DuckDB holds on it for the writer's connection (`sync.lock` explains why that lock
is not the single-writer guarantee, but it still keeps other programs out). A copy interrupted
by an exception leaves no temp file; one cut short by a kill is removed at the next publish
(`remove_stale_temps`, which the service also runs when it starts).
"""

from __future__ import annotations

import errno
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

CURRENT = "CURRENT"
KEEP = 3
_SNAPSHOT_NAME = re.compile(r"snap_\d{8}T\d{12}Z(?:_\d+)?\.duckdb")
_TEMP_NAME = re.compile(r"\..+\.tmp")
_CHUNK = 16 * 1024 * 1024
_NOT_SUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}
# (device, inode) of each master file this process has published → a read-only descriptor of it,
# held while the file exists (see the module docstring: closing it would drop DuckDB's lock)
_MASTERS: dict[tuple[int, int], int] = {}


def publish(
    con: duckdb.DuckDBPyConnection,
    master_path: Path,
    snapshot_dir: Path,
    now: datetime,
    keep: int = KEEP,
) -> Path:
    """Checkpoint the master, copy it to a new snapshot, point CURRENT at it, prune old ones."""
    con.execute("CHECKPOINT")
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(snapshot_dir)
    target = _new_snapshot_path(snapshot_dir, now)
    temp = snapshot_dir / f".{target.name}.tmp"
    try:
        with open(temp, "wb") as sink:
            _copy(_master_descriptor(master_path), sink.fileno())
            os.fsync(sink.fileno())
        os.rename(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _write_atomically(snapshot_dir / CURRENT, target.name)
    _fsync_dir(snapshot_dir)
    _prune(snapshot_dir, keep, current=target.name)
    return target


def remove_stale_temps(snapshot_dir: Path) -> list[str]:
    """Delete what an interrupted publish left (`.<name>.tmp`); only the writer calls this, so
    no copy is in progress. Returns the names removed."""
    if not snapshot_dir.is_dir():
        return []
    stale = sorted(p.name for p in snapshot_dir.iterdir() if _TEMP_NAME.fullmatch(p.name))
    for name in stale:
        (snapshot_dir / name).unlink(missing_ok=True)
    return stale


def current_snapshot(snapshot_dir: Path) -> Path | None:
    """The snapshot CURRENT names, or None before the first publish."""
    try:
        name = (snapshot_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not _SNAPSHOT_NAME.fullmatch(name):
        raise ValueError(f"{snapshot_dir / CURRENT} names {name!r}, which is not a snapshot")
    return snapshot_dir / name


class SnapshotReader:
    """Hands out a read-only connection to the current snapshot, reopening when it changes."""

    def __init__(self, snapshot_dir: Path) -> None:
        self._dir = snapshot_dir
        self._path: Path | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def name(self) -> str | None:
        """The name of the snapshot the last `connection()` call opened (a cache key)."""
        return self._path.name if self._path else None

    def connection(self) -> duckdb.DuckDBPyConnection | None:
        """A connection to the newest published snapshot, or None if nothing is published yet."""
        for _ in range(3):  # CURRENT may move on, and the file it named be pruned, meanwhile
            path = current_snapshot(self._dir)
            if path is None:
                return None
            if path == self._path and self._con is not None:
                return self._con
            try:
                con = duckdb.connect(str(path), read_only=True)
            except duckdb.IOException:
                if path.exists():
                    raise
                continue
            self.close()
            self._path, self._con = path, con
            return con
        raise RuntimeError(f"snapshots in {self._dir} are being replaced too fast to open one")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
        self._path, self._con = None, None


def _new_snapshot_path(snapshot_dir: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = snapshot_dir / f"snap_{stamp}.duckdb"
    counter = 1
    while target.exists():
        target = snapshot_dir / f"snap_{stamp}_{counter}.duckdb"
        counter += 1
    return target


def _master_descriptor(master_path: Path) -> int:
    """This process's held descriptor of the file at `master_path`, opened on first use.
    Descriptors of masters since deleted (no name left: nobody can open them again) are closed."""
    info = os.stat(master_path)
    key = (info.st_dev, info.st_ino)
    for other, fd in list(_MASTERS.items()):
        if other != key and os.fstat(fd).st_nlink == 0:
            os.close(fd)
            del _MASTERS[other]
    if key not in _MASTERS:
        fd = os.open(master_path, os.O_RDONLY)
        opened = os.fstat(fd)
        # keyed by what was opened; if the path moved on meanwhile, the extra one stays open
        key = (opened.st_dev, opened.st_ino)
        _MASTERS.setdefault(key, fd)
    return _MASTERS[key]


def _copy(source: int, sink: int) -> None:
    """Copy all of `source` into `sink` by offset, never moving or closing `source`."""
    size, offset = os.fstat(source).st_size, 0
    while offset < size:
        count = min(_CHUNK, size - offset)
        copied = _copy_range(source, sink, count, offset)
        if copied == 0:  # the file shrank meanwhile: a writer broke the publish protocol
            raise RuntimeError("the master file changed while a snapshot was being copied")
        offset += copied


def _copy_range(source: int, sink: int, count: int, offset: int) -> int:
    """Up to `count` bytes of `source` from `offset`, in the kernel where it can."""
    if hasattr(os, "copy_file_range"):
        try:
            return os.copy_file_range(source, sink, count, offset)
        except OSError as exc:  # a filesystem pair it does not support: through this process
            if exc.errno not in _NOT_SUPPORTED:
                raise
    data = memoryview(os.pread(source, count, offset))
    written = 0
    while written < len(data):
        written += os.write(sink, data[written:])
    return len(data)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(snapshot_dir: Path, keep: int, current: str) -> None:
    """Keep the newest `keep` snapshots; readers holding an older one open keep reading it."""
    names = sorted(p.name for p in snapshot_dir.iterdir() if _SNAPSHOT_NAME.fullmatch(p.name))
    for name in names[:-keep]:
        if name != current:
            (snapshot_dir / name).unlink(missing_ok=True)
