"""The warehouse schema: object tables generated from `sync.tables`, the rest from schema.sql.

Each object table is declared once (`sync.tables`); its DDL is derived here, so the columns the
sync writes and the columns the table has cannot drift apart. Tables that hold no Stripe objects
(quarantine, history, runs, state, windows) are plain SQL in `schema.sql`.
"""

from __future__ import annotations

from importlib import resources

from sync.tables import TABLES


def schema_sql() -> str:
    """The whole warehouse DDL, idempotent (`CREATE ... IF NOT EXISTS`), as one SQL script."""
    objects = "\n".join(table.ddl() for table in TABLES.values())
    rest = resources.files("sync").joinpath("schema.sql").read_text(encoding="utf-8")
    return objects + "\n" + rest
