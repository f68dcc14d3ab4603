"""Pages Python cannot decode: keep the objects it can, quarantine the one it cannot.

The stripe SDK decodes every body with Python's `json`, which gives up on JSON nested deeper than
its recursion limit (metadata nested 50,000 deep is valid JSON all the same). One such object
would fail its whole page, and so the whole resource, run after run. DuckDB's parser has no such
limit, so the page is split into its objects there; each is decoded on its own, and the ones
Python cannot decode leave the page: the rest of it is stored as usual, and each bad object goes
to `quarantine` with the reason "undecodable: ..." (`store_rejected`). The page keeps a stub in
its place (`id`, `object`, `created`) so pagination goes on past it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from sync.limits import endpoint_of

RAW_KEPT = 2_000  # characters of an undecodable object kept in quarantine (it may be huge)
REASON = "undecodable: JSON nested deeper than Python's decoder allows"


@dataclass(frozen=True)
class Rejected:
    """One object left out of its page: the warehouse table it belongs to, its id (a hash of
    its text without one), the reason, and the start of its text."""

    table: str
    object_key: str
    reason: str
    raw: str


@dataclass(frozen=True)
class Salvaged:
    """A list page without its undecodable objects: decoded data (a stub per object left
    out), the body text to ingest, and what was left out."""

    data: dict[str, Any]
    body: str
    rejected: tuple[Rejected, ...]


def too_deep(body: str) -> bool:
    """Whether `body` fails Python's decoder on depth alone (DuckDB parses it); a body cut
    short or otherwise malformed is not (the caller retries that)."""
    try:
        json.loads(body)
    except RecursionError:
        pass
    except ValueError:
        return False
    else:
        return False
    con = duckdb.connect()  # one per call: pages are fetched on many threads
    try:
        row = con.execute("SELECT json_valid(?::VARCHAR)", [body]).fetchone()
    except duckdb.Error:
        return False
    finally:
        con.close()
    return bool(row and row[0])


def salvage(path: str, body: str) -> Salvaged:
    """Split a list page that `too_deep` refused into its objects. A retrieved object that is
    itself too deep is left out whole: its stub says `undecodable` and the body is empty."""
    con = duckdb.connect()
    try:
        shape = con.execute(
            "SELECT json_extract_string(b, '$.object'), json_extract(b, '$.has_more'), "
            "json_extract_string(b, '$.url'), json_extract_string(b, '$.id') "
            "FROM (SELECT ?::VARCHAR AS b)",
            [body],
        ).fetchone()
        assert shape is not None
        if shape[0] != "list":
            key = shape[3] or hashlib.md5(body.encode()).hexdigest()
            left_out = Rejected(table_of(path), key, REASON, body[:RAW_KEPT])
            stub = {"id": shape[3], "object": shape[0], "undecodable": True}
            return Salvaged(stub, "", (left_out,))
        items = con.execute(
            'SELECT unnest(from_json(?::VARCHAR, \'{"data":["JSON"]}\').data)::VARCHAR',
            [body],
        ).fetchall()
        stubs = con.execute(
            "SELECT json_extract_string(j, '$.id'), json_extract_string(j, '$.object'), "
            "TRY_CAST(json_extract(j, '$.created') AS BIGINT) FROM "
            '(SELECT unnest(from_json(?::VARCHAR, \'{"data":["JSON"]}\').data) AS j)',
            [body],
        ).fetchall()
    finally:
        con.close()
    table = table_of(path)
    kept: list[str] = []
    data: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for (text,), (object_id, kind, created) in zip(items, stubs, strict=True):
        try:
            data.append(json.loads(text))
            kept.append(text)
        except RecursionError:
            key = object_id or hashlib.md5(text.encode()).hexdigest()
            rejected.append(Rejected(table, key, REASON, text[:RAW_KEPT]))
            data.append({"id": object_id, "object": kind, "created": created})
    has_more = shape[1] == "true"
    rest = {"object": "list", "has_more": has_more, "url": shape[2]}
    text = json.dumps(rest)
    kept_body = text[:-1] + ', "data": [' + ",".join(kept) + "]}"
    return Salvaged({**rest, "data": data}, kept_body, tuple(rejected))


def table_of(path: str) -> str:
    """The warehouse table a list endpoint's objects go to (`/v1/invoices/{id}/lines`:
    invoice_lines)."""
    endpoint = endpoint_of(path)
    if endpoint == "/v1/invoices/{id}/lines":
        return "invoice_lines"
    parts = endpoint.split("/")
    return parts[2] if len(parts) > 2 else endpoint


def store_rejected(con: duckdb.DuckDBPyConnection, rejected: list[Rejected], now: datetime) -> None:
    """Quarantine each undecodable object (again: its `last_seen` moves), inside the caller's
    transaction."""
    if not rejected:
        return
    seen = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    con.execute(
        "INSERT INTO quarantine BY NAME SELECT unnest(?::VARCHAR[]) AS table_name, "
        "unnest(?::VARCHAR[]) AS object_key, unnest(?::VARCHAR[]) AS reason, "
        "unnest(?::VARCHAR[]) AS raw, ?::TIMESTAMP AS first_seen, ?::TIMESTAMP AS last_seen "
        "ON CONFLICT DO UPDATE SET reason = excluded.reason, raw = excluded.raw, "
        "last_seen = excluded.last_seen",
        [
            [r.table for r in rejected],
            [r.object_key for r in rejected],
            [r.reason for r in rejected],
            [r.raw for r in rejected],
            seen,
            seen,
        ],
    ).fetchall()
