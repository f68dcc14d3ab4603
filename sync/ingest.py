"""Bulk ingest of served JSON: stage objects, then one typed upsert per table, all in DuckDB.

Why SQL and not Python rows: DuckDB parses a page body, splits it into objects and reads each
object's typed fields in C++ (`from_json`, `json_transform`), and keeps each object's JSON text as
`raw` without a `json.dumps` per object. Objects are *staged* first (page bodies, objects nested
in staged parents, objects inside events) into one temp table per warehouse table; `flush` then
writes every staged table: objects that fail a check go to `quarantine` with the reason, the
rest are upserted (the last staged version of an id wins), and the nested lists of the parents
written replace the children stored before (an item removed from a subscription leaves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from sync.currencies import KNOWN_CURRENCIES
from sync.tables import TABLES, Column, Table

MACROS = f"""
CREATE OR REPLACE TEMP MACRO paylens_ref(x) AS CASE
    WHEN json_type(x) = 'OBJECT' THEN x->>'$.id'
    WHEN json_type(x) = 'VARCHAR' THEN x->>'$'
END;
CREATE OR REPLACE TEMP MACRO paylens_known_currency(c) AS
    c IN ({", ".join(f"'{code}'" for code in sorted(KNOWN_CURRENCIES))});
"""


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the helper macros and one typed staging table per warehouse table (temp)."""
    con.execute(MACROS).fetchall()
    empty = (
        "SELECT NULL::BIGINT AS seq, NULL::JSON AS raw, NULL::BOOLEAN AS deleted, "
        "NULL::VARCHAR AS parent"
    )
    for name, table in TABLES.items():
        con.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS stage_{name} AS "
            f"{_typed_select(table, empty, 0)} LIMIT 0"
        ).fetchall()


@dataclass
class Staging:
    """What has been staged since the last flush: objects per table, and the batch counter."""

    objects: dict[str, int] = field(default_factory=dict)
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def stage_pages(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    table: str,
    bodies: Sequence[str],
    parents: Sequence[str | None] | None = None,
) -> None:
    """Stage the objects of list-response bodies (`{"data": [...]}`), and what they nest.

    `parents` names, per body, the parent a nested-list page belongs to (items, lines).
    """
    if not bodies:
        return
    parent_ids = list(parents) if parents is not None else [None] * len(bodies)
    # bound as list parameters: no Arrow table (pyarrow's first string array imports pandas)
    stage_select(
        con,
        staging,
        table,
        'SELECT unnest(from_json(body, \'{"data":["JSON"]}\').data) AS raw, '
        "FALSE AS deleted, parent FROM "
        "(SELECT unnest(?::VARCHAR[]) AS body, unnest(?::VARCHAR[]) AS parent)",
        [list(bodies), parent_ids],
    )


def stage_select(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    table: str,
    source: str,
    params: Sequence[object] = (),
) -> None:
    """Stage the rows of `source` (raw JSON, deleted BOOLEAN, parent VARCHAR), typed, with the
    objects they nest (subscription items, invoice lines, expanded discounts)."""
    seq = staging.next_seq()
    count = con.execute(
        f"INSERT INTO stage_{table} {_typed_select(TABLES[table], source, seq)}", list(params)
    ).fetchall()[0][0]
    if not count:
        return
    staging.objects[table] = staging.objects.get(table, 0) + count
    for index, nested in enumerate(TABLES[table].nested):
        children = (
            f"SELECT child AS raw, FALSE AS deleted, id AS parent FROM ("
            f"SELECT id, unnest(_nested_{index}) AS child FROM stage_{table} WHERE seq = {seq}) "
            "WHERE json_type(child) = 'OBJECT'"  # ids of unexpanded objects cannot be stored
        )
        stage_select(con, staging, nested.table, children)


def _typed_select(table: Table, source: str, seq: int) -> str:
    """Typed columns, nested lists and the quarantine reason of each object of `source`."""
    columns = [f'{table.expression(c)} AS "{c.name}"' for c in table.columns]
    columns += [f"{table.nested_access(n)} AS _nested_{i}" for i, n in enumerate(table.nested)]
    return (
        f"SELECT *, {_reason(table)} AS _reason FROM ("
        f"SELECT {seq}::BIGINT AS seq, raw, deleted, parent, {', '.join(columns)} FROM ("
        f"SELECT raw, deleted, parent, json_transform(raw, '{table.struct()}') AS o "
        f"FROM ({source}) WHERE raw IS NOT NULL))"
    )


def flush(
    con: duckdb.DuckDBPyConnection, staging: Staging, api_version: str, synced_at: datetime
) -> dict[str, int]:
    """Write every staged table (parents first) and clear the stage; returns rows per table.

    Runs inside the caller's transaction, so a crash leaves either all of it or none.
    """
    written: dict[str, int] = {}
    for name, table in TABLES.items():
        if staging.objects.get(name):
            written[name] = _write(con, table, api_version, synced_at)
    for name, table in TABLES.items():
        for nested in table.nested:
            if nested.is_list and staging.objects.get(name):
                _replace_children(con, table, nested.table)
    for name in staging.objects:
        con.execute(f"DELETE FROM stage_{name}").fetchall()
    staging.objects.clear()
    return written


def _reason(table: Table) -> str:
    """A CASE naming the first check an object fails, NULL when it passes."""
    cases = ["WHEN json_type(raw) <> 'OBJECT' THEN 'not a JSON object'"]
    for column in table.columns:
        cases.extend(_checks(column))
    return "CASE " + " ".join(cases) + " END"


def _checks(column: Column) -> list[str]:
    name = f'"{column.name}"'
    found = []
    if column.required:
        found.append(f"WHEN {name} IS NULL THEN '{column.path} is missing or of the wrong type'")
    if column.kind == "currency":
        found.append(
            f"WHEN {name} IS NOT NULL AND NOT paylens_known_currency({name}) "
            f"THEN 'unknown currency ' || {name}"
        )
    return found


def _write(
    con: duckdb.DuckDBPyConnection, table: Table, api_version: str, synced_at: datetime
) -> int:
    """Quarantine the bad, upsert the good (newest staged version per id); returns rows written."""
    stage = f"stage_{table.name}"
    con.execute(
        "INSERT INTO quarantine BY NAME "
        "SELECT ? AS table_name, coalesce(id, md5(raw::VARCHAR)) AS object_key, "
        "first(_reason) AS reason, first(raw::VARCHAR) AS raw, ? AS first_seen, ? AS last_seen "
        f"FROM {stage} WHERE _reason IS NOT NULL GROUP BY ALL "
        "ON CONFLICT DO UPDATE SET reason = excluded.reason, raw = excluded.raw, "
        "last_seen = excluded.last_seen",
        [table.name, synced_at, synced_at],
    ).fetchall()
    stored = [c.name for c in table.columns if c.stored]
    names = [*stored, *table.extra]
    values = [f'"{n}"' for n in stored] + list(table.extra.values())
    quoted = ", ".join(f'"{n}"' for n in names)
    written = con.execute(
        f"INSERT OR REPLACE INTO {table.name} ({quoted}, raw, api_version, synced_at) "
        f"SELECT {', '.join(values)}, raw, ?, ? FROM {stage} "
        "WHERE _reason IS NULL QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq DESC) = 1",
        [api_version, synced_at],
    ).fetchall()[0][0]
    con.execute(
        "DELETE FROM quarantine WHERE table_name = ? AND object_key IN "
        f"(SELECT id FROM {stage} WHERE _reason IS NULL)",
        [table.name],
    ).fetchall()
    return int(written)


def _replace_children(con: duckdb.DuckDBPyConnection, parent: Table, child: str) -> None:
    """Children a staged parent no longer lists (an item replaced on a plan change) leave."""
    column = TABLES[child].columns[1].name  # the parent reference comes right after id
    con.execute(
        f"DELETE FROM {child} WHERE {column} IN "
        f"(SELECT id FROM stage_{parent.name} WHERE _reason IS NULL) "
        f"AND id NOT IN (SELECT id FROM stage_{child} WHERE parent IS NOT NULL)"
    ).fetchall()
