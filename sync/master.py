"""Opening the master file to write it: under the writer lock, refused when it is in use.

The writer lock (`sync.lock`) is the guarantee that one process writes the warehouse; every
writer takes it first. DuckDB's own lock on the file still refuses a program that does not take
ours (and never waits): that refusal is turned into the writer lock's own error, one line
naming the file, so the application reports both alike.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from sync.lock import WarehouseLocked
from sync.store import open_warehouse


def open_master(path: Path) -> duckdb.DuckDBPyConnection:
    """The master at `path` read-write, with its schema (`sync.store.open_warehouse`); callers
    hold the writer lock first. Raises WarehouseLocked when another process has the file."""
    try:
        return open_warehouse(path)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLocked(
                f"{path} is in use by another paylens process (is `paylens run` going?); only "
                "one process may write the warehouse"
            ) from None
        raise
