"""How a warehouse table is declared: typed columns read from a Stripe object, as data.

A `Column` names its JSON path, how to read it and which values send its object to quarantine
(missing when required, of the wrong JSON type, negative, outside Stripe's enum). These
declarations (in `sync.tables`) are the only description of an object table: `sync.typed` turns
them into the SQL that reads and checks page bodies, and `sync.schema` into the `CREATE TABLE`
statements. Fields not declared stay in `raw`.

Types are strict where a cast would change a value: a number where an id belongs, a fraction or
a value beyond int64 where an integer belongs are reasons, never cast (DuckDB's casts would
store 12345 as "12345", 43700.5 as 43700 and 2**63 as NULL). Such kinds read the field as JSON
and check its JSON type (`json_type`) before converting it. Free-text strings stay lenient: a
number's text is the number, so nothing is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """How a column is read, checked and stored: the json_transform type it is parsed as, the SQL
    that turns the parsed value `{v}` into the stored one, the stored column's type, and the
    checks of a strict kind: (condition, reason) SQL over the parsed JSON value `{j}`, the read
    value `{v}` and the field's `{path}`, in order, the first that holds being the reason."""

    parsed: object
    read: str
    stored: str
    checks: tuple[tuple[str, str], ...] = ()

    @property
    def reads_json(self) -> bool:
        """Whether a check needs the field's JSON value, beside the read one."""
        return any("{j}" in condition for condition, _ in self.checks)


Checks = tuple[tuple[str, str], ...]


def _unless(condition: str, reason: str) -> Checks:
    """One check: `reason` when the field is present and `condition` does not hold."""
    return ((f"{{j}} IS NOT NULL AND NOT ({condition})", f"'{{path}} {reason}'"),)


def _integer(bits: int) -> Checks:
    """A JSON integer (no fraction, no exponent) that fits a signed integer of `bits` bits."""
    return _unless("json_type({j}) IN ('BIGINT', 'UBIGINT')", "is not an integer") + _unless(
        "{v} IS NOT NULL", f"is beyond int{bits}"
    )


# an integer read from a JSON value: NULL when out of range (a fraction is a check of its own)
_AS_INT = "TRY_CAST({{v}}::VARCHAR AS {type})"

KINDS: dict[str, Kind] = {
    "str": Kind("VARCHAR", "{v}", "VARCHAR"),  # free text: lenient, a number's text is kept
    # an identifier: a JSON string only (a number would be cast, and two ids could collide)
    "id": Kind(
        "JSON", "paylens_string({v})", "VARCHAR", _unless("{v} IS NOT NULL", "is not a string")
    ),
    "int": Kind("JSON", _AS_INT.format(type="BIGINT"), "BIGINT", _integer(64)),
    "int32": Kind("JSON", _AS_INT.format(type="INTEGER"), "INTEGER", _integer(32)),
    "bool": Kind(
        "JSON",
        "{v}::VARCHAR = 'true'",
        "BOOLEAN",
        _unless("{j}::VARCHAR IN ('true', 'false')", "is not a boolean"),
    ),
    "float": Kind(
        "JSON",
        "TRY_CAST({v}::VARCHAR AS DOUBLE)",
        "DOUBLE",
        _unless("json_type({j}) IN ('BIGINT', 'UBIGINT', 'DOUBLE')", "is not a number"),
    ),
    # unix seconds -> UTC, from 1970 to 9999 (beyond, DuckDB's TIMESTAMP overflows)
    "ts": Kind(
        "JSON",
        "paylens_timestamp({v})",
        "TIMESTAMP",
        _integer(64)[:1] + _unless("{v} IS NOT NULL", "is not a unix time"),
    ),
    "json": Kind("JSON", "{v}", "JSON"),
    # an id, whether the field holds the id or the expanded object
    "ref": Kind(
        "JSON",
        "paylens_ref({v})",
        "VARCHAR",
        _unless("{v} IS NOT NULL", "is not an id or an object with one"),
    ),
    # a list of ids or expanded objects -> a JSON array of ids
    "ids": Kind(["JSON"], "to_json(list_transform({v}, lambda x: paylens_ref(x)))", "JSON"),
    # Stripe's lower-case ISO code; an unknown one sends the object to quarantine
    "currency": Kind(
        "VARCHAR",
        "lower({v})",
        "VARCHAR",
        (("{v} IS NOT NULL AND NOT paylens_known_currency({v})", "'unknown currency ' || {v}"),),
    ),
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
    required: bool = False  # NOT NULL; an object without it (or with null) is quarantined
    stored: bool = True  # False: a helper, read only to feed a `derived` column
    derived: str | None = None  # SQL over helper columns, instead of a path
    # the values Stripe's API reference lists (an object with another is quarantined); empty: any
    enum: tuple[str, ...] = ()
    nonnegative: bool = False  # Stripe documents it as >= 0: a negative value is quarantined


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

    def access(self, column: Column) -> str:
        """SQL for the column's parsed value (JSON for strict kinds) in the struct `o`."""
        return _access(column.path)

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
