"""The warehouse file: schema, and bulk upserts of typed rows keyed by Stripe id.

Rows are turned into one Arrow table per batch, typed from the warehouse's own column types, and
written with a single `INSERT OR REPLACE … SELECT` — never row by row. A batch is deduplicated by
id first (the last version wins), because one statement may not touch the same key twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "DOUBLE": pa.float64(),
}


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the master file read-write and make sure the schema exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(resources.files("sync").joinpath("schema.sql").read_text(encoding="utf-8"))
    return con


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[dict[str, Any]],
    *,
    raws: Sequence[dict[str, Any]] | None = None,
    api_version: str | None = None,
    synced_at: datetime | None = None,
) -> int:
    """Insert or replace `rows` in `table`; returns how many distinct ids were written.

    Object tables take `raws` (the objects as served, stored as JSON text), `api_version` and
    `synced_at`; plain tables take complete rows.
    """
    if not rows:
        return 0
    columns = _columns(con, table)
    records = list(rows)
    if raws is not None:
        if synced_at is None or api_version is None:
            raise ValueError("object rows need api_version and synced_at")
        records = [
            {
                **row,
                "raw": json.dumps(raw, separators=(",", ":")),
                "api_version": api_version,
                "synced_at": synced_at,
            }
            for row, raw in zip(rows, raws, strict=True)
        ]
    deduped = list({record["id"]: record for record in records}.values())
    batch = _arrow_batch(deduped, columns)
    con.register("_paylens_batch", batch)
    try:
        names = ", ".join(columns)
        con.execute(f"INSERT OR REPLACE INTO {table} ({names}) SELECT {names} FROM _paylens_batch")
    finally:
        con.unregister("_paylens_batch")
    return len(deduped)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    found = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    if not found:
        raise ValueError(f"no warehouse table named {table!r}")
    return dict(found)


def _arrow_batch(records: Iterable[dict[str, Any]], columns: dict[str, str]) -> pa.Table:
    """Columns typed as the warehouse declares them; unix seconds become microsecond timestamps."""
    records = list(records)
    arrays = {}
    for name, sql_type in columns.items():
        values = [record.get(name) for record in records]
        arrow_type = _ARROW_TYPES[sql_type]
        if sql_type == "TIMESTAMP":
            values = [_timestamp_us(value) for value in values]
            arrays[name] = pa.array(values, type=pa.int64()).cast(arrow_type)
        else:
            arrays[name] = pa.array(values, type=arrow_type)
    return pa.table(arrays)


def _timestamp_us(value: Any) -> int | None:
    """Unix seconds (Stripe's timestamps) or a datetime (our own clock; naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1_000_000)
    return int(value) * 1_000_000
