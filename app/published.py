"""The published snapshot as a command reads it: the newest one, or one clear error.

Commands that only read (`paylens alerts check/status/history`, `paylens weekly`) work on the
snapshot the service publishes, not the master, so they run while the service holds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from app.errors import CommandError
from app.settings import Settings
from sync import SnapshotReader


@contextmanager
def published_snapshot(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the newest published snapshot, closed when the block ends; a
    CommandError saying to sync first when nothing has been published yet."""
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    if con is None:
        raise CommandError(
            f"nothing has been synced into {settings.data_dir} yet: run `paylens sync` first"
        )
    try:
        yield con
    finally:
        reader.close()
