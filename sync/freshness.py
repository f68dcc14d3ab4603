"""The sync's freshness between snapshots: a small status file beside `CURRENT`.

A cycle that changed nothing readers read publishes no new snapshot (SPEC §2, §9): copying the
warehouse every five minutes would make an idle cycle cost O(account). But every cycle still
records its run, moves the events cursor, and re-evaluates the alert rules, and the dashboard
must show that the sync is alive ("last sync" moves forward, the runs list grows). So after
every cycle the writer writes `STATUS` beside `CURRENT` (temp name, fsync, rename: it is a
plain file read by Python, never opened by DuckDB) holding, for the snapshot CURRENT names:

- whole tables that are small and restated by every cycle (the caller names them: the sync's
  `sync_state`, the alert job's `alert_state`), and
- the rows of a growing table recorded since that snapshot (`sync_runs` started from a
  watermark taken when the snapshot was published, less an hour: a later run can re-date the
  ones before it by the clock offset it learns, `sync.engine._redate_unheard`).

A reader that opens the snapshot the file names shadows those tables with TEMP tables of the
same names (`overlay`): DuckDB resolves a name to the temporary schema first, and a read-only
connection may create temporary tables. Whole tables replace the snapshot's; growing tables
are the snapshot's rows plus the file's, the file's winning on the key. A reader of any other
snapshot (an older one it still holds, or a newer one published after the file) sees the
snapshot as it is. Each written file has a new `stamp`, so readers can key caches of what
these tables feed (the freshness line, the runs list) by it, and the data's caches stay keyed
by the snapshot name.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

STATUS = "STATUS"
MARGIN = timedelta(hours=1)  # of the growing tables' watermark (see the module docstring)


@dataclass(frozen=True)
class Growing:
    """A table that only grows (rows are added, and the newest may change): the rows whose
    `since` column is at or after the watermark are in the status file, keyed by `key`."""

    name: str
    key: str
    since: str


@dataclass(frozen=True)
class Status:
    """A status file, parsed."""

    snapshot: str
    stamp: str
    watermark: datetime | None  # the growing tables' rows from here on are in the file
    fingerprint: str  # of the watched tables when the snapshot was published (`fingerprint`)
    tables: dict[str, dict[str, Any]]  # name → {"columns": [...], "rows": [[...]], "key": k|None}


def watermark(con: duckdb.DuckDBPyConnection, growing: tuple[Growing, ...]) -> datetime | None:
    """The watermark of a snapshot about to be published from `con`: the newest `since` value
    of the growing tables (the file after it holds their later rows)."""
    found = [_newest(con, table) for table in growing if _exists(con, table.name)]
    values = [value for value in found if value is not None]
    return max(values) if values else None


def fingerprint(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> str:
    """A digest of the content of `tables` (small ones: it reads them whole), to tell whether
    they changed since a snapshot was published. Tables the warehouse lacks count as empty."""
    parts = []
    for name in tables:
        if _exists(con, name):
            count, digest = con.execute(
                f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {_quoted(name)} AS t"
            ).fetchall()[0]
            parts.append(f"{name}:{count}:{digest}")
    return ";".join(parts)


def write_status(
    con: duckdb.DuckDBPyConnection,
    snapshot_dir: Path,
    snapshot_name: str,
    mark: datetime | None,
    *,
    fingerprint: str,
    whole: tuple[str, ...],
    growing: tuple[Growing, ...],
) -> Status:
    """Write STATUS for `snapshot_name` (what CURRENT names) from the master connection `con`:
    the `whole` tables entire, the `growing` ones from `mark` less MARGIN (all of them when
    `mark` is None). Tables the warehouse does not have are left out."""
    tables: dict[str, dict[str, Any]] = {}
    for name in whole:
        if _exists(con, name):
            tables[name] = _rows(con, f"SELECT * FROM {name}", []) | {"key": None}
    for table in growing:
        if not _exists(con, table.name):
            continue
        if mark is None:
            rows = _rows(con, f"SELECT * FROM {table.name}", [])
        else:
            rows = _rows(
                con,
                f"SELECT * FROM {table.name} WHERE {table.since} >= ?",
                [mark - MARGIN],
            )
        tables[table.name] = rows | {"key": table.key}
    status = Status(snapshot_name, uuid.uuid4().hex, mark, fingerprint, tables)
    text = json.dumps(
        {
            "snapshot": status.snapshot,
            "stamp": status.stamp,
            "watermark": None if mark is None else mark.isoformat(),
            "fingerprint": fingerprint,
            "tables": tables,
        },
        default=_plain,
        separators=(",", ":"),
    )
    _write_atomically(snapshot_dir / STATUS, text)
    return status


def read_status(snapshot_dir: Path) -> Status | None:
    """The status file, or None when there is none or it cannot be read whole (a reader then
    sees the snapshot alone)."""
    try:
        data = json.loads((snapshot_dir / STATUS).read_text(encoding="utf-8"))
        mark = data["watermark"]
        return Status(
            str(data["snapshot"]),
            str(data["stamp"]),
            None if mark is None else datetime.fromisoformat(mark),
            str(data["fingerprint"]),
            dict(data["tables"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def overlay(con: duckdb.DuckDBPyConnection, status: Status) -> None:
    """Shadow the status file's tables in `con` (a read-only connection to the snapshot the
    file names) with TEMP tables holding what the file says; replaces an earlier overlay."""
    db = _quoted(con.execute("SELECT current_database()").fetchall()[0][0])
    for name, table in status.tables.items():
        if not _exists(con, name):
            continue
        columns: list[str] = table["columns"]
        key: str | None = table["key"]
        rows: list[list[Any]] = table["rows"]
        source = f"{db}.main.{_quoted(name)}"
        if key is None:
            keep = "WHERE false"
            params: list[Any] = []
        else:
            keep = f"WHERE {_quoted(key)} NOT IN (SELECT unnest(?::VARCHAR[]))"
            at = columns.index(key)
            params = [[str(row[at]) for row in rows]]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_quoted(name)} AS SELECT * FROM {source} {keep}",
            params,
        ).fetchall()
        if not rows:
            continue
        types = dict(
            con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {source})").fetchall()
        )
        shared = [column for column in columns if column in types]
        structure = json.dumps({column: _json_type(types[column]) for column in shared})
        wanted = [columns.index(column) for column in shared]
        records = json.dumps(
            [dict(zip(shared, (row[i] for i in wanted), strict=True)) for row in rows]
        )
        picked = ", ".join(f"r.{_quoted(column)}" for column in shared)
        con.execute(
            f"INSERT INTO temp.main.{_quoted(name)} ({', '.join(map(_quoted, shared))}) "
            f"SELECT {picked} FROM (SELECT unnest(from_json(?, ?)) AS r)",
            [records, f"[{structure}]"],
        ).fetchall()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, Any]:
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description or []]
    return {"columns": columns, "rows": [list(row) for row in cursor.fetchall()]}


def _newest(con: duckdb.DuckDBPyConnection, table: Growing) -> datetime | None:
    value = con.execute(f"SELECT max({table.since}) FROM {table.name}").fetchall()[0][0]
    return value if isinstance(value, datetime) else None


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the connection's own database (not its temporary schema) has table `name`."""
    sql = (
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
        "AND database_name = current_database() AND schema_name = 'main' AND NOT temporary"
    )
    return bool(con.execute(sql, [name]).fetchall()[0][0])


def _json_type(duckdb_type: str) -> str:
    """The from_json structure type of a column: JSON columns travel as their text (the
    insert casts it back), the rest as themselves."""
    return "VARCHAR" if duckdb_type == "JSON" else duckdb_type


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return (value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to the status file")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
