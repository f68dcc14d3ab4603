"""History: each subscription's status and each item's price and quantity, over time.

The metrics need the book of business on any past day, and Stripe only serves the present.
`history.sql` rebuilds both history tables after every complete sync from what the warehouse
holds — invoice lines and subscription fields for the time before the first sync, the state
observed at each sync, and subscription events (exact transitions within the 30-day window) —
so the tables are a pure function of the warehouse and a crash can never leave them half done.
See docs/SYNC.md for what can and cannot be reconstructed.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources

import duckdb

from sync.store import rebuild_memory, transaction


def rebuild_history(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Record today's observations and rebuild both history tables, in one transaction."""
    sql = resources.files("sync").joinpath("history.sql").read_text(encoding="utf-8")
    statements = [s for s in sql.split(";\n") if s.strip() and not _only_comments(s)]
    with rebuild_memory(con), transaction(con):
        for statement in statements:
            con.execute(statement, {"now": now} if "$now" in statement else {}).fetchall()


def _only_comments(statement: str) -> bool:
    return all(line.strip().startswith("--") or not line.strip() for line in statement.splitlines())
