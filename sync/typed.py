"""The SQL that reads a declared table's columns out of objects' JSON, and checks them.

`typed_select` turns the declarations of `sync.tables` into one SELECT over a source of raw
objects: a single `json_transform` per object reads every declared path, typed, plus the nested
lists the object carries and `_reason`, the first check it fails (NULL when it passes).
"""

from __future__ import annotations

from sync.columns import Column, Nested, Table
from sync.currencies import KNOWN_CURRENCIES

# Helpers the typed SQL calls, created per connection (`sync.ingest.prepare`). A reference holds
# an id or the expanded object; json_transform writes it minified, so its first character tells.
MACROS = f"""
CREATE OR REPLACE TEMP MACRO paylens_ref(x) AS CASE
    WHEN starts_with(x::VARCHAR, '"') THEN x->>'$'
    WHEN starts_with(x::VARCHAR, '{{') THEN x->>'$.id'
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


def holds_objects(index: int, nested: Nested) -> str:
    """SQL: how many staged rows have objects in their nested list `index`."""
    items = f"_nested_{index}"
    if not nested.is_list:  # a Stripe list holds objects; a plain array may hold ids
        items = f"list_filter({items}, lambda x: {IS_OBJECT.format(v='x')})"
    return f"count(*) FILTER (len({items}) > 0)"


def typed_select(table: Table, source: str, seq: int) -> str:
    """Typed columns, nested lists and the quarantine reason of each object of `source`."""
    columns = [f'{table.expression(c)} AS "{c.name}"' for c in table.read]
    columns += [f"{table.nested_access(n)} AS _nested_{i}" for i, n in enumerate(table.nested)]
    return (
        f"SELECT *, {_reason(table)} AS _reason FROM ("
        f"SELECT {seq}::BIGINT AS seq, raw, deleted, parent, {', '.join(columns)} FROM ("
        f"SELECT raw, deleted, parent, json_transform(raw, '{table.struct()}') AS o "
        f"FROM ({source}) WHERE raw IS NOT NULL))"
    )
