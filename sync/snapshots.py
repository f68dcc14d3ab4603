"""Publishing immutable snapshots of the master file, and opening the current one read-only.

DuckDB locks a whole file: while the service holds `master.duckdb` read-write, no other process can
open it, not even read-only. So after a cycle that changed what readers read, the writer writes a
new `snap_<timestamp>.duckdb` (temp name, fsync, rename), and then atomically replaces the small
`CURRENT` file naming it. Readers read `CURRENT`, open that concrete file read-only, and reopen
when `CURRENT` changes. A new file is never renamed onto a path a reader may be opening, and no
symlinks are used: both were seen to break concurrent opens.

A snapshot holds what readers read (SPEC §2): every table of the master, the object tables
without their `raw` payloads (which stay in the master; readers never show them), and the views.
The master's connection writes it (ATTACH, CREATE TABLE AS per table, CHECKPOINT, DETACH), so
this process never opens the master file a second time: closing such a descriptor would drop the
POSIX lock DuckDB holds on it for the writer's connection (`sync.lock` explains why that lock is
not the single-writer guarantee, but it still keeps other programs out). A write interrupted by
an exception leaves no temp file; one cut short by a kill is removed at the next publish
(`remove_stale_temps`, which the service also runs when it starts).

A cycle that changed nothing readers read publishes nothing (`publish_changed`): the status file
beside `CURRENT` (`sync.freshness`) carries what every cycle restates, and `SnapshotReader`
shadows those tables with it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from sync.freshness import Growing, fingerprint, overlay, read_status, watermark, write_status
from sync.tables import TABLES

CURRENT = "CURRENT"
KEEP = 3
_SNAPSHOT_NAME = re.compile(r"snap_\d{8}T\d{12}Z(?:_\d+)?\.duckdb")
_TEMP_NAME = re.compile(r"\..+\.tmp(?:\.wal)?")
PUBLISH_THREADS = 2  # DuckDB threads while a snapshot is written (the writer's default is 1)


def publish(
    con: duckdb.DuckDBPyConnection,
    master_path: Path,
    snapshot_dir: Path,
    now: datetime,
    keep: int = KEEP,
) -> Path:
    """Write what readers read to a new snapshot (`_write_slim`), point CURRENT at it, prune
    old ones."""
    _check_master(con, master_path)
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(snapshot_dir)
    target = _new_snapshot_path(snapshot_dir, now)
    temp = snapshot_dir / f".{target.name}.tmp"
    try:
        _write_slim(con, temp)
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        os.rename(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        temp.with_name(f"{temp.name}.wal").unlink(missing_ok=True)
        raise
    _write_atomically(snapshot_dir / CURRENT, target.name)
    _fsync_dir(snapshot_dir)
    _prune(snapshot_dir, keep, current=target.name)
    return target


def publish_changed(
    con: duckdb.DuckDBPyConnection,
    master_path: Path,
    snapshot_dir: Path,
    now: datetime,
    *,
    changed: bool,
    whole: tuple[str, ...],
    growing: tuple[Growing, ...],
    watched: tuple[str, ...],
) -> str | None:
    """Publish a snapshot when readers would see a change, else only the status file
    (`sync.freshness`: the `whole` and `growing` tables, which every cycle restates). A change
    is `changed` (the cycle wrote data), a `watched` table that differs from when the current
    snapshot was published, or no current snapshot with its status file (the first publish, or
    one cut short before its status file). Returns the new snapshot's name, or None."""
    status, current = read_status(snapshot_dir), current_snapshot(snapshot_dir)
    digest = fingerprint(con, watched)
    if (
        not changed
        and status is not None
        and current is not None
        and status.snapshot == current.name
        and status.fingerprint == digest
    ):
        write_status(
            con, snapshot_dir, current.name, status.watermark,
            fingerprint=digest, whole=whole, growing=growing,
        )  # fmt: skip
        return None
    mark = watermark(con, growing)
    snapshot = publish(con, master_path, snapshot_dir, now)
    write_status(
        con, snapshot_dir, snapshot.name, mark, fingerprint=digest, whole=whole, growing=growing
    )
    return snapshot.name


def _write_slim(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A new DuckDB file at `path` holding every table of the master (`con`'s database) as it
    is, but the object tables without `raw` (readers never show a payload; SPEC §2), and its
    views. Written by the master's connection (the writer's only one: the file lock is the
    master's), on PUBLISH_THREADS threads, then checkpointed and detached whole."""
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    source, alias = _quoted(database), "paylens_publishing"
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute(f"SET threads = {PUBLISH_THREADS}").fetchall()
    con.execute(f"ATTACH {_literal(str(path))} AS {alias}").fetchall()
    try:
        for table, columns in _master_tables(con, database):
            kept = [c for c in columns if not (c == "raw" and table in TABLES)]
            listed = ", ".join(_quoted(c) for c in kept)
            con.execute(
                f"CREATE TABLE {alias}.main.{_quoted(table)} AS "
                f"SELECT {listed} FROM {source}.main.{_quoted(table)}"
            ).fetchall()
        views = con.execute(
            "SELECT sql FROM duckdb_views() WHERE database_name = ? AND schema_name = 'main' "
            "AND NOT internal AND NOT temporary ORDER BY view_name",
            [database],
        ).fetchall()
        con.execute(f"USE {alias}").fetchall()
        try:
            for (sql,) in views:
                con.execute(sql).fetchall()
        finally:
            con.execute(f"USE {source}").fetchall()
        con.execute(f"CHECKPOINT {alias}").fetchall()
    finally:
        con.execute(f"DETACH {alias}").fetchall()
        con.execute(f"SET threads = {threads}").fetchall()


def _check_master(con: duckdb.DuckDBPyConnection, master_path: Path) -> None:
    """Refuse to publish from a connection that is not the master's at `master_path`."""
    found = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    path = found[0][0] if found else None
    if path is None or Path(path).resolve() != master_path.resolve():
        raise ValueError(f"the connection is not to the master file {master_path}")


def _master_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, list[str]]]:
    """The master's tables (not the connection's temporary ones) and their columns, in order."""
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main' AND NOT internal "
        "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name = 'main' AND NOT temporary) GROUP BY table_name ORDER BY table_name",
        [database, database],
    ).fetchall()
    return [(str(name), list(columns)) for name, columns in rows]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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


def freshness_key(snapshot_dir: Path) -> str | None:
    """What a reader opening the current snapshot now would see, as a cache key: the
    snapshot's name, and the stamp of the status file about it (`SnapshotReader.freshness`);
    None before the first publish. Reads two small files."""
    path = current_snapshot(snapshot_dir)
    if path is None:
        return None
    status = read_status(snapshot_dir)
    fresh = status is not None and status.snapshot == path.name
    return f"{path.name}@{status.stamp}" if fresh and status is not None else path.name


class SnapshotReader:
    """Hands out a read-only connection to the current snapshot, reopening when it changes."""

    def __init__(self, snapshot_dir: Path) -> None:
        self._dir = snapshot_dir
        self._path: Path | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: str | None = None

    @property
    def name(self) -> str | None:
        """The name of the snapshot the last `connection()` call opened (a cache key)."""
        return self._path.name if self._path else None

    @property
    def freshness(self) -> str:
        """A cache key for what the status file overlays (`sync.freshness`): the snapshot's
        name, and the stamp of the status file applied to it, if any."""
        return f"{self.name}@{self._stamp}" if self._stamp else str(self.name)

    def connection(self) -> duckdb.DuckDBPyConnection | None:
        """A connection to the newest published snapshot, or None if nothing is published yet."""
        for _ in range(3):  # CURRENT may move on, and the file it named be pruned, meanwhile
            path = current_snapshot(self._dir)
            if path is None:
                return None
            if path == self._path and self._con is not None:
                self._refresh_status(self._con, path.name)
                return self._con
            try:
                con = duckdb.connect(str(path), read_only=True)
            except duckdb.IOException:
                if path.exists():
                    raise
                continue
            self.close()
            self._path, self._con = path, con
            self._refresh_status(con, path.name)
            return con
        raise RuntimeError(f"snapshots in {self._dir} are being replaced too fast to open one")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
        self._path, self._con, self._stamp = None, None, None

    def _refresh_status(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """Apply the status file when it is about this snapshot and newer than the one
        applied (`sync.freshness`)."""
        status = read_status(self._dir)
        if status is None or status.snapshot != name or status.stamp == self._stamp:
            return
        overlay(con, status)
        self._stamp = status.stamp


def _new_snapshot_path(snapshot_dir: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = snapshot_dir / f"snap_{stamp}.duckdb"
    counter = 1
    while target.exists():
        target = snapshot_dir / f"snap_{stamp}_{counter}.duckdb"
        counter += 1
    return target


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
