"""The SQL that reads a declared table's columns out of objects' JSON, and checks them.

`typed_select` turns the declarations of `sync.tables` into one SELECT over a source of raw
objects: a single `json_transform` per object reads every declared path (strict kinds as JSON,
`sync.columns`), the nested lists the object carries, and `_reason`, the first check it fails
(NULL when it passes). The checks look at each field's JSON value before any cast, so a value a
cast would change (a numeric id, a fraction, an int64 overflow) is a reason, never a row.
"""

from __future__ import annotations

from sync.columns import KINDS, Column, Nested, Table
from sync.currencies import KNOWN_CURRENCIES

# Helpers the typed SQL calls, created per connection (`sync.ingest.prepare`). A JSON value here
# comes out of json_transform minified, so its first character tells its type: '"' a string,
# '{' an object. A reference holds an id or the expanded object.
LAST_SECOND = 253_402_300_799  # 9999-12-31 23:59:59 UTC, the last second a TIMESTAMP holds
MACROS = f"""
CREATE OR REPLACE TEMP MACRO paylens_string(x) AS CASE
    WHEN starts_with(x::VARCHAR, '"') THEN x->>'$'
END;
CREATE OR REPLACE TEMP MACRO paylens_ref(x) AS CASE
    WHEN starts_with(x::VARCHAR, '"') THEN x->>'$'
    WHEN starts_with(x::VARCHAR, '{{') THEN x->>'$.id'
END;
CREATE OR REPLACE TEMP MACRO paylens_timestamp(x) AS CASE
    WHEN TRY_CAST(x::VARCHAR AS BIGINT) BETWEEN 0 AND {LAST_SECOND}
    THEN make_timestamp(TRY_CAST(x::VARCHAR AS BIGINT) * 1000000)
END;
CREATE OR REPLACE TEMP MACRO paylens_known_currency(c) AS
    c IN ({", ".join(f"'{code}'" for code in sorted(KNOWN_CURRENCIES))});
"""

# Whether a JSON value is an object, without parsing it again: every `raw` here comes out of
# DuckDB's JSON functions (from_json, ->, unnest of a JSON list), which write it minified.
IS_OBJECT = "starts_with({v}::VARCHAR, '{{')"


def _reason(table: Table) -> str:
    """A CASE naming the first check an object fails, NULL when it passes."""
    cases = [f"WHEN NOT {IS_OBJECT.format(v='raw')} THEN 'not a JSON object'"]
    for column in table.read:
        cases.extend(f"WHEN {condition} THEN {reason}" for condition, reason in _checks(column))
    return "CASE " + " ".join(cases) + " END"


def _checks(column: Column) -> list[tuple[str, str]]:
    """The (condition, reason) SQL of one column: its kind's, then the column's own."""
    value, path = f'"{column.name}"', column.path.replace("'", "''")
    fields = {"j": _json_name(column), "v": value, "path": path}
    found = [(c.format(**fields), r.format(**fields)) for c, r in KINDS[column.kind].checks]
    if column.required:
        found.append((f"{value} IS NULL", f"'{path} is missing'"))
    if column.nonnegative:
        found.append((f"{value} < 0", f"'{path} is negative'"))
    if column.enum:
        listed = ", ".join(f"'{option}'" for option in column.enum)
        found.append((f"{value} NOT IN ({listed})", f"'unknown {path} ' || {value}"))
    return found


def _json_name(column: Column) -> str:
    """The staged-away column holding a strict field's JSON value while it is checked."""
    return f'"_json_{column.name}"'


def holds_objects(index: int, nested: Nested) -> str:
    """SQL: how many staged rows have objects in their nested list `index`."""
    items = f"_nested_{index}"
    if not nested.is_list:  # a Stripe list holds objects; a plain array may hold ids
        items = f"list_filter({items}, lambda x: {IS_OBJECT.format(v='x')})"
    return f"count(*) FILTER (len({items}) > 0)"


def typed_select(table: Table, source: str, seq: int) -> str:
    """Typed columns, nested lists and the quarantine reason of each object of `source`.

    The JSON values the checks need are read beside the typed columns and left out of the
    result (`EXCLUDE`): the staging tables hold only what is stored or written."""
    columns = [f'{table.expression(c)} AS "{c.name}"' for c in table.read]
    strict = [c for c in table.read if KINDS[c.kind].reads_json]
    columns += [f"{table.access(c)} AS {_json_name(c)}" for c in strict]
    columns += [f"{table.nested_access(n)} AS _nested_{i}" for i, n in enumerate(table.nested)]
    hidden = f" EXCLUDE ({', '.join(_json_name(c) for c in strict)})" if strict else ""
    return (
        f"SELECT *{hidden}, {_reason(table)} AS _reason FROM ("
        f"SELECT {seq}::BIGINT AS seq, raw, deleted, parent, {', '.join(columns)} FROM ("
        f"SELECT raw, deleted, parent, json_transform(raw, '{table.struct()}') AS o "
        f"FROM ({source}) WHERE raw IS NOT NULL))"
    )
