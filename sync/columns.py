"""How a warehouse table is declared: typed columns read from a Stripe object, as data.

A `Column` names its JSON path, how to read it and whether a row without it must be
quarantined. These declarations (in `sync.tables`) are the only description of an object table:
`sync.ingest` turns them into the SQL that reads page bodies, and `sync.schema` into the
`CREATE TABLE` statements. Fields not declared stay in `raw`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """How a column is read and stored: the json_transform type it is parsed as, the SQL that
    turns the parsed value `{v}` into the stored one, and the stored column's type."""

    parsed: object
    read: str
    stored: str


KINDS: dict[str, Kind] = {
    "str": Kind("VARCHAR", "{v}", "VARCHAR"),
    "int": Kind("BIGINT", "{v}", "BIGINT"),
    "int32": Kind("INTEGER", "{v}", "INTEGER"),
    "bool": Kind("BOOLEAN", "{v}", "BOOLEAN"),
    "float": Kind("DOUBLE", "{v}", "DOUBLE"),
    "ts": Kind("BIGINT", "make_timestamp({v} * 1000000)", "TIMESTAMP"),  # unix s -> UTC
    "json": Kind("JSON", "{v}", "JSON"),
    # an id, whether the field holds the id or the expanded object
    "ref": Kind("JSON", "paylens_ref({v})", "VARCHAR"),
    # a list of ids or expanded objects -> a JSON array of ids
    "ids": Kind(["JSON"], "to_json(list_transform({v}, lambda x: paylens_ref(x)))", "JSON"),
    # Stripe's lower-case ISO code; an unknown one sends the object to quarantine
    "currency": Kind("VARCHAR", "lower({v})", "VARCHAR"),
    # the total of a list of {"amount": n} (discount_amounts)
    "amounts": Kind(
        [{"amount": "BIGINT"}],
        "coalesce(list_sum(list_transform({v}, lambda x: x.amount)), 0)",
        "BIGINT",
    ),
}


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # dotted JSON path in the object
    kind: str = "str"
    required: bool = False  # NOT NULL; an object without it is quarantined
    stored: bool = True  # False: a helper, read only to feed a `derived` column
    derived: str | None = None  # SQL over helper columns, instead of a path


@dataclass(frozen=True)
class Nested:
    """Objects a parent carries: a Stripe list (`items`, `lines`) or a plain array of objects."""

    table: str
    path: str
    is_list: bool = True  # {"data": [...], "has_more", "url"} rather than [...]


@dataclass(frozen=True)
class Table:
    name: str
    object: str  # Stripe's `object` value
    columns: tuple[Column, ...]
    nested: tuple[Nested, ...] = ()
    # a deleted object comes back as an `{"id", "deleted": true}` stub; the row stays, flagged
    deletable: bool = False

    @property
    def read(self) -> tuple[Column, ...]:
        """The columns read from the object's JSON (stored ones and helpers)."""
        read = tuple(c for c in self.columns if c.derived is None)
        return (*read, DELETED_FLAG) if self.deletable else read

    @property
    def stored(self) -> tuple[Column, ...]:
        """The typed columns of the warehouse table, in order (`deleted` and raw come after)."""
        return tuple(c for c in self.columns if c.stored)

    def struct(self) -> str:
        """The json_transform structure reading every declared path (and nested list) once."""
        tree: dict[str, object] = {}
        leaves = [(c.path, KINDS[c.kind].parsed) for c in self.read]
        leaves += [(n.path + (".data" if n.is_list else ""), ["JSON"]) for n in self.nested]
        for path, kind in leaves:
            *parents, leaf = path.split(".")
            node = tree
            for key in parents:
                node = node.setdefault(key, {})  # type: ignore[assignment]
            node[leaf] = kind
        return json.dumps(tree)

    def nested_access(self, nested: Nested) -> str:
        return _access(nested.path + (".data" if nested.is_list else ""))

    def expression(self, column: Column) -> str:
        return KINDS[column.kind].read.format(v=_access(column.path))

    def ddl(self) -> str:
        """CREATE TABLE for the warehouse table these columns describe (idempotent)."""
        lines = [f'    "{c.name}" {KINDS[c.kind].stored}{_constraint(c)}' for c in self.stored]
        if self.deletable:
            lines.append("    deleted BOOLEAN NOT NULL DEFAULT FALSE")
        # zstd: raw JSON is most of what a sync writes; the demo warehouse is 14 MB instead of
        # 52 MB, and its checkpoints are faster than with DuckDB's automatic choice
        lines.append("    raw JSON NOT NULL USING COMPRESSION zstd")
        lines += ["    api_version VARCHAR NOT NULL", "    synced_at TIMESTAMP NOT NULL"]
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n" + ",\n".join(lines) + "\n);\n"


# the `deleted` field of a deletion stub (the row's `deleted` also covers deletion events)
DELETED_FLAG = Column("deleted_field", "deleted", "bool", stored=False)


def _constraint(column: Column) -> str:
    if column.name == "id":
        return " PRIMARY KEY"
    return " NOT NULL" if column.required else ""


def _access(path: str) -> str:
    """SQL for a dotted path into the transformed struct `o`."""
    return "o." + ".".join(f'"{key}"' for key in path.split("."))
