"""Bulk ingest of served JSON: stage objects, then one typed upsert per table, all in DuckDB.

Why SQL and not Python rows: DuckDB parses a page body, splits it into objects and reads each
object's typed fields in C++ (`from_json`, `json_transform`), and keeps each object's JSON text as
`raw` without a `json.dumps` per object. Objects are *staged* first (page bodies, objects nested
in staged parents, objects inside events) into one temp table per warehouse table; `flush` then
writes every staged table: objects that fail a check go to `quarantine` with the reason, the
rest are upserted (the last staged version of an id wins), and the nested lists of the parents
written replace the children stored before (an item removed from a subscription leaves).

Where the time goes (docs/PERFORMANCE.md, "local ingest"): parsing (split a body, then one
`json_transform` per object), copying `raw` into the table, and the checkpoint that compresses
it. So each step here runs only when it has work: no child statement for nested lists without
objects, no window unless an id was staged twice, a plain INSERT unless an id is already stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from sync.columns import Table
from sync.spool import Spool
from sync.tables import TABLES
from sync.typed import IS_OBJECT, MACROS, holds_objects, typed_select

# the columns every staged source has: a staging table is the typed select of it, empty
_EMPTY = (
    "SELECT NULL::BIGINT AS seq, NULL::JSON AS raw, NULL::BOOLEAN AS deleted, "
    "NULL::VARCHAR AS parent"
)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the helper macros and one typed staging table per warehouse table (temp)."""
    _create_stages(con, Staging())


def prepare_area(con: duckdb.DuckDBPyConnection, area: str) -> None:
    """A stage area every cursor of `con` sees: an in-memory database `area` holding one staging
    table per warehouse table. Temp tables belong to one cursor; an area lets one cursor stage
    while another writes (`sync.writer`). `con` gets the macros staging needs."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {area}").fetchall()
    _create_stages(con, Staging(area=area))
    clear_area(con, area)


def _create_stages(con: duckdb.DuckDBPyConnection, staging: Staging) -> None:
    """The macros, and the typed staging tables of `staging`'s area (temp tables without one)."""
    con.execute(MACROS).fetchall()
    temp = "" if staging.area else "TEMP "
    for name, table in TABLES.items():
        con.execute(
            f"CREATE {temp}TABLE IF NOT EXISTS {staging.stage(name)} AS "
            f"{typed_select(table, _EMPTY, 0)} LIMIT 0"
        ).fetchall()


def clear_area(con: duckdb.DuckDBPyConnection, area: str, *names: str) -> None:
    """Empty the staging tables `names` (all without names) of an area, outside any transaction
    that writes the warehouse (DuckDB lets one transaction write one database)."""
    staging = Staging(area=area)
    for name in names or TABLES:
        _empty(con, staging, name)


def _empty(con: duckdb.DuckDBPyConnection, staging: Staging, name: str) -> None:
    """Empty one staging table: replaced, not emptied (a DELETE keeps the deleted rows' memory
    until the table goes)."""
    table = staging.stage(name)
    temp = "" if staging.area else "TEMP "
    con.execute(f"CREATE OR REPLACE {temp}TABLE {table} AS FROM {table} LIMIT 0").fetchall()


@dataclass
class Staging:
    """What has been staged since the last flush: objects per table, and the batch counter.

    `area` names the stage area (`prepare_area`) the objects are in; empty, the cursor's own
    temp tables, which `flush` empties itself. An area's are emptied by its owner after the
    flush's transaction (`clear_area`).
    """

    objects: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    area: str = ""

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def stage(self, name: str) -> str:
        """The staging table of warehouse table `name`."""
        return f"{self.area}.stage_{name}" if self.area else f"stage_{name}"


def stage_pages(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    table: str,
    bodies: Sequence[str],
    parents: Sequence[str | None] | None = None,
) -> None:
    """Stage the objects of list-response bodies (`{"data": [...]}`), and what they nest.

    `parents` names, per body, the parent a nested-list page belongs to (items, lines).

    The bodies go through a temporary spool (`sync.spool`, as the backfill's writer's do) to
    files that DuckDB reads with `read_text` (`stage_files`).
    """
    if not bodies:
        return
    with Spool.temporary() as spool:
        stage_files(con, staging, table, [spool.write(body) for body in bodies], parents)


def stage_files(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    table: str,
    files: Sequence[str],
    parents: Sequence[str | None] | None = None,
) -> None:
    """Stage the objects of list-response bodies spooled to `files` (`sync.spool`), and what
    they nest; `parents` names, per file, the parent a nested-list page belongs to."""
    if not files:
        return
    split = 'unnest(from_json(content, \'{"data":["JSON"]}\').data) AS raw, FALSE AS deleted'
    if parents is None:
        source = f"SELECT {split}, NULL::VARCHAR AS parent FROM read_text(?)"
        stage_select(con, staging, table, source, [list(files)])
        return
    source = (
        f"SELECT {split}, parent FROM read_text(?) JOIN "
        "(SELECT unnest(?::VARCHAR[]) AS filename, unnest(?::VARCHAR[]) AS parent) "
        "USING (filename)"
    )
    stage_select(con, staging, table, source, [list(files), list(files), list(parents)])


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
        f"INSERT INTO {staging.stage(table)} {typed_select(TABLES[table], source, seq)}",
        list(params),
    ).fetchall()[0][0]
    if not count:
        return
    staging.objects[table] = staging.objects.get(table, 0) + count
    nested = TABLES[table].nested
    if not nested:
        return
    # which nested lists hold objects (discounts mostly hold ids): a child statement with
    # nothing to stage still costs its planning, ~3 ms
    held = con.execute(
        f"SELECT {', '.join(holds_objects(index, n) for index, n in enumerate(nested))} "
        f"FROM {staging.stage(table)} WHERE seq = {seq}"
    ).fetchall()[0]
    for index, child in enumerate(nested):
        if not held[index]:
            continue
        children = (
            f"SELECT child AS raw, FALSE AS deleted, id AS parent FROM ("
            f"SELECT id, unnest(_nested_{index}) AS child FROM {staging.stage(table)} "
            f"WHERE seq = {seq}) "
            f"WHERE {IS_OBJECT.format(v='child')}"  # ids of unexpanded objects cannot be stored
        )
        stage_select(con, staging, child.table, children)


# Above this many rows, finding which staged ids a table holds already means reading its whole id
# column (DuckDB has no index join): ~0.1 s for 2 M invoice lines, at every flush.
PROBE_ROWS = 200_000


def flush(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    api_version: str,
    synced_at: datetime,
    *,
    probe_rows: int | None = None,
) -> dict[str, int]:
    """Write every staged table (parents first) and clear the stage; returns rows per table.

    Runs inside the caller's transaction, so a crash leaves either all of it or none.

    With `probe_rows` (the backfill's writer, whose ids are new but for a window fetched again
    after a restart), a table above that many rows is not searched for the staged ids: they are
    inserted plainly, and one stored before fails the statement (`duckdb.ConstraintException`;
    the caller rolls back and flushes again without `probe_rows`). Stored children of parents
    none of which was stored are not looked for either: they can only be the ones staged with
    them.
    """
    staged = [name for name in TABLES if staging.objects.get(name)]
    if not staged:
        return {}
    written: dict[str, int] = {}
    optimistic = probe_rows is not None
    unprobed = _larger(con, staged, probe_rows) if probe_rows is not None else set()
    counts = _counts(con, staging, staged, unprobed)
    for name in staged:  # parents first
        good, ids, bad, stored, quarantined = counts[name]
        if bad:
            _quarantine(con, staging, TABLES[name], synced_at)
        written[name] = (
            _write(con, staging, TABLES[name], api_version, synced_at, good == ids, stored)
            if good
            else 0
        )
        if good and quarantined:  # objects that come back valid leave the quarantine
            con.execute(
                f"DELETE FROM quarantine WHERE table_name = ? AND {_KEY_ID} IN "
                f"(SELECT id FROM {staging.stage(name)} WHERE _reason IS NULL)",
                [name],
            ).fetchall()
    for name, table in TABLES.items():
        if not staging.objects.get(name) or (optimistic and not counts[name][3]):
            continue
        for nested in table.nested:
            if nested.is_list:
                _replace_children(con, staging, table, nested.table)
    if not staging.area:  # an area's owner empties it after the transaction (clear_area)
        for name in staging.objects:
            _empty(con, staging, name)
        staging.objects.clear()
    return written


def _larger(con: duckdb.DuckDBPyConnection, staged: list[str], rows: int) -> set[str]:
    """The staged tables holding more than `rows` rows (a count is read off the metadata)."""
    sizes = con.execute(
        " UNION ALL ".join(f"SELECT '{name}', count(*) FROM {name}" for name in staged)
    ).fetchall()
    return {name for name, size in sizes if size > rows}


def _counts(
    con: duckdb.DuckDBPyConnection, staging: Staging, staged: list[str], unprobed: set[str]
) -> dict[str, tuple[int, ...]]:
    """Per staged table, in one query: objects that pass, distinct ids among them, objects that
    fail, ids already stored (0 for the `unprobed`), whether the table has objects in
    quarantine."""

    def stored(name: str) -> str:
        if name in unprobed:
            return "0"
        return f"(SELECT count(*) FROM {name} WHERE id IN (SELECT id FROM {staging.stage(name)}))"

    rows = con.execute(
        " UNION ALL ".join(
            f"SELECT '{name}', count(*) FILTER (_reason IS NULL), "
            "count(DISTINCT id) FILTER (_reason IS NULL), count(*) FILTER (_reason IS NOT NULL), "
            f"{stored(name)}, "
            f"(SELECT count(*) FROM quarantine WHERE table_name = '{name}') "
            f"FROM {staging.stage(name)}"
            for name in staged
        )
    ).fetchall()
    return {row[0]: tuple(int(value) for value in row[1:]) for row in rows}


def _write(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    table: Table,
    api_version: str,
    synced_at: datetime,
    deduped: bool,
    stored: int,
) -> int:
    """Upsert the objects that pass (the newest staged version per id); returns rows written.

    A backfill mostly inserts ids never stored (`stored` 0), where a plain INSERT costs a third
    of `INSERT OR REPLACE` (whose conflict handling is per row); a window over the staged rows
    picks the newest version only when an id was staged twice (`deduped` False).
    """
    stage = staging.stage(table.name)
    names = [f'"{c.name}"' for c in table.stored]
    values = [c.derived or f'"{c.name}"' for c in table.stored]
    if table.deletable:
        names.append("deleted")
        values.append("deleted OR coalesce(deleted_field, FALSE)")
    newest = "" if deduped else " QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq DESC) = 1"
    written = con.execute(
        f"INSERT {'OR REPLACE ' if stored else ''}INTO {table.name} "
        f"({', '.join(names)}, raw, api_version, synced_at) "
        f"SELECT {', '.join(values)}, raw, ?, ? FROM {stage} WHERE _reason IS NULL{newest}",
        [api_version, synced_at],
    ).fetchall()[0][0]
    return int(written)


# Quarantine keys: the object's id (its JSON text when it is not a string, a hash of the raw
# text without one), and for the n-th distinct object with one key in one staged source (six
# different charges with id 12345), " #n" after it. Each bad object is kept; one seen again (the
# next sync, an event carrying it, the next page repeating the one that ended the page before:
# a page continues after the last well-formed id) refreshes its row.
COPY = " #"
_KEY_ID = f"split_part(object_key, '{COPY}', 1)"  # the id a key stands for


def _quarantine(
    con: duckdb.DuckDBPyConnection, staging: Staging, table: Table, synced_at: datetime
) -> None:
    """Store (or refresh) every object that failed a check, with the first reason it fails.

    Copies are counted per staged source (`seq`), in the order staged, by their text: the same
    object staged from a page and from an event, or from two pages of one source, is one
    object; two different objects with one id are two (byte-identical copies say nothing more
    than one)."""
    key = "coalesce(id, raw->>'$.id', md5(raw::VARCHAR))"
    con.execute(
        "INSERT INTO quarantine BY NAME "
        f"SELECT ? AS table_name, key || if(copy > 1, '{COPY}' || copy, '') AS object_key, "
        "_reason AS reason, raw::VARCHAR AS raw, ? AS first_seen, ? AS last_seen FROM ("
        "SELECT *, row_number() OVER (PARTITION BY seq, key ORDER BY staged) AS copy FROM ("
        f"SELECT {key} AS key, seq, rowid AS staged, _reason, raw "
        f"FROM {staging.stage(table.name)} WHERE _reason IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY seq, key, md5(raw::VARCHAR) ORDER BY rowid) = 1"
        ")) "
        # one row per key and copy: the last staged version of it
        "QUALIFY row_number() OVER (PARTITION BY key, copy ORDER BY seq DESC, staged DESC) = 1 "
        "ON CONFLICT DO UPDATE SET reason = excluded.reason, raw = excluded.raw, "
        "last_seen = excluded.last_seen",
        [table.name, synced_at, synced_at],
    ).fetchall()


def _replace_children(
    con: duckdb.DuckDBPyConnection, staging: Staging, parent: Table, child: str
) -> None:
    """Children a staged parent no longer lists (an item replaced on a plan change) leave."""
    column = TABLES[child].stored[1].name  # the parent reference comes right after id
    con.execute(
        f"DELETE FROM {child} WHERE {column} IN "
        f"(SELECT id FROM {staging.stage(parent.name)} WHERE _reason IS NULL) "
        f"AND id NOT IN (SELECT id FROM {staging.stage(child)} WHERE parent IS NOT NULL)"
    ).fetchall()
