"""Reading the record of sync runs (written by `sync.engine`)."""

from __future__ import annotations

import duckdb
import pandas as pd


def latest_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    """Newest first: run_id, kind, started_at, finished_at, status, reads, objects, error."""
    return con.execute(
        "SELECT run_id, kind, started_at, finished_at, status, reads, objects, error "
        "FROM sync_runs ORDER BY started_at DESC LIMIT ?",
        [limit],
    ).df()
